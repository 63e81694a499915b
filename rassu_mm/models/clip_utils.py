"""Build (and freeze) ``transformers`` CLIP towers from a config or folder."""
from typing import Optional, Type

from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

# Normalisation of OpenAI CLIP (RGB, images in [0, 1]).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def build_hf_model(model_cls: Type[PreTrainedModel],
                   config_cls: Type[PretrainedConfig],
                   config: Optional[dict] = None,
                   pretrained: Optional[str] = None,
                   frozen: bool = True) -> PreTrainedModel:
    """Build a ``transformers`` model from a config dict or a checkpoint.

    Args:
        model_cls: e.g. ``CLIPVisionModelWithProjection``.
        config_cls: e.g. ``CLIPVisionConfig`` (used with ``config``).
        config: keyword arguments of ``config_cls``; gives a randomly
            initialised model (tests, tiny demo models).
        pretrained: local folder or hub name (e.g.
            ``'openai/clip-vit-base-patch16'``; a full CLIP checkpoint
            provides both towers). Exactly one of ``config`` and
            ``pretrained`` must be given.
        frozen: disable gradients of all parameters.

    Returns:
        PreTrainedModel: the model, marked ``is_init`` so that MMEngine's
        ``init_weights`` never re-initialises pretrained weights.
    """
    if (config is None) == (pretrained is None):
        raise ValueError('Give exactly one of `config` and `pretrained`.')
    if pretrained is not None:
        model = model_cls.from_pretrained(pretrained)
    else:
        model = model_cls(config_cls(**config))
    model.is_init = True
    if frozen:
        freeze(model)
    return model


def freeze(module: nn.Module) -> None:
    """Put ``module`` in eval mode and stop gradients to its parameters."""
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
