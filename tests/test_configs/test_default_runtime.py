"""``configs/_base_/default_runtime.py``: what every config inherits."""
import glob
import itertools
import os.path as osp

import pytest
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmseg.registry import HOOKS, VISUALIZERS
from rassu_mm.engine import NonFiniteLossHook, RNGStateHook
from rassu_mm.testing import get_config, repo_path
from rassu_mm.visualization import SSULocalVisualizer

CONFIGS = sorted(
    osp.relpath(path, repo_path('configs'))
    for path in glob.glob(repo_path('configs', '**', '*.py'), recursive=True)
    if '_base_' not in path.split(osp.sep))
_NAMES = itertools.count()


def test_default_runtime_builds_in_its_scope(tmp_path):
    """Its imports, then its visualizer and hooks, by the names it gives,
    in its default scope."""
    cfg = get_config('_base_/default_runtime.py')
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, save_dir=str(tmp_path),
             name=f'default_runtime_{next(_NAMES)}'))
    assert isinstance(visualizer, SSULocalVisualizer)
    assert [type(b).__name__ for b in visualizer._vis_backends.values()
            ] == [b['type'] for b in cfg.vis_backends]
    hooks = [HOOKS.build(hook) for hook in cfg.custom_hooks]
    assert [type(hook) for hook in hooks] == [RNGStateHook, NonFiniteLossHook]


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_keeps_the_runtime(config):
    """Each config imports rassu_mm in the mmseg scope and keeps
    RNGStateHook, which exact resuming needs, and NonFiniteLossHook, which
    stops at a NaN/inf loss before saving (docs/training.md)."""
    cfg = get_config(config)
    assert cfg.default_scope == 'mmseg'
    assert 'rassu_mm' in cfg.custom_imports['imports']
    assert cfg.custom_imports.get('allow_failed_imports') is False
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert {'RNGStateHook', 'NonFiniteLossHook'} <= set(hooks), config
