"""Builders of tiny inputs and configs for tests and tools.

Importing this package registers nothing; the toy runner components live in
:mod:`rassu_mm.testing.toy_components` and are registered when that module
is imported (``custom_imports``).
"""
from ._configs import (TINY_CLIP_VISION, WIDTH_KEYS, build_tiny_model,
                       demo_runner_cfg, get_config, merge_overrides,
                       shrink_widths, tiny_clip_text, tiny_model_cfg)
from ._dist import free_port
from ._host_syncs import HostSync, HostSyncRecorder
from ._inputs import DEMO_CAPTION, demo_clip, demo_mm_inputs
from ._paths import REPO_ROOT, load_tool, repo_path
from ._semireal_assets import (write_tiny_semireal_assets,
                               write_tiny_semireal_set)
from ._tokenizer import use_stand_in_tokenizer, write_caption_tokenizer

__all__ = [
    'DEMO_CAPTION', 'REPO_ROOT', 'TINY_CLIP_VISION', 'WIDTH_KEYS',
    'HostSync', 'HostSyncRecorder', 'build_tiny_model', 'tiny_clip_text',
    'demo_clip', 'demo_mm_inputs', 'demo_runner_cfg', 'free_port',
    'get_config', 'load_tool', 'merge_overrides', 'repo_path',
    'shrink_widths', 'tiny_model_cfg', 'use_stand_in_tokenizer',
    'write_caption_tokenizer', 'write_tiny_semireal_assets',
    'write_tiny_semireal_set'
]
