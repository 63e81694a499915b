from .autocast_optim_wrapper import AutocastOptimWrapper
from .cpu_ddp import CPUDistributedDataParallel
from .hooks import (NonFiniteLossError, NonFiniteLossHook, RNGStateHook,
                    get_rng_states, set_rng_states)

__all__ = [
    'AutocastOptimWrapper', 'CPUDistributedDataParallel', 'NonFiniteLossError', 'NonFiniteLossHook',
    'RNGStateHook', 'get_rng_states', 'set_rng_states'
]
