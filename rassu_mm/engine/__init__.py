from .cpu_ddp import CPUDistributedDataParallel
from .hooks import RNGStateHook, get_rng_states, set_rng_states

__all__ = [
    'CPUDistributedDataParallel', 'RNGStateHook', 'get_rng_states',
    'set_rng_states'
]
