"""``transformers`` CLIP towers: built offline, pretrained weights loaded
strictly in ``init_weights``.

A tower is built from its ``CLIPVisionConfig``/``CLIPTextConfig`` keyword
arguments written in the model config (or from the ``config.json`` of a
local folder), so building a model never touches the network. The
pretrained weights (a local folder or a Hugging Face hub name) are copied in
by :func:`load_hf_pretrained`, which the owning module calls from its
``init_weights``; MMEngine's ``Runner`` calls ``init_weights`` when it
trains, never when it tests or infers from a checkpoint that holds all
weights.
"""
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Optional, Type

from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import logging as hf_logging

from rassu_mm.utils.preflight import missing_weights_message
from .checkpointing import checkpoint_layers
from .pretrained import PretrainedKeysError

# Normalisation of OpenAI CLIP (RGB, images in [0, 1]).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# Config fields that change the computation; a pretrained tower whose
# config differs in one of them does not fit the built model.
ARCH_FIELDS = ('hidden_size', 'intermediate_size', 'num_hidden_layers',
               'num_attention_heads', 'image_size', 'patch_size',
               'num_channels', 'projection_dim', 'vocab_size',
               'max_position_embeddings', 'hidden_act', 'layer_norm_eps')


def build_hf_model(model_cls: Type[PreTrainedModel],
                   config_cls: Type[PretrainedConfig],
                   config: Optional[dict] = None,
                   pretrained: Optional[str] = None,
                   frozen: bool = True) -> PreTrainedModel:
    """Build a randomly initialised ``transformers`` model, offline.

    Args:
        model_cls: e.g. ``CLIPVisionModelWithProjection``.
        config_cls: e.g. ``CLIPVisionConfig``.
        config: keyword arguments of ``config_cls`` (e.g. the ViT-B/16
            sizes written in the model config), and optionally
            ``with_cp=True`` (not a ``transformers`` field): recompute each
            encoder layer's activations in the backward pass. Unlike
            ``gradient_checkpointing_enable``, which acts in train mode
            only, it also acts on a frozen tower (always in eval mode)
            through which a gradient flows to its input, e.g. MCM's
            ``'masked_image'`` mode (see
            :func:`~rassu_mm.models.utils.checkpointing.checkpoint_layers`).
        pretrained: used only without ``config``: a local folder whose
            ``config.json`` gives the architecture (a full CLIP folder gives
            both towers'). Its weights are not loaded here (see
            :func:`load_hf_pretrained`).
        frozen: disable gradients of all parameters (and eval mode).

    Returns:
        PreTrainedModel: the model, marked ``is_init`` so that MMEngine's
        ``init_weights`` never re-initialises it.
    """
    with_cp = False
    if config is not None:
        config = dict(config)
        with_cp = config.pop('with_cp', False)
        hf_config = config_cls(**config)
    elif pretrained is not None and osp.isdir(pretrained):
        hf_config = config_cls.from_pretrained(pretrained)
    else:
        raise ValueError(
            f'{model_cls.__name__}: give `clip` (the {config_cls.__name__} '
            f'arguments, e.g. the ViT-B/16 sizes) so that the model builds '
            f'without network; `pretrained` ({pretrained!r}) is loaded in '
            f'init_weights.')
    model = model_cls(hf_config)
    model.is_init = True
    if with_cp:
        checkpoint_layers(m for m in model.modules()
                          if isinstance(m, GradientCheckpointingLayer))
    if frozen:
        freeze(model)
    return model


def load_hf_pretrained(model: PreTrainedModel, pretrained: str,
                       owner: str) -> None:
    """Copy the weights of ``pretrained`` into ``model``, strictly.

    Args:
        model: a model built by :func:`build_hf_model`.
        pretrained: local folder or hub name (e.g.
            ``'openai/clip-vit-base-patch16'``; a full CLIP checkpoint holds
            both towers, the other tower's weights are ignored). With
            ``HF_HUB_OFFLINE=1`` a hub name is read from the local
            Hugging Face cache only.
        owner: ``'<Class>.pretrained'`` of the module that asked, for the
            error messages.

    Raises:
        FileNotFoundError: neither a local folder nor a loadable hub model;
            says how to get it.
        PretrainedKeysError: the pretrained tower lacks weights of
            ``model`` or has a different architecture (names the keys or
            config fields).
    """
    model_cls = type(model)
    try:
        config = model_cls.config_class.from_pretrained(pretrained)
    except OSError as err:
        raise FileNotFoundError(
            missing_weights_message(pretrained, owner, 'clip')) from err
    ours, theirs = model.config.to_dict(), config.to_dict()
    differ = [
        f'{k}: {ours[k]!r} (config) vs {theirs[k]!r} ({pretrained})'
        for k in ARCH_FIELDS if k in ours and ours[k] != theirs.get(k)
    ]
    if differ:
        raise PretrainedKeysError(
            f'{owner}: {pretrained} is not the architecture of the config: '
            + '; '.join(differ))
    with _quiet_transformers():  # the keys are checked here, strictly
        source, info = model_cls.from_pretrained(
            pretrained, output_loading_info=True)
    missing = list(info['missing_keys']) + [
        key for key, *_ in info['mismatched_keys']
    ]
    if missing:
        raise PretrainedKeysError(
            f'{owner}: {pretrained} lacks {len(missing)} weights of '
            f'{model_cls.__name__}: {", ".join(sorted(missing))}')
    model.load_state_dict(source.state_dict(), strict=True)


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence ``transformers``' loading report (e.g. every text-tower
    key of a full CLIP checkpoint listed as unexpected for the vision
    tower) and progress bar."""
    verbosity = hf_logging.get_verbosity()
    bars_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars_enabled:
            hf_logging.enable_progress_bar()


def freeze(module: nn.Module) -> None:
    """Put ``module`` in eval mode and stop gradients to its parameters."""
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
