"""Activation checkpointing of a module's layers, keeping their weights'
names."""
from types import MethodType
from typing import Iterable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


def checkpoint_layers(layers: Iterable[nn.Module]) -> None:
    """Make every module of ``layers`` recompute its activations in the
    backward pass instead of keeping them.

    The module's ``forward`` is wrapped on the instance (as fairscale's
    ``checkpoint_wrapper``, which mmdet's ``num_cp`` uses), so the names
    of its weights, and hence checkpoints, do not change. The wrapped
    call runs :func:`torch.utils.checkpoint.checkpoint` with
    ``use_reentrant=False`` (keyword and non-tensor arguments allowed; the
    random state is replayed, so dropout and drop path draw the same
    masks) only when a gradient is being recorded for one of its tensor
    inputs or parameters; otherwise (inference, ``torch.no_grad``, a frozen
    layer on inputs without gradient) it is the plain ``forward``.
    Outputs and gradients are those of the plain module.

    Args:
        layers (Iterable[nn.Module]): The modules, e.g. the blocks of a
            backbone stage or the layers of a transformer encoder.
    """
    for layer in layers:
        layer.forward = MethodType(_checkpointed_forward, layer)


def _checkpointed_forward(self: nn.Module, *args, **kwargs):
    """``type(self).forward`` under :func:`checkpoint` when it records a
    gradient."""
    forward = type(self).forward
    if _records_grad(self, args, kwargs):
        return checkpoint(forward, self, *args, use_reentrant=False,
                          **kwargs)
    return forward(self, *args, **kwargs)


def _records_grad(module: nn.Module, args: tuple, kwargs: dict) -> bool:
    """Whether autograd would record the call: grad mode on and a tensor
    input or a parameter that requires a gradient."""
    if not torch.is_grad_enabled():
        return False
    inputs = list(args) + list(kwargs.values())
    return any(
        isinstance(t, torch.Tensor) and t.requires_grad
        for t in inputs) or any(p.requires_grad for p in module.parameters())
