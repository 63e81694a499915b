"""Mask Collaboration Module (MCM): CLIP region features of the masks."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from ..clip_utils import CLIP_MEAN, CLIP_STD, build_hf_model


@MODELS.register_module()
class MaskCollaborationModule(BaseModule):
    """Add CLIP features of the sounding region to the fused memory.

    A CLIP vision encoder (``transformers``, frozen by default) runs once per
    frame. Its patch tokens are averaged with the weights of the predicted
    mask (``sigmoid(mask_logits)`` resized to the patch grid) into a region
    token, which is projected to ``embed_dims`` and added to every token of
    the fused memory. In ``mode='masked_image'`` CLIP encodes the frame with
    the non-sounding pixels set to the CLIP mean colour instead.

    The region's CLIP image embedding (projection space) is returned for the
    region-caption consistency loss: in ``'pool'`` mode the projection of the
    pooled patch tokens, in ``'masked_image'`` mode CLIP's image embedding of
    the masked frame. The mask is detached on the memory path (the caption
    loss does not move the masks) but not for ``region_embeds``, so the RCC
    loss trains the mask head through the frozen CLIP encoder.

    Args:
        embed_dims (int): channels ``C`` of the fused memory.
        clip (dict, optional): ``CLIPVisionConfig`` keyword arguments for a
            randomly initialised encoder (tests, tiny models).
        pretrained (str, optional): local folder or hub name of a CLIP
            checkpoint, e.g. ``'openai/clip-vit-base-patch16'``. Exactly one
            of ``clip`` and ``pretrained``.
        frozen (bool): freeze CLIP (no gradients, always eval mode).
            Defaults to True.
        mode (str): ``'pool'`` (mask-pool the frame's patch tokens) or
            ``'masked_image'`` (encode the masked frame). Defaults to
            ``'pool'``.
        mean (Sequence[float]): the data preprocessor's RGB mean (0-255).
        std (Sequence[float]): the data preprocessor's RGB std (0-255).
        gt_mask_schedule (dict, optional): use ground-truth masks early in
            training: each frame takes its ground-truth mask with probability
            ``start_prob * max(0, 1 - iter / end_iter)``. Keys ``start_prob``
            (default 1.0) and ``end_iter``. Defaults to None (never).
        init_cfg (dict, optional): initialisation of the projection.
    """

    def __init__(self,
                 embed_dims: int,
                 clip: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 frozen: bool = True,
                 mode: str = 'pool',
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 gt_mask_schedule: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if mode not in ('pool', 'masked_image'):
            raise ValueError(f"mode must be 'pool' or 'masked_image', "
                             f'got {mode!r}')
        self.clip = build_hf_model(CLIPVisionModelWithProjection,
                                   CLIPVisionConfig, clip, pretrained, frozen)
        self.frozen = frozen
        self.mode = mode
        self.gt_mask_schedule = gt_mask_schedule
        cfg = self.clip.config
        self.image_size = cfg.image_size
        self.grid_size = cfg.image_size // cfg.patch_size
        self.proj = nn.Sequential(
            nn.LayerNorm(cfg.hidden_size), nn.Linear(cfg.hidden_size,
                                                     embed_dims))
        # frames * scale + shift maps preprocessed frames to CLIP input.
        mean, std = torch.tensor(mean), torch.tensor(std)
        clip_mean, clip_std = torch.tensor(CLIP_MEAN), torch.tensor(CLIP_STD)
        scale = std / 255. / clip_std
        shift = (mean / 255. - clip_mean) / clip_std
        self.register_buffer('scale', scale.view(1, 3, 1, 1), False)
        self.register_buffer('shift', shift.view(1, 3, 1, 1), False)

    def train(self, mode: bool = True) -> 'MaskCollaborationModule':
        """Set train mode, keeping a frozen CLIP in eval mode."""
        super().train(mode)
        if self.frozen:
            self.clip.eval()
        return self

    def forward(self,
                frames: Tensor,
                mask_logits: Tensor,
                memory: Tensor,
                data_samples: Optional[List] = None) -> Dict[str, Tensor]:
        """Enhance the memory with CLIP region features.

        Args:
            frames (Tensor): preprocessed frames ``[N, 3, H, W]`` (``N =
                B*T``, RGB, normalised with ``mean``/``std``).
            mask_logits (Tensor): logits of "sounding" ``[N, h, w]`` (any
                resolution, covering the padded frame).
            memory (Tensor): fused audio-visual tokens ``[N, L, C]``.
            data_samples (list[SSUDataSample], optional): ``B`` clips;
                their ``gt_sem_seg`` is used by ``gt_mask_schedule``.

        Returns:
            dict: ``memory`` ``[N, L, C]`` and ``region_embeds`` ``[N, D]``
            (``D`` = CLIP projection dim).
        """
        images = F.interpolate(
            frames * self.scale + self.shift,
            size=(self.image_size, self.image_size), mode='bilinear',
            align_corners=False)
        if self.mode == 'pool':
            weights = self._mask(mask_logits, frames, data_samples,
                                 self.grid_size)
            with torch.set_grad_enabled(torch.is_grad_enabled()
                                        and not self.frozen):
                tokens = self._patch_tokens(images)
            region = self._pool(tokens, weights.detach())
            region_embeds = self.clip.visual_projection(
                self._pool(tokens, weights))
        else:
            pix = self._mask(mask_logits, frames, data_samples,
                             self.image_size)
            out = self.clip(pixel_values=images * pix.detach()[:, None])
            tokens = self.clip.vision_model.post_layernorm(
                out.last_hidden_state[:, 1:])
            region = self._pool(tokens, _resize(pix.detach(), self.grid_size))
            region_embeds = out.image_embeds
            if pix.requires_grad:  # a second pass carries the RCC gradient
                region_embeds = self.clip(
                    pixel_values=images * pix[:, None]).image_embeds
        memory = memory + self.proj(region)[:, None]
        return dict(memory=memory, region_embeds=region_embeds)

    def _patch_tokens(self, images: Tensor) -> Tensor:
        """CLIP patch tokens ``[N, g*g, hidden]`` after the final norm."""
        hidden = self.clip.vision_model(pixel_values=images).last_hidden_state
        return self.clip.vision_model.post_layernorm(hidden[:, 1:])

    @staticmethod
    def _pool(tokens: Tensor, weights: Tensor) -> Tensor:
        """Mask-weighted mean of ``tokens`` ``[N, g*g, D]`` -> ``[N, D]``."""
        weights = weights.flatten(1).to(tokens.dtype)
        return (torch.einsum('np,npd->nd', weights, tokens) /
                weights.sum(1, keepdim=True).clamp(min=1e-6))

    def _mask(self, mask_logits: Tensor, frames: Tensor,
              data_samples: Optional[List], size: int) -> Tensor:
        """Soft mask ``[N, size, size]`` in [0, 1], possibly ground truth."""
        probs = _resize(mask_logits.sigmoid(), size)
        prob_gt = self._gt_probability()
        if prob_gt <= 0 or not data_samples or not hasattr(
                data_samples[0], 'gt_sem_seg'):
            return probs
        gt = torch.cat([
            _pad_to(ds.gt_sem_seg.data, frames.shape[-2:])
            for ds in data_samples
        ]).to(probs.device)
        gt = ((gt > 0) & (gt != 255)).to(probs.dtype)
        use_gt = torch.rand(len(probs), device=probs.device) < prob_gt
        return torch.where(use_gt[:, None, None],
                           _resize(gt, size), probs)

    def _gt_probability(self) -> float:
        """Probability of a ground-truth mask at the current iteration."""
        if not self.training or self.gt_mask_schedule is None:
            return 0.
        it = MessageHub.get_current_instance().get_info('iter', 0)
        start = self.gt_mask_schedule.get('start_prob', 1.)
        end_iter = self.gt_mask_schedule['end_iter']
        return start * max(0., 1. - it / end_iter)


def _resize(masks: Tensor, size: int) -> Tensor:
    """Resize ``[N, h, w]`` masks to ``[N, size, size]``.

    Shrinking averages over each target cell (the sounding fraction of a
    patch); enlarging is bilinear.
    """
    shrink = min(masks.shape[-2:]) >= size
    out = F.interpolate(
        masks[:, None].float(), size=(size, size),
        mode='area' if shrink else 'bilinear',
        align_corners=None if shrink else False)
    return out[:, 0].to(masks.dtype)


def _pad_to(masks: Tensor, shape: Sequence[int]) -> Tensor:
    """Zero-pad ``[T, H, W]`` masks at the bottom/right to ``shape``."""
    return F.pad(masks, (0, shape[1] - masks.shape[-1], 0,
                         shape[0] - masks.shape[-2]))
