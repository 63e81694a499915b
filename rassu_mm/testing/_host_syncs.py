"""Count the calls that make the host wait for a GPU, on any machine."""
import collections
import os.path as osp
import traceback
import weakref
from typing import Counter, List, NamedTuple, Optional

import torch
import torch.utils._pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from ._paths import REPO_ROOT

#: ATen ops whose result the host must read back on a GPU.
SYNC_OPS = frozenset({
    'aten::_local_scalar_dense',  # .item(), bool(), int(), float()
    'aten::nonzero',  # also torch.where(cond), .nonzero()
    'aten::masked_select',
    'aten::_unique',
    'aten::_unique2',
    'aten::unique_dim',
    'aten::unique_consecutive',
    'aten::unique_dim_consecutive',
    'aten::bincount',
    'aten::equal',
})
#: Ops that sync when an index is a boolean mask (nonzero inside).
INDEX_OPS = frozenset(
    {'aten::index', 'aten::index_put', 'aten::index_put_',
     'aten::_index_put_impl_'})
_TORCH = osp.dirname(torch.__file__) + osp.sep
#: torch's optimizers keep their step counters on the host (unless
#: ``capturable`` or ``fused``): reading them does not sync.
HOST_SIDE = (osp.join(_TORCH, 'optim') + osp.sep, )


class HostSync(NamedTuple):
    """One recorded call: what it is and the innermost caller outside
    torch (``path:line code``)."""
    op: str
    site: str


class HostSyncRecorder(TorchDispatchMode):
    """Record the calls that block the host on a GPU (host syncs), with
    their call sites, on any device: on a CPU they cost nothing, but the
    same calls are made, so the count is that of a GPU run.

    Counted: the ATen ops of :data:`SYNC_OPS` (``.item()``, ``bool(t)``,
    ``nonzero``, ``unique``, ...), indexing and index assignment with a
    boolean mask (:data:`INDEX_OPS`), ``repeat_interleave`` without
    ``output_size``, and the host reads ``Tensor.cpu()``,
    ``Tensor.numpy()`` and ``Tensor.tolist()`` (patched while recording).
    A tensor a ``.cpu()`` returned, and what is computed from such tensors
    only, is on the host: reading it is not counted. Forward and backward
    passes are both seen.

    Not counted, because on a CPU they cannot be told from no-op calls:
    ``Tensor.to(device)`` copies, whether to the host (``.to('cpu')``,
    which the code base does not use for reads) or to the device (a
    host-to-device copy blocks on CUDA unless ``non_blocking`` from pinned
    memory). Not counted either: reads of torch's optimizer step counters
    (:data:`HOST_SIDE`). A host tensor read with ``.tolist()`` or
    ``.numpy()`` counts as a sync (an upper bound).

    Example::

        with HostSyncRecorder() as syncs:
            model.train_step(data, optim_wrapper)
        print(len(syncs.events), syncs.counts().most_common(5))
    """

    def __init__(self) -> None:
        super().__init__()
        self.events: List[HostSync] = []
        self._host = weakref.WeakValueDictionary()  # id -> host tensor
        self._patched = {}

    def __enter__(self) -> 'HostSyncRecorder':
        for name in ('cpu', 'numpy', 'tolist'):
            self._patched[name] = getattr(torch.Tensor, name)
            setattr(torch.Tensor, name, self._reader(name))
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        for name, method in self._patched.items():
            setattr(torch.Tensor, name, method)
        self._patched = {}
        return super().__exit__(*exc)

    def counts(self) -> Counter:
        """Number of calls per ``(op, site)``."""
        return collections.Counter(self.events)

    def _record(self, op: str) -> None:
        site = _call_site()
        if site is not None:
            self.events.append(HostSync(op, site))

    def _reader(self, name: str):
        method = self._patched[name]

        def read(tensor, *args, **kwargs):
            if self._host.get(id(tensor)) is not tensor:
                self._record(f'Tensor.{name}')
            out = method(tensor, *args, **kwargs)
            if name == 'cpu':
                # on a CPU .cpu() returns the tensor itself, which stays a
                # device tensor on a GPU: mark a new alias of it instead
                out = out.view_as(out) if out is tensor else out
                self._host[id(out)] = out
            return out

        return read

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        inputs = [
            t for t in pytree.tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor)
        ]
        # what is computed from host copies only stays on the host
        on_host = bool(inputs) and all(
            self._host.get(id(t)) is t for t in inputs)
        name = func._schema.name
        if on_host:
            pass
        elif name in SYNC_OPS:
            self._record(name)
        elif name in INDEX_OPS and any(
                isinstance(i, torch.Tensor) and i.dtype in (torch.bool,
                                                            torch.uint8)
                for i in args[1] if i is not None):
            self._record(f'{name}[bool]')
        elif name == 'aten::repeat_interleave' and isinstance(
                args[0], torch.Tensor) and kwargs.get('output_size') is None:
            self._record(name)
        out = func(*args, **kwargs)
        if on_host:
            for t in pytree.tree_leaves(out):
                if isinstance(t, torch.Tensor):
                    self._host[id(t)] = t
        return out


def _call_site() -> Optional[str]:
    """``path:line code`` of the innermost caller outside torch and this
    module (path relative to the repository or to site-packages); None
    for a call from :data:`HOST_SIDE` code."""
    for frame in reversed(traceback.extract_stack()):
        if frame.filename == __file__:
            continue
        if frame.filename.startswith(HOST_SIDE):
            return None
        if not frame.filename.startswith(_TORCH):
            path = frame.filename
            if path.startswith(REPO_ROOT + osp.sep):
                path = osp.relpath(path, REPO_ROOT)
            path = path.rpartition('site-packages' + osp.sep)[2]
            return f'{path}:{frame.lineno} {frame.line}'
    return '?'
