from .checkpoint import (KEYS_FROM_INIT_WEIGHTS, UnsafeCheckpointError,
                         install_safe_checkpoint_loading,
                         keys_from_init_weights, load_model_weights,
                         mmengine_checkpoint_types, safe_torch_load)
from .dist import setup_cpu_distributed, teardown_distributed
from .paths import (RootChecker, UnsafePathError, is_safe_component,
                    is_within, safe_join)
from .resume import find_resumable_checkpoint, is_intact_checkpoint

__all__ = [
    'KEYS_FROM_INIT_WEIGHTS', 'keys_from_init_weights', 'load_model_weights',
    'UnsafeCheckpointError', 'install_safe_checkpoint_loading',
    'mmengine_checkpoint_types', 'safe_torch_load', 'setup_cpu_distributed',
    'teardown_distributed',
    'find_resumable_checkpoint', 'is_intact_checkpoint', 'UnsafePathError',
    'is_safe_component', 'is_within', 'safe_join', 'RootChecker'
]
