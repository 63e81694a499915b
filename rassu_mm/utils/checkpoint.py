"""Weights-only checkpoint loading for MMEngine under torch >= 2.6.

MMEngine 0.10 calls ``torch.load`` without ``weights_only``. Since torch 2.6
that means ``weights_only=True``, which refuses MMEngine's own objects in
training checkpoints (the message hub's ``HistoryBuffer`` and the numpy
arrays and scalars it holds), so ``--resume`` and ``load_from`` break. The
fix here never falls back to unrestricted unpickling: it allow-lists exactly
the types MMEngine writes into its checkpoints and loads every checkpoint
with ``weights_only=True``. A checkpoint that pickles anything else is
refused with :class:`UnsafeCheckpointError`, naming the file and the types.

:func:`install_safe_checkpoint_loading` (called when ``rassu_mm`` is
imported) registers the safe loaders for local paths and ``http(s)://`` in
:class:`mmengine.runner.CheckpointLoader`, the hook MMEngine provides for
custom loaders. ``Runner.resume``, ``load_from``, ``load_checkpoint`` and
``tools/test.py CHECKPOINT`` all go through it.
"""
import os.path as osp
import pickle
from typing import Any, List, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import (CheckpointLoader,
                                        _load_checkpoint_to_model)
from torch import nn

#: ``meta`` entry of a published checkpoint (``tools/misc/publish_model.py
#: --strip-frozen``) listing the state-dict keys it leaves to
#: ``init_weights``
KEYS_FROM_INIT_WEIGHTS = 'keys_from_init_weights'


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allow-list."""


def _numpy_checkpoint_types() -> List[Any]:
    """Numpy callables/types pickled by ``HistoryBuffer`` (arrays, scalars).

    ``np.ndarray.__reduce__`` pickles ``multiarray._reconstruct``, the array
    class and its ``dtype`` (whose class is one of ``np.dtypes.*DType``);
    numpy scalars pickle ``multiarray.scalar``. Only numeric dtypes are
    allowed: object arrays would bring arbitrary pickles back.
    """
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    numeric = [
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64
    ]
    dtype_classes = [type(np.dtype(t)) for t in numeric]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
            ] + dtype_classes


_HISTORY_BUFFER_STATISTICS = {'min', 'max', 'current', 'mean'}


def history_buffer_getattr(owner: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` while unpickling checkpoints.

    A pickled ``HistoryBuffer`` refers to its statistics methods (``min``,
    ``max``, ``current``, ``mean`` and any registered ones) as
    ``getattr(HistoryBuffer, name)`` because torch saves with pickle
    protocol 2. Allowing ``getattr`` itself would hand a checkpoint any
    attribute of any allowed object (e.g. ``numpy.ndarray.tofile``), so
    only those methods are resolved; everything else is refused.
    """
    allowed = _HISTORY_BUFFER_STATISTICS | set(
        HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'builtins.getattr({getattr(owner, "__name__", owner)!r}, {name!r})'
        ' is not allowed in a checkpoint')


def mmengine_checkpoint_types() -> List[Any]:
    """The exact non-tensor types MMEngine writes into its checkpoints:
    ``HistoryBuffer`` (with its statistics methods), numeric numpy arrays
    and scalars."""
    return [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr')
            ] + _numpy_checkpoint_types()


def _unsafe_globals(source: Any) -> List[str]:
    """Names of the pickled globals in ``source`` that are not allowed."""
    if not isinstance(source, str):
        return []
    try:
        return torch.serialization.get_unsafe_globals_in_checkpoint(source)
    except Exception:  # not a zip checkpoint; the torch message is used
        return []


def _unpickler_reason(err: Exception) -> str:
    """The line of torch's weights-only error that names the refused item."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith('WeightsUnpickler error:'):
            rest = line[len('WeightsUnpickler error:'):].strip()
            return rest or (lines[i + 1] if i + 1 < len(lines) else line)
    return lines[0] if lines else repr(err)


def safe_torch_load(source: Any,
                    map_location: Optional[Any] = None,
                    name: Optional[str] = None) -> Any:
    """``torch.load(source, weights_only=True)`` with MMEngine's types.

    Args:
        source (str | file-like): checkpoint path or buffer.
        map_location: same as :func:`torch.load`.
        name (str, optional): how to name the checkpoint in errors; defaults
            to ``source`` when it is a path.

    Raises:
        UnsafeCheckpointError: the checkpoint pickles a type outside
            :func:`mmengine_checkpoint_types` (nothing of it is executed).
    """
    name = name or (source if isinstance(source, str) else '<buffer>')
    try:
        return torch.load(
            source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        offending = _unsafe_globals(source) or [_unpickler_reason(err)]
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {name}: it contains pickled '
            f'objects of type(s) {", ".join(offending)}, which are not '
            'tensors or the MMEngine types allowed in checkpoints. Loading '
            'them could run arbitrary code. Re-save the checkpoint with '
            'only tensors/containers, or load it yourself if you trust '
            'it.') from None


def load_local_checkpoint(filename: str, map_location=None) -> Any:
    """Safe replacement of ``mmengine.runner.checkpoint.load_from_local``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location=map_location)


def load_http_checkpoint(filename: str,
                         map_location=None,
                         model_dir: Optional[str] = None) -> Any:
    """Safe replacement of ``load_from_http``: download (rank 0 first) into
    the torch hub cache, then load it weights-only."""
    from torch.hub import download_url_to_file, get_dir
    rank, world_size = get_dist_info()
    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    cached = osp.join(model_dir, osp.basename(filename.split('?')[0]))

    def _download():
        if not osp.exists(cached):
            import os
            os.makedirs(model_dir, exist_ok=True)
            download_url_to_file(filename, cached, progress=False)

    if rank == 0:
        _download()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            _download()
    return safe_torch_load(cached, map_location=map_location, name=filename)


def keys_from_init_weights(checkpoint: dict) -> List[str]:
    """State-dict keys that ``checkpoint`` leaves to ``init_weights`` (the
    frozen pretrained weights a published file was stripped of; none for a
    runner's checkpoint)."""
    return list(checkpoint.get('meta', {}).get(KEYS_FROM_INIT_WEIGHTS, []))


def load_model_weights(model: nn.Module, checkpoint: dict,
                       name: str) -> None:
    """Load a runner's or a published checkpoint into ``model``.

    A checkpoint that leaves keys to ``init_weights`` (see
    :func:`keys_from_init_weights`) is loaded after ``model.init_weights()``
    has read the pretrained files, and every other key of the model must
    come from it; any other checkpoint is loaded as MMEngine's
    ``load_checkpoint`` does (missing and unexpected keys are logged).

    Raises:
        KeyError: a published checkpoint does not match the model, naming
            ``name`` and the keys.
    """
    expected = set(keys_from_init_weights(checkpoint))
    if not expected:
        _load_checkpoint_to_model(model, checkpoint)
        return
    state = checkpoint['state_dict']
    missing = set(model.state_dict()) - set(state)
    unexpected = set(state) - set(model.state_dict())
    if missing != expected or unexpected:
        raise KeyError(
            f'{name} does not match the model: missing keys '
            f'{sorted(missing - expected)}, unexpected keys '
            f'{sorted(unexpected)}, keys it leaves to init_weights but the '
            f'model lacks {sorted(expected - missing)}')
    model.init_weights()
    model.load_state_dict(state, strict=False)


def install_safe_checkpoint_loading() -> None:
    """Allow-list MMEngine's checkpoint types and register the safe loaders
    for local and ``http(s)://`` checkpoints (idempotent)."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_types())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'),
        loader=load_http_checkpoint,
        force=True)
