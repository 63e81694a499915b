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


@pytest.mark.parametrize('name', ['ssuformer_demo.py', 'ssuformer_f_music.py'])
def test_fast_adamw_updates_as_the_default_loop(name):
    """The schedule's ``foreach``/``fused`` AdamW (with its param groups,
    weight decay and gradient clipping) gives the default for-loop
    AdamW's weights after a few steps, within float rounding."""
    import copy

    import torch
    from mmengine.optim import build_optim_wrapper

    optim_cfg = get_config(name).optim_wrapper
    fast = optim_cfg.optimizer
    assert fast.get('foreach') or fast.get('fused')
    plain_cfg = copy.deepcopy(optim_cfg)
    plain_cfg.optimizer.pop('foreach', None)
    plain_cfg.optimizer.pop('fused', None)
    torch.manual_seed(0)
    # names that hit the configs' custom_keys and norm rules
    model = torch.nn.ModuleDict(
        dict(backbone=torch.nn.Linear(6, 8), norm=torch.nn.LayerNorm(8),
             head=torch.nn.Linear(8, 3)))
    models, params = [model, copy.deepcopy(model)], []
    start = torch.cat([p.detach().flatten() for p in model.parameters()])
    for net, cfg in zip(models, (optim_cfg, plain_cfg)):
        wrapper = build_optim_wrapper(net, copy.deepcopy(cfg))
        assert [wrapper.optimizer.defaults[k] for k in ('foreach', 'fused')
                ] == [cfg.optimizer.get(k) for k in ('foreach', 'fused')]
        gen = torch.Generator().manual_seed(1)
        for _ in range(5):
            x = torch.randn(4, 6, generator=gen)
            out = net['head'](net['norm'](net['backbone'](x)))
            wrapper.update_params(out.pow(2).sum())
        params.append(torch.cat([p.detach().flatten()
                                 for p in net.parameters()]))
    assert not torch.allclose(params[0], start)
    torch.testing.assert_close(params[0], params[1], rtol=1e-5, atol=1e-6)
