"""Configs for tests and tools, loaded from ``configs/`` (never written
out again): the demo models shrunk to a few thousand parameters, and the
demo runner configs pointed at a generated data set."""
import copy
import itertools
import os.path as osp
from typing import Any, Optional

import torch
from mmengine.config import Config, ConfigDict
from torch import nn

from mmseg.registry import MODELS
from ._paths import repo_path

#: Keys of widths (channels, token sizes, query counts) that
#: :func:`tiny_model_cfg` divides.
WIDTH_KEYS = frozenset({
    'base_channels', 'channels', 'embed_dims', 'feat_channels',
    'feedforward_channels', 'hidden_size', 'in_channels',
    'intermediate_size', 'num_queries', 'out_channels', 'projection_dim',
    'stem_channels'
})


def shrink_widths(cfg: Any, factor: int = 2) -> Any:
    """Divide every width in a (model) config by ``factor``, recursively.

    The integers (or lists of integers) under :data:`WIDTH_KEYS` are
    divided; everything else is kept, so heads stay divisors of token
    sizes when both are divisible by ``factor``.
    """
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key in WIDTH_KEYS and isinstance(value, int):
                cfg[key] = value // factor
            elif key in WIDTH_KEYS and isinstance(value, (list, tuple)) \
                    and all(isinstance(v, int) for v in value):
                cfg[key] = type(value)(v // factor for v in value)
            else:
                shrink_widths(value, factor)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            shrink_widths(value, factor)
    return cfg


def merge_overrides(cfg: dict, overrides: dict) -> dict:
    """Update ``cfg`` in place with ``overrides``, recursively.

    A dict merges into a dict of the same ``type`` (or without one); a dict
    of another ``type``, and anything else, replaces the value (``None``
    removes a component, e.g. ``neck=None``).
    """
    for key, value in overrides.items():
        old = cfg.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and \
                value.get('type', old.get('type')) == old.get('type'):
            merge_overrides(old, value)
        else:
            cfg[key] = copy.deepcopy(value)
    return cfg


def get_config(name: str) -> Config:
    """``configs/<name>`` of the repository, loaded with
    ``Config.fromfile`` (its ``_base_`` files included)."""
    path = repo_path('configs', name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'no config {name} in {repo_path("configs")}')
    return Config.fromfile(path)


def tiny_model_cfg(config: str = 'ssuformer_demo_seg.py',
                   tokenizer: Optional[str] = None,
                   **overrides) -> ConfigDict:
    """The ``model`` of ``configs/<config>`` at half width.

    The demo configs' widths (:data:`WIDTH_KEYS`: token size 64 -> 32,
    8 -> 4 queries, ResNet-18 with 8 base channels, the tiny CLIP and
    caption decoder at half size) are halved with :func:`shrink_widths`,
    the backbone's residual branches are not zero-initialised (so that
    every parameter gets a gradient at initialisation), then ``overrides``
    are applied (see :func:`merge_overrides`). No tiny model is written
    out: it follows the repository's config.

    Args:
        config (str): A config under ``configs/``.
        tokenizer (str, optional): Folder of a caption tokenizer
            (``tools/build_tokenizer.py``) for the caption head.
        **overrides: Top-level model keys, e.g.
            ``decode_head=dict(num_classes=5)``, ``neck=None``.
    """
    model = shrink_widths(get_config(config).model)
    # mmseg's default zero-inits the last BN of each residual branch,
    # which blocks the gradient to the branch at initialisation
    model.backbone.zero_init_residual = False
    if tokenizer is not None:
        model.caption_head.tokenizer = tokenizer
    return merge_overrides(model, overrides)


def build_tiny_model(config: str = 'ssuformer_demo_seg.py',
                     seed: int = 0,
                     **kwargs) -> nn.Module:
    """Build and initialise :func:`tiny_model_cfg` with the torch seed
    ``seed`` (the same weights every time)."""
    cfg = tiny_model_cfg(config, **kwargs)
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


_RUNNER_IDS = itertools.count()


def demo_runner_cfg(data_root: str,
                    config: str = 'ssuformer_demo_seg.py',
                    num_workers: int = 0,
                    seed: int = 0) -> Config:
    """``configs/<config>`` reading the demo data set at ``data_root``
    (e.g. made by ``make_synthetic_dataset``), seeded, with
    ``num_workers`` training loader workers and none for val/test.

    Args:
        data_root (str): The data set folder (``annotations/``, ...); the
            audio feature cache goes to ``<data_root>/audio_cache``.
        config (str): A config under ``configs/`` on the demo data.
        num_workers (int): Workers of the training loader.
        seed (int): ``randomness.seed``.
    """
    cfg = get_config(config)
    cfg.randomness = dict(seed=seed)
    # MMEngine reuses a visualizer of the same name (a process-wide
    # singleton) with its first save_dir: a fresh name per runner keeps each
    # runner's vis_data in its own work_dir, whatever ran before
    cfg.visualizer.name = f'demo_runner_{next(_RUNNER_IDS)}'
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.num_workers = num_workers if split == 'train' else 0
        loader.persistent_workers = split == 'train' and num_workers > 0
        loader.dataset.data_root = data_root
        for transform in loader.dataset.pipeline:
            if transform.type == 'LoadClipAudio':
                transform.cache_dir = osp.join(data_root, 'audio_cache')
    return cfg


# ``CLIPVisionConfig`` / ``CLIPTextConfig`` arguments of tiny CLIP towers
# (the paper configs' ViT-B/16 sizes are ``clip_vision`` / ``clip_text`` in
# configs/_base_/models/ssuformer_pvtv2_b5_caption.py).
TINY_CLIP_VISION = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    image_size=32,
    patch_size=8,
    projection_dim=16)


def tiny_clip_text(vocab_size: int) -> dict:
    """``CLIPTextConfig`` arguments of a tiny text tower whose special ids
    are those of
    :func:`~rassu_mm.models.utils.tokenization.train_caption_tokenizer`
    (``[PAD]=0``, ``[BOS]=2``, ``[EOS]=3``)."""
    return dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=32,
        projection_dim=16,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3)
