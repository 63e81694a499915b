"""Audio matters: the demo model against the same model with zeroed audio.

Trains ``configs/ssuformer_demo_seg.py`` twice on a freshly generated synthetic
set (where only the audio tells which objects are masked) and compares the
test mIoU. Slow: a few minutes on 2 CPU cores.
"""
import os.path as osp

import pytest
from mmengine.runner import Runner

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import demo_runner_cfg

MAX_ITERS = 300


def demo_config(data_root, work_dir, zero_audio):
    """The demo config on ``data_root``, shortened, without workers."""
    cfg = demo_runner_cfg(data_root)
    cfg.model.zero_audio = zero_audio
    cfg.work_dir = work_dir
    cfg.visualizer.name = f'ablation_{osp.basename(work_dir)}'
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.train_cfg.val_interval = MAX_ITERS
    cfg.param_scheduler[-1].end = MAX_ITERS
    cfg.default_hooks.checkpoint.interval = MAX_ITERS
    return cfg


@pytest.mark.slow
def test_audio_input_matters(tmp_path):
    data_root = str(tmp_path / 'demo')
    make_synthetic_dataset(data_root, progress=False)
    miou = {}
    for zero_audio in (False, True):
        runner = Runner.from_cfg(
            demo_config(data_root, str(tmp_path / f'zero_{zero_audio}'),
                        zero_audio))
        runner.train()
        miou[zero_audio] = runner.test()['mIoU']
    print(f'test mIoU with audio {miou[False]:.4f}, '
          f'audio zeroed {miou[True]:.4f}')
    assert miou[False] >= miou[True] + 0.10
