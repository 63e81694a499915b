"""Region-caption consistency (RCC) loss with a frozen CLIP text tower."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

from ..clip_utils import build_hf_model
from ..tokenization import load_tokenizer


@MODELS.register_module()
class RegionCaptionConsistencyLoss(BaseModule):
    """Distance between CLIP region and caption embeddings.

    ``loss = mean_i d(r_i, t_i)`` over the frames with a caption, where
    ``r_i`` is the CLIP image embedding of frame ``i``'s predicted sounding
    region (from the MCM neck) and ``t_i = CLIP_text(caption_i)`` from a
    frozen ``transformers`` ``CLIPTextModelWithProjection``. With
    ``normalize`` both are L2-normalised first; ``d`` is the Euclidean
    distance ``||r - t||_2`` (``'l2'``, the paper's formula) or
    ``1 - cos(r, t)`` (``'cosine'``).

    Args:
        clip (dict, optional): ``CLIPTextConfig`` keyword arguments for a
            randomly initialised text tower (tests, tiny models).
        pretrained (str, optional): local folder or hub name of a CLIP
            checkpoint, e.g. ``'openai/clip-vit-base-patch16'``. Exactly one
            of ``clip`` and ``pretrained``.
        tokenizer (str, optional): tokenizer folder of the text tower;
            defaults to ``pretrained``. Text is encoded with the tokenizer's
            special tokens (CLIP pools the EOS position).
        distance (str): ``'l2'`` or ``'cosine'``.
        normalize (bool): L2-normalise both embeddings.
        loss_weight (float): multiplier of the loss.
        loss_name (str): key of the loss in the loss dict.
    """

    def __init__(self,
                 clip: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 tokenizer: Optional[str] = None,
                 distance: str = 'l2',
                 normalize: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_rcc'):
        super().__init__()
        if distance not in ('l2', 'cosine'):
            raise ValueError(f"distance must be 'l2' or 'cosine', "
                             f'got {distance!r}')
        self.text_model = build_hf_model(CLIPTextModelWithProjection,
                                         CLIPTextConfig, clip, pretrained)
        self.tokenizer = load_tokenizer(tokenizer or pretrained)
        self.distance = distance
        self.normalize = normalize
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def train(self, mode: bool = True) -> 'RegionCaptionConsistencyLoss':
        """Keep the frozen text tower in eval mode."""
        super().train(mode)
        self.text_model.eval()
        return self

    @torch.no_grad()
    def encode_text(self, captions: Sequence[str]) -> Tensor:
        """CLIP text embeddings ``[N, D]`` of ``N`` captions."""
        device = self.text_model.text_projection.weight.device
        inputs = self.tokenizer(
            list(captions), padding=True, truncation=True,
            max_length=self.text_model.config.max_position_embeddings,
            return_tensors='pt').to(device)
        return self.text_model(
            input_ids=inputs['input_ids'],
            attention_mask=inputs['attention_mask']).text_embeds

    def forward(self, region_embeds: Tensor,
                captions: Sequence[str]) -> Tensor:
        """Args: region_embeds ``[N, D]``, ``N`` captions. Returns a
        scalar."""
        text = self.encode_text(captions).to(region_embeds.dtype)
        region = region_embeds
        if self.normalize:
            region, text = F.normalize(region, dim=-1), F.normalize(
                text, dim=-1)
        if self.distance == 'l2':
            dist = (region - text).norm(dim=-1)
        else:
            dist = 1 - F.cosine_similarity(region, text, dim=-1)
        return self.loss_weight * dist.mean()
