"""Schedules: ``auto_scale_lr`` refers to each config's own total batch
(1 process x ``train_dataloader.batch_size``), so enabling it changes the
learning rates only when the number of processes or clips changes."""
import glob
import os.path as osp

import pytest

from rassu_mm.testing import get_config, repo_path

CONFIGS = sorted(
    osp.relpath(p, repo_path('configs'))
    for pattern in ('*.py', 'avsbench/*.py', 'ablations/*.py')
    for p in glob.glob(repo_path('configs', pattern)))


@pytest.mark.parametrize('name', CONFIGS)
def test_auto_scale_lr_base_is_the_config_batch(name):
    cfg = get_config(name)
    assert cfg.auto_scale_lr.enable is False
    assert cfg.auto_scale_lr.base_batch_size == \
        cfg.train_dataloader.batch_size


@pytest.mark.parametrize('name', CONFIGS)
def test_poly_schedule_ends_with_training(name):
    cfg = get_config(name)
    assert cfg.param_scheduler[-1].type == 'PolyLR'
    assert cfg.param_scheduler[-1].end == cfg.train_cfg.max_iters
