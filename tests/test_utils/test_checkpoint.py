"""Weights-only checkpoint loading: what MMEngine saves loads, crafted
pickles are refused before anything runs."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import rassu_mm
from rassu_mm.testing import repo_path
from rassu_mm.utils import UnsafeCheckpointError, safe_torch_load
from rassu_mm.utils.checkpoint import (load_http_checkpoint,
                                       load_local_checkpoint)


def test_local_and_http_loaders_are_safe():
    assert CheckpointLoader._get_checkpoint_loader('a.pth') is \
        load_local_checkpoint
    assert CheckpointLoader._get_checkpoint_loader('https://x/a.pth') is \
        load_http_checkpoint
    # installing twice is harmless
    rassu_mm.install_safe_checkpoint_loading()
    assert CheckpointLoader._get_checkpoint_loader('a.pth') is \
        load_local_checkpoint


def test_mmengine_objects_load_weights_only(tmp_path):
    buf = HistoryBuffer()
    buf.update(np.float64(0.5))
    buf.update(3)
    ckpt = dict(
        meta=dict(iter=3, seed=1, hook_msgs=dict(last_ckpt='x')),
        state_dict=dict(w=torch.ones(2)),
        message_hub=dict(
            log_scalars=dict(loss=buf),
            runtime_info=dict(iter=np.int64(3), arr=np.arange(3.0))))
    path = str(tmp_path / 'ok.pth')
    torch.save(ckpt, path)
    loaded = _load_checkpoint(path, map_location='cpu')
    hist = loaded['message_hub']['log_scalars']['loss']
    assert isinstance(hist, HistoryBuffer)
    assert hist.mean() == pytest.approx(1.75)
    np.testing.assert_array_equal(
        loaded['message_hub']['runtime_info']['arr'], np.arange(3.0))
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


class _RunsCode:
    """Unpickling this calls ``os.system`` (a classic pickle exploit)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_crafted_checkpoint_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(1)),
                    meta=dict(payload=_RunsCode(marker))), path)
    # the unrestricted pickle WOULD run it: prove the payload is real
    with open(tmp_path / 'plain.pkl', 'wb') as f:
        pickle.dump(_RunsCode(tmp_path / 'control'), f)
    with open(tmp_path / 'plain.pkl', 'rb') as f:
        pickle.load(f)
    assert (tmp_path / 'control').exists()

    with pytest.raises(UnsafeCheckpointError) as err:
        _load_checkpoint(path, map_location='cpu')
    assert path in str(err.value)
    assert 'system' in str(err.value)  # names the offending global
    assert not marker.exists()

    with pytest.raises(UnsafeCheckpointError):
        safe_torch_load(path)
    assert not marker.exists()


def test_object_arrays_are_refused(tmp_path):
    path = str(tmp_path / 'obj.pth')
    torch.save(dict(a=np.array([{'x': 1}], dtype=object)), path)
    with pytest.raises(UnsafeCheckpointError, match='obj.pth'):
        _load_checkpoint(path, map_location='cpu')


def test_getattr_in_checkpoint_is_restricted(tmp_path):
    """Only HistoryBuffer's statistics methods resolve through getattr."""

    class _GetattrPayload:

        def __reduce__(self):
            return (getattr, (np.ndarray, 'tofile'))

    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(meta=dict(x=_GetattrPayload())), path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        _load_checkpoint(path, map_location='cpu')


def test_docs_put_mmengine_loaders_back():
    """The snippet of docs/training.md ('Checkpoints') restores MMEngine's
    loaders that ``import rassu_mm`` replaced."""
    from mmengine.runner.checkpoint import load_from_http, load_from_local
    with open(repo_path('docs', 'training.md')) as f:
        section = f.read().split('## Checkpoints', 1)[1]
    snippet = section.split('```python\n', 1)[1].split('```', 1)[0]
    try:
        exec(snippet, {})
        assert CheckpointLoader._get_checkpoint_loader('a.pth') is \
            load_from_local
        assert CheckpointLoader._get_checkpoint_loader('https://x/a.pth') \
            is load_from_http
    finally:
        rassu_mm.install_safe_checkpoint_loading()
    assert CheckpointLoader._get_checkpoint_loader('a.pth') is \
        load_local_checkpoint
