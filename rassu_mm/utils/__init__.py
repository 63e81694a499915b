from .checkpoint import (UnsafeCheckpointError, install_safe_checkpoint_loading,
                         mmengine_checkpoint_types, safe_torch_load)
from .dist import setup_cpu_distributed, teardown_distributed
from .resume import find_resumable_checkpoint, is_intact_checkpoint

__all__ = [
    'UnsafeCheckpointError', 'install_safe_checkpoint_loading',
    'mmengine_checkpoint_types', 'safe_torch_load', 'setup_cpu_distributed',
    'teardown_distributed',
    'find_resumable_checkpoint', 'is_intact_checkpoint'
]
