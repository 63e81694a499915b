"""Multi-process training and testing through the real launchers.

``tools/dist_train.sh CONFIG 2`` (torchrun, ``--launcher pytorch``; gloo on
CPU) trains the demo segmentation model, validates at the end and saves a
checkpoint with both ranks' RNG states; ``tools/dist_test.sh`` on that
checkpoint gives the same metrics as single-process ``tools/test.py`` on a
test split of 5 clips (not a multiple of the 2 processes, so the sampler pads
and the evaluator must drop the padding). The full model (caption branch,
MoHE) also trains with plain DDP (``find_unused_parameters=False``). Slow: about two
minutes on 2 CPU cores.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import (REPO_ROOT, demo_runner_cfg, free_port,
                              load_tool, repo_path)
from rassu_mm.utils import safe_torch_load

NUM_VAL = 5  # val and test clips: odd, so 2 processes need a padded sampler


def write_config(path, base, data_root, tokenizer=None):
    """``configs/<base>`` on ``data_root`` without dataloader workers."""
    cfg = demo_runner_cfg(data_root, base)
    if tokenizer is not None:
        cfg.model.caption_head.tokenizer = tokenizer
    cfg.dump(str(path))
    return str(path)


def start(cmd, **env):
    """Start ``cmd`` in the background (see :func:`finish`)."""
    return subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=dict(
            os.environ, PYTHONPATH=REPO_ROOT, PYTHON=sys.executable, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def finish(proc):
    """Wait for ``proc``, check that it succeeded; its output."""
    out, _ = proc.communicate()
    assert proc.returncode == 0, ' '.join(proc.args) + '\n' + out[-6000:]
    return out


def run(cmd, **env):
    return finish(start(cmd, **env))


def dist_train(config, work_dir, *cfg_options):
    return run([
        'bash',
        repo_path('tools/dist_train.sh'), config, '2', '--work-dir',
        work_dir, '--cfg-options', *cfg_options
    ],
               PORT=free_port())


def read_test_results(work_dir):
    """The metrics MMEngine writes to ``<work_dir>/<stamp>/<stamp>.json``
    after testing (without the timings) and SSUMetric's per-category
    ``ssu_breakdown.json`` next to it."""
    (stamp, ) = [
        d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d))
    ]
    with open(osp.join(work_dir, stamp, f'{stamp}.json')) as f:
        metrics = json.load(f)
    with open(osp.join(work_dir, stamp, 'ssu_breakdown.json')) as f:
        breakdown = json.load(f)
    metrics = {
        k: v
        for k, v in metrics.items() if k not in ('time', 'data_time')
    }
    return metrics, breakdown


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('dist') / 'demo')
    make_synthetic_dataset(
        root, num_clips=(8, NUM_VAL, NUM_VAL), progress=False)
    return root


@pytest.mark.slow
def test_dist_train_then_dist_test_matches_single(tmp_path, demo_root):
    config = write_config(tmp_path / 'seg.py', 'ssuformer_demo_seg.py',
                          demo_root)
    work_dir = str(tmp_path / 'train')
    out = dist_train(config, work_dir, 'train_cfg.max_iters=4',
                     'train_cfg.val_interval=4',
                     'default_hooks.checkpoint.interval=4',
                     'train_dataloader.batch_size=2',
                     'default_hooks.logger.interval=2')
    # (only rank 0 logs INFO)
    assert 'rank 0 of 2 uses the gloo backend' in out
    assert 'Iter(val) [' in out and 'mIoU:' in out  # validated at the end
    ckpt_path = osp.join(work_dir, 'iter_4.pth')
    ckpt = safe_torch_load(ckpt_path)
    assert ckpt['meta']['iter'] == 4
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
    # each rank's own RNG state, gathered before rank 0 saved
    states = ckpt['rng_states']
    assert len(states) == 2 and all(s is not None for s in states)

    dist_dir, single_dir = str(tmp_path / 'dist_test'), str(
        tmp_path / 'single_test')
    # the two tests side by side
    dist_test = start([
        'bash',
        repo_path('tools/dist_test.sh'), config, ckpt_path, '2',
        '--work-dir', dist_dir
    ],
                      PORT=free_port())
    run([
        sys.executable,
        repo_path('tools/test.py'), config, ckpt_path, '--work-dir',
        single_dir
    ])
    assert 'rank 0 of 2 uses the gloo backend' in finish(dist_test)
    single = read_test_results(single_dir)
    assert {'mIoU', 'F-score'} <= single[0].keys()
    with open(osp.join(demo_root, 'annotations/test.json')) as f:
        clips = json.load(f)['clips']
    assert len(clips) == NUM_VAL
    # every test clip counted once per category, the padding dropped
    assert sum(c['clips'] for c in single[1]['categories'].values()) == \
        sum(len(clip['categories']) for clip in clips)
    assert read_test_results(dist_dir) == single


@pytest.mark.slow
def test_dist_train_full_model_with_captions(tmp_path, demo_root):
    tokenizer = str(tmp_path / 'tokenizer')
    load_tool('tools/build_tokenizer.py').main(
        [osp.join(demo_root, 'annotations/train.json'), tokenizer])
    config = write_config(tmp_path / 'full.py', 'ssuformer_demo.py',
                          demo_root, tokenizer)
    wrapper = Config.fromfile(config).get('model_wrapper_cfg') or {}
    assert not wrapper.get('find_unused_parameters', False)
    work_dir = str(tmp_path / 'train')
    out = dist_train(config, work_dir, 'train_cfg.max_iters=2',
                     'train_cfg.val_begin=100',
                     'default_hooks.checkpoint.interval=2',
                     'train_dataloader.batch_size=2',
                     'default_hooks.logger.interval=1')
    assert 'rank 0 of 2 uses the gloo backend' in out
    train_lines = [line for line in out.splitlines() if 'Iter(train)' in line]
    assert len(train_lines) == 2 and 'loss_caption' in train_lines[-1]
    ckpt = safe_torch_load(osp.join(work_dir, 'iter_2.pth'))
    assert any(k.startswith('caption_head.') for k in ckpt['state_dict'])
    assert len(ckpt['rng_states']) == 2
