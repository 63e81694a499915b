"""Registration, runtime config, weights-only checkpoints, runner resume."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import rassu_mm
from rassu_mm.utils import UnsafeCheckpointError, safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_default_runtime_config():
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/default_runtime.py'))
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(
        imports=['rassu_mm'], allow_failed_imports=False)


def test_local_and_http_loaders_are_safe():
    from rassu_mm.utils.checkpoint import (load_http_checkpoint,
                                           load_local_checkpoint)
    assert CheckpointLoader._get_checkpoint_loader('a.pth') is \
        load_local_checkpoint
    assert CheckpointLoader._get_checkpoint_loader('https://x/a.pth') is \
        load_http_checkpoint
    # installing twice is harmless
    rassu_mm.install_safe_checkpoint_loading()


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


def _train(work_dir, custom_hook, *extra, check=True):
    """Run tools/train.py on the toy config plus one custom hook."""
    config = work_dir.parent / f'{custom_hook["type"]}.py'
    config.write_text(
        f"_base_ = ['{REPO}/tests/fixtures/toy_config.py']\n"
        f'custom_hooks = [{custom_hook!r}]\n')
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools/train.py'),
        str(config), '--work-dir',
        str(work_dir), *extra
    ]
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_train_kill_and_resume(tmp_path):
    work_dir = tmp_path / 'work'
    dump = str(tmp_path / 'start.pth')
    # iteration 5 is killed with SIGKILL; the last checkpoint is iter_4
    proc = _train(
        work_dir, dict(type='KillAtIterHook', kill_iter=5), check=False)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (work_dir / 'iter_4.pth').exists()
    assert not (work_dir / 'iter_6.pth').exists()

    _train(work_dir, dict(type='DumpTrainStartHook', out_file=dump),
           '--resume')
    saved = torch.load(work_dir / 'iter_4.pth', weights_only=False)
    start = torch.load(dump, weights_only=False)
    assert start['iter'] == 4
    assert torch.equal(start['weight'], saved['state_dict']['linear.weight'])
    saved_state = saved['optimizer']['state']
    start_state = start['optimizer']['state']
    assert saved_state.keys() == start_state.keys() and saved_state
    for key in saved_state:
        for name in ('exp_avg', 'exp_avg_sq'):
            assert torch.equal(saved_state[key][name],
                               start_state[key][name])
    assert (work_dir / 'iter_8.pth').exists()
    final = torch.load(work_dir / 'iter_8.pth', weights_only=False)
    assert final['meta']['iter'] == 8


def test_getattr_in_checkpoint_is_restricted(tmp_path):
    """Only HistoryBuffer's statistics methods resolve through getattr."""

    class _GetattrPayload:

        def __reduce__(self):
            return (getattr, (np.ndarray, 'tofile'))

    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(meta=dict(x=_GetattrPayload())), path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        _load_checkpoint(path, map_location='cpu')


@pytest.mark.slow
def test_dist_train_on_cpu_uses_gloo(tmp_path):
    """tools/dist_train.sh with 2 CPU processes trains and checkpoints."""
    work_dir = tmp_path / 'work'
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PYTHONPATH=REPO,
        PORT='29631')
    proc = subprocess.run([
        'bash',
        osp.join(REPO, 'tools/dist_train.sh'),
        osp.join(REPO, 'tests/fixtures/toy_config.py'), '2', '--work-dir',
        str(work_dir)
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'rank 0 of 2 uses the gloo backend' in out
    ckpt = torch.load(work_dir / 'iter_8.pth', weights_only=False)
    assert ckpt['meta']['iter'] == 8


def test_intact_checkpoint_detection(tmp_path):
    from rassu_mm.utils import is_intact_checkpoint
    path = tmp_path / 'iter_2.pth'
    torch.save(dict(state_dict=dict(w=torch.randn(1000))), path)
    assert is_intact_checkpoint(str(path))
    data = path.read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    assert not is_intact_checkpoint(str(tmp_path / 'cut.pth'))
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside the tensor payload
    (tmp_path / 'flip.pth').write_bytes(bytes(flipped))
    assert not is_intact_checkpoint(str(tmp_path / 'flip.pth'))


@pytest.mark.slow
def test_resume_skips_truncated_last_checkpoint(tmp_path):
    work_dir = tmp_path / 'work'
    dump = str(tmp_path / 'start.pth')
    proc = _train(
        work_dir, dict(type='KillAtIterHook', kill_iter=5), check=False)
    assert proc.returncode == -9
    last = work_dir / 'iter_4.pth'
    last.write_bytes(last.read_bytes()[:1000])  # crash while saving
    proc = _train(work_dir, dict(type='DumpTrainStartHook', out_file=dump),
                  '--resume')
    assert 'iter_4.pth is truncated or corrupt' in proc.stdout + proc.stderr
    assert torch.load(dump, weights_only=False)['iter'] == 2
    assert torch.load(
        work_dir / 'iter_8.pth', weights_only=False)['meta']['iter'] == 8
