from .checkpoint import (UnsafeCheckpointError, install_safe_checkpoint_loading,
                         mmengine_checkpoint_types, safe_torch_load)
from .dist import setup_cpu_distributed, teardown_distributed
from .paths import (RootChecker, UnsafePathError, is_safe_component,
                    is_within, safe_join)
from .resume import find_resumable_checkpoint, is_intact_checkpoint

__all__ = [
    'UnsafeCheckpointError', 'install_safe_checkpoint_loading',
    'mmengine_checkpoint_types', 'safe_torch_load', 'setup_cpu_distributed',
    'teardown_distributed',
    'find_resumable_checkpoint', 'is_intact_checkpoint', 'UnsafePathError',
    'is_safe_component', 'is_within', 'safe_join', 'RootChecker'
]
