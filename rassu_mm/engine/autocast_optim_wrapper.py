"""An optimizer wrapper that runs the training step under autocast on any
device, without loss scaling: bfloat16 mixed precision, also on CPU."""
from contextlib import contextmanager
from typing import Iterator, Union

import torch
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast
from torch import nn

from mmseg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass (``optim_context``) runs under
    ``torch.autocast`` to ``dtype`` on the model's device type (CUDA when
    available, else CPU).

    MMEngine's ``AmpOptimWrapper`` also takes ``dtype='bfloat16'``, but
    asserts a GPU (or NPU, MLU, MUSA) and always scales the loss, which
    bfloat16 does not need: it has float32's exponent range. Float16 does
    need the scaling: use ``AmpOptimWrapper`` for it. Parameters,
    gradients and optimizer states stay float32.

    Args:
        dtype (str | torch.dtype): The autocast type. Defaults to
            ``'bfloat16'``.
        **kwargs: The arguments of ``OptimWrapper``.
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype,
                                                              str) else dtype

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """MMEngine's context (gradient accumulation) under autocast."""
        with super().optim_context(model), autocast(dtype=self.cast_dtype):
            yield
