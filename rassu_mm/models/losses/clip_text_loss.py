"""Base of the region losses: a frozen CLIP text tower for the captions."""
import json
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor
from transformers import (CLIPTextConfig, CLIPTextModelWithProjection,
                          PreTrainedTokenizerBase)

from ..utils.clip_utils import build_hf_model, load_hf_pretrained
from ..utils.tokenization import load_tokenizer

# Frozen text towers and tokenizers by (config, pretrained, tokenizer):
# losses that name the same tower share it (one copy in memory).
_TEXT_TOWERS: Dict[tuple, tuple] = {}


class CLIPTextLoss(BaseModule):
    """A loss between region embeddings and CLIP embeddings of captions.

    Subclasses implement :meth:`loss_by_embeds` on L2-normalised (with
    ``normalize``) region embeddings ``r`` ``[M, D]`` (MCM's
    ``region_embeds`` of the captioned frames) and caption embeddings
    ``t = CLIP_text(caption)`` ``[M, D]``.

    The text tower is needed for training only, so it is built (and its
    pretrained weights loaded) in :meth:`init_weights`, which MMEngine's
    ``Runner`` calls when it trains and never when it tests, or on the
    first loss call when ``init_weights`` was skipped. It is not a
    registered submodule: checkpoints do not carry its frozen weights and a
    model built for testing or inference neither holds nor fetches it.
    Losses with the same ``clip``/``pretrained``/``tokenizer`` share one
    frozen tower.

    Args:
        clip (dict, optional): ``CLIPTextConfig`` keyword arguments (e.g.
            the ViT-B/16 text tower sizes). Without ``clip``,
            ``pretrained`` must be a local folder whose ``config.json``
            gives them.
        pretrained (str, optional): local folder or hub name of a CLIP
            checkpoint (e.g. ``'pretrain/clip-vit-base-patch16'``), loaded
            strictly into the text tower.
        tokenizer (str, optional): tokenizer folder of the text tower;
            defaults to ``pretrained``. Text is encoded with the tokenizer's
            special tokens (CLIP pools the EOS position).
        normalize (bool): L2-normalise both embeddings.
        loss_weight (float): multiplier of the loss.
        loss_name (str): key of the loss in the loss dict.
    """

    def __init__(self,
                 clip: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 tokenizer: Optional[str] = None,
                 normalize: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_clip'):
        super().__init__()
        if pretrained is None and (clip is None or tokenizer is None):
            raise ValueError('Give `pretrained`, or `clip` (CLIPTextConfig '
                             'arguments) and `tokenizer`.')
        self.clip = clip
        self.pretrained = pretrained
        self.tokenizer_source = tokenizer or pretrained
        self._text = None  # (text model, tokenizer), built for training
        self.normalize = normalize
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def init_weights(self) -> None:
        """Build the frozen text tower and load its pretrained weights."""
        self._text_tower()

    @property
    def text_model(self) -> CLIPTextModelWithProjection:
        """The frozen CLIP text tower (always in eval mode)."""
        return self._text_tower()[0]

    def _text_tower(
        self
    ) -> Tuple[CLIPTextModelWithProjection, PreTrainedTokenizerBase]:
        """``(text model, tokenizer)``, built on first use (or taken from
        another loss with the same tower)."""
        if self._text is None:
            key = (json.dumps(self.clip, sort_keys=True), self.pretrained,
                   self.tokenizer_source)
            if key not in _TEXT_TOWERS:
                # on a forked RNG: whether (and when) a run builds the tower
                # does not change the random draws of training
                with torch.random.fork_rng(devices=[]):
                    model = build_hf_model(CLIPTextModelWithProjection,
                                           CLIPTextConfig, self.clip,
                                           self.pretrained)
                if self.pretrained is not None:
                    load_hf_pretrained(model, self.pretrained,
                                       f'{type(self).__name__}.pretrained')
                _TEXT_TOWERS[key] = (model,
                                     load_tokenizer(self.tokenizer_source))
            self._text = _TEXT_TOWERS[key]
        return self._text

    @torch.no_grad()
    def encode_text(self, captions: Sequence[str],
                    device: torch.device) -> Tensor:
        """CLIP text embeddings ``[N, D]`` of ``N`` captions on ``device``."""
        model, tokenizer = self._text_tower()
        if model.device != device:
            model.to(device)
        inputs = tokenizer(
            list(captions), padding=True, truncation=True,
            max_length=model.config.max_position_embeddings,
            return_tensors='pt').to(device)
        return model(
            input_ids=inputs['input_ids'],
            attention_mask=inputs['attention_mask']).text_embeds

    def forward(self, region_embeds: Tensor,
                captions: Sequence[str]) -> Tensor:
        """Args: region_embeds ``[M, D]``, ``M`` captions. Returns a
        scalar."""
        text = self.encode_text(captions, region_embeds.device).to(
            region_embeds.dtype)
        region = region_embeds
        if self.normalize:
            region, text = F.normalize(region, dim=-1), F.normalize(
                text, dim=-1)
        return self.loss_weight * self.loss_by_embeds(region, text, captions)

    def loss_by_embeds(self, region: Tensor, text: Tensor,
                       captions: Sequence[str]) -> Tensor:
        """The unweighted loss of region ``[M, D]`` and caption ``[M, D]``
        embeddings."""
        raise NotImplementedError
