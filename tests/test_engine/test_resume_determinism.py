"""Crash and resume: a SIGKILLed demo run resumed with ``--resume`` ends
with the same weights and test metrics as an uninterrupted run.

Trains ``configs/ssuformer_demo_seg.py`` (shortened: 8 iterations of 2
clips, checkpoints every 2, validation every 4) through ``tools/train.py``
under ``randomness=dict(seed=0, deterministic=True)``. The uninterrupted run
validates right after saving the checkpoint the other one resumes from, so
this also checks that validation does not shift the training random stream
(``RNGStateHook(isolate_val_rng=True)``). Slow: 30 s to 2 min per case on 2
CPU cores, depending on the load.
"""
import json
import os
import os.path as osp
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.engine import RNGStateHook, get_rng_states, set_rng_states
from rassu_mm.testing import REPO_ROOT, demo_runner_cfg, repo_path
from rassu_mm.utils import safe_torch_load

MAX_ITERS = 8
INTERVAL = 2  # checkpoints
VAL_INTERVAL = 4


def write_config(path, data_root, num_workers, kill_iter=None):
    """The demo segmentation config on ``data_root``, shortened, dumped to
    ``path`` (plus a hook that SIGKILLs the run after ``kill_iter``)."""
    cfg = demo_runner_cfg(data_root, num_workers=num_workers)
    cfg.randomness.deterministic = True
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.train_cfg.val_interval = VAL_INTERVAL
    cfg.param_scheduler[0].end = 2
    cfg.param_scheduler[-1].begin = 2
    cfg.param_scheduler[-1].end = MAX_ITERS
    cfg.default_hooks.checkpoint.interval = INTERVAL
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.default_hooks.logger.interval = 2
    cfg.train_dataloader.batch_size = 2
    # "validation" evaluates the test split: the last one gives the test
    # metrics of the final weights
    cfg.val_dataloader.dataset.ann_file = 'annotations/test.json'
    assert [h.type for h in cfg.custom_hooks] == [
        'RNGStateHook', 'NonFiniteLossHook'
    ]
    if kill_iter is not None:
        cfg.custom_imports.imports.append('rassu_mm.testing.toy_components')
        cfg.custom_hooks.append(dict(type='KillAtIterHook',
                                     kill_iter=kill_iter))
    cfg.dump(str(path))
    return str(path)


def start_train(config, work_dir, *extra):
    """Start ``tools/train.py`` in the background."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    return subprocess.Popen([
        sys.executable,
        repo_path('tools/train.py'), config, '--work-dir', work_dir,
        *extra
    ],
                            cwd=REPO_ROOT,
                            env=env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True)


def finish(proc, returncode=0):
    """Wait for ``proc``; check its exit status; return its output."""
    out, _ = proc.communicate()
    assert proc.returncode == returncode, out[-5000:]
    return out


def last_val_metrics(work_dir):
    """The metrics of the last validation of the newest run in
    ``work_dir`` (``<timestamp>/vis_data/scalars.json``)."""
    stamp = max(d for d in os.listdir(work_dir)
                if osp.isdir(osp.join(work_dir, d)))
    with open(osp.join(work_dir, stamp, 'vis_data', 'scalars.json')) as f:
        records = [json.loads(line) for line in f if 'mIoU' in line]
    return {
        k: v
        for k, v in records[-1].items() if k not in ('time', 'data_time')
    }


def assert_same_weights(path_a, path_b):
    a = safe_torch_load(path_a, map_location='cpu')['state_dict']
    b = safe_torch_load(path_b, map_location='cpu')['state_dict']
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} tensors differ, e.g. {differ[:5]}'


def test_rng_states_roundtrip_weights_only(tmp_path):
    """States survive torch.save + a weights-only load and restore every
    generator exactly."""
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian
    random.gauss(0, 1)
    states = get_rng_states()
    expected = (random.random(), np.random.randn(3), torch.rand(3))
    path = str(tmp_path / 'rng.pth')
    torch.save(dict(rng_states=[states]), path)
    loaded = torch.load(path, weights_only=True)['rng_states'][0]
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    set_rng_states(loaded)
    assert random.random() == expected[0]
    np.testing.assert_array_equal(np.random.randn(3), expected[1])
    assert torch.equal(torch.rand(3), expected[2])


def test_load_from_does_not_restore(tmp_path):
    """Only resuming restores the states; ``load_from`` starts a new run."""

    class _Runner:
        _resume = False

    hook = RNGStateHook()
    hook.after_load_checkpoint(_Runner(),
                               dict(rng_states=[get_rng_states()]))
    assert hook._resume_states is None
    _Runner._resume = True
    hook.after_load_checkpoint(_Runner(),
                               dict(rng_states=[get_rng_states()]))
    assert hook._resume_states is not None


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('resume') / 'demo')
    make_synthetic_dataset(root, num_clips=(16, 5, 5), progress=False)
    return root


@pytest.mark.slow
@pytest.mark.parametrize('num_workers,kill_iter,corrupt', [(0, 5, False),
                                                          (2, 7, True)])
def test_sigkill_and_resume_is_exact(tmp_path, demo_root, num_workers,
                                     kill_iter, corrupt):
    """Killed after ``kill_iter`` and resumed == uninterrupted, bit for bit.

    Both resume from iteration 4, where the uninterrupted run validated
    right after saving the checkpoint. With ``corrupt`` the newest
    checkpoint (iter 6) is truncated as if the kill had hit while saving
    it: ``--resume`` warns and uses iter 4.
    """
    config = write_config(tmp_path / 'cfg.py', demo_root, num_workers)
    kill_config = write_config(tmp_path / 'kill_cfg.py', demo_root,
                               num_workers, kill_iter=kill_iter)
    ref_dir, work_dir = str(tmp_path / 'ref'), str(tmp_path / 'crash')
    # the uninterrupted and the killed run side by side
    ref = start_train(config, ref_dir)
    finish(start_train(kill_config, work_dir), returncode=-9)
    finish(ref)
    final = f'iter_{MAX_ITERS}.pth'
    # the checkpoint with RNG states loads weights-only
    assert len(safe_torch_load(osp.join(ref_dir, final))['rng_states']) == 1

    saved = kill_iter // INTERVAL * INTERVAL
    assert not osp.exists(osp.join(work_dir, f'iter_{saved + INTERVAL}.pth'))
    if corrupt:
        last = osp.join(work_dir, f'iter_{saved}.pth')
        with open(last, 'rb') as f:
            head = f.read(4096)
        with open(last, 'wb') as f:
            f.write(head)
        saved -= INTERVAL
    out = finish(start_train(config, work_dir, '--resume'))
    assert f'resumed epoch: 0, iter: {saved}' in out
    assert ('is truncated or corrupt' in out) == corrupt
    for it in range(saved + INTERVAL, MAX_ITERS + 1, INTERVAL):
        assert_same_weights(
            osp.join(ref_dir, f'iter_{it}.pth'),
            osp.join(work_dir, f'iter_{it}.pth'))
    # test-split metrics of the final weights, computed by each run
    ref_metrics = last_val_metrics(ref_dir)
    assert ref_metrics['step'] == MAX_ITERS and 'mIoU' in ref_metrics
    assert last_val_metrics(work_dir) == ref_metrics
