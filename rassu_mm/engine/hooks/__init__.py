from .checkpoint_schedule import checkpoint_due
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .rng_state_hook import RNGStateHook, get_rng_states, set_rng_states

__all__ = [
    'NonFiniteLossError', 'NonFiniteLossHook', 'RNGStateHook',
    'checkpoint_due', 'get_rng_states', 'set_rng_states'
]
