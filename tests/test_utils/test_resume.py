"""``--resume`` after a crash: the training state comes back exactly, and a
checkpoint truncated by the crash is skipped for the newest intact one.

The runs train the toy regressor of ``tests/fixtures/toy_config.py``
(``rassu_mm.testing.toy_components``) through ``tools/train.py``; both
resume tests start from copies of one run killed after iteration 5.
"""
import os
import shutil
import subprocess
import sys

import pytest
import torch

from rassu_mm.testing import REPO_ROOT, repo_path
from rassu_mm.utils import is_intact_checkpoint


def test_intact_checkpoint_detection(tmp_path):
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


def _train(work_dir, custom_hook, *extra, check=True):
    """Run tools/train.py on the toy config plus one custom hook."""
    config = work_dir.parent / f'{custom_hook["type"]}.py'
    config.write_text(
        f"_base_ = ['{repo_path('tests/fixtures/toy_config.py')}']\n"
        f'custom_hooks = [{custom_hook!r}]\n')
    proc = subprocess.run([
        sys.executable,
        repo_path('tools/train.py'),
        str(config), '--work-dir',
        str(work_dir), *extra
    ],
                          cwd=REPO_ROOT,
                          env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                          capture_output=True,
                          text=True)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _train_and_kill_at_iter_5(work_dir):
    """Train until a SIGKILL after iteration 5; iter_4 is the last
    checkpoint (saved every 2 iterations)."""
    proc = _train(
        work_dir, dict(type='KillAtIterHook', kill_iter=5), check=False)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (work_dir / 'iter_4.pth').exists()
    assert not (work_dir / 'iter_6.pth').exists()


@pytest.fixture(scope='module')
def killed_run(tmp_path_factory):
    """The work dir of one run killed after iteration 5 (read only: each
    test resumes a copy, see :func:`copy_run`)."""
    work_dir = tmp_path_factory.mktemp('killed') / 'work'
    _train_and_kill_at_iter_5(work_dir)
    return work_dir


def copy_run(src, dst):
    """Copy the work dir ``src`` to ``dst`` as if the run had written it
    there: ``last_checkpoint`` (an absolute path) names the copy's file."""
    shutil.copytree(src, dst)
    last = (src / 'last_checkpoint').read_text()
    (dst / 'last_checkpoint').write_text(str(dst / os.path.basename(last)))


@pytest.mark.slow
def test_train_kill_and_resume(tmp_path, killed_run):
    work_dir = tmp_path / 'work'
    dump = str(tmp_path / 'start.pth')
    copy_run(killed_run, work_dir)

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


@pytest.mark.slow
def test_resume_skips_truncated_last_checkpoint(tmp_path, killed_run):
    work_dir = tmp_path / 'work'
    dump = str(tmp_path / 'start.pth')
    copy_run(killed_run, work_dir)
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'iter_4.pth')
    last = work_dir / 'iter_4.pth'
    last.write_bytes(last.read_bytes()[:1000])  # crash while saving
    proc = _train(work_dir, dict(type='DumpTrainStartHook', out_file=dump),
                  '--resume')
    assert 'iter_4.pth is truncated or corrupt' in proc.stdout + proc.stderr
    assert torch.load(dump, weights_only=False)['iter'] == 2
    assert torch.load(
        work_dir / 'iter_8.pth', weights_only=False)['meta']['iter'] == 8
