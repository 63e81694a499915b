"""bfloat16 mixed-precision training on CPU: AutocastOptimWrapper and
``tools/train.py --amp --amp-dtype bfloat16``."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from rassu_mm.testing import build_tiny_model, demo_mm_inputs, load_tool

train_tool = load_tool('tools/train.py')


def test_tiny_model_trains_one_step_under_bfloat16_autocast():
    model = build_tiny_model().train()
    with DefaultScope.overwrite_default_scope('mmseg'):  # as the Runner
        wrapper = build_optim_wrapper(
            model,
            dict(type='AutocastOptimWrapper',
                 optimizer=dict(type='AdamW', lr=1e-3)))
    seen = []
    model.backbone.register_forward_hook(
        lambda m, args, out: seen.append(out[0].dtype))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log_vars = model.train_step(demo_mm_inputs(((32, 32), ) * 2), wrapper)
    assert seen == [torch.bfloat16]  # the forward pass ran under autocast
    assert torch.isfinite(log_vars['loss'])
    changed = [k for k, v in model.state_dict().items()
               if not torch.equal(v, before[k])]
    assert changed  # the step updated the weights
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert not torch.is_autocast_enabled('cpu')  # only inside the step


@pytest.mark.parametrize('dtype, wrapper, key', [
    ('bfloat16', 'AutocastOptimWrapper', 'dtype'),
    ('float16', 'AmpOptimWrapper', 'loss_scale'),
])
def test_train_tool_amp_dtype(dtype, wrapper, key):
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    train_tool.enable_amp(cfg, dtype)
    assert cfg.optim_wrapper.type == wrapper
    assert cfg.optim_wrapper[key] == ('bfloat16'
                                      if key == 'dtype' else 'dynamic')
