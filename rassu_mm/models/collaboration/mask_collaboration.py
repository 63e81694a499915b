"""Mask Collaboration Module (MCM): CLIP region features of the masks."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor, nn
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from ..utils.clip_utils import (CLIP_MEAN, CLIP_STD, build_hf_model,
                                load_hf_pretrained)


@MODELS.register_module()
class MaskCollaborationModule(BaseModule):
    """Add CLIP features of the sounding region to the fused memory.

    A CLIP vision encoder (``transformers``, frozen by default) runs once per
    frame and gives a region feature, which is projected to ``embed_dims``
    and added to every token of the fused memory, and the region's CLIP
    image embedding ``region_embeds`` for the region losses.

    - ``mode='masked_image'`` (the paper's MCM, default): the predicted mask
      is applied to the frame. Non-sounding pixels are replaced by the CLIP
      mean colour at the frame's resolution, before any operation that mixes
      pixels (resizing, patch embedding), with the hard mask
      ``sigmoid(mask_logits) > 0.5`` (resized to the frame). CLIP encodes
      the masked frame: the region feature is its final-norm class token,
      ``region_embeds`` its image embedding. Pixels outside the mask
      therefore cannot change either. The hard mask carries a
      straight-through gradient (that of the soft mask), so the region
      losses train the mask head through the frozen CLIP encoder, from the
      activations of the same single CLIP pass.
    - ``mode='pool'`` (cheaper, no mask-dependent CLIP input): CLIP encodes
      the whole frame; its final-norm patch tokens are averaged with the
      soft mask (resized to the patch grid) into the region feature;
      ``region_embeds`` is the CLIP projection of that average (a
      projection CLIP never trained on pooled patch tokens).

    The mask is detached on the memory path (the caption loss does not move
    the masks) but not for ``region_embeds``.

    Args:
        embed_dims (int): channels ``C`` of the fused memory.
        clip (dict, optional): ``CLIPVisionConfig`` keyword arguments
            (e.g. the ViT-B/16 sizes); the encoder is built from them without
            network. Without ``clip``, ``pretrained`` must be a local folder
            whose ``config.json`` gives them.
        pretrained (str, optional): local folder or hub name of a CLIP
            checkpoint (e.g. ``'pretrain/clip-vit-base-patch16'`` or
            ``'openai/clip-vit-base-patch16'``), loaded strictly in
            :meth:`init_weights` (training); a checkpoint of the whole model
            makes it unnecessary for testing and inference.
        frozen (bool): freeze CLIP (no gradients, always eval mode).
            Defaults to True; ``'masked_image'`` needs it (its one CLIP pass
            serves the detached memory path only because CLIP has no
            gradient of its own).
        mode (str): ``'masked_image'`` (encode the masked frame) or
            ``'pool'`` (mask-pool the frame's patch tokens). Defaults to
            ``'masked_image'``.
        mean (Sequence[float]): the data preprocessor's RGB mean (0-255).
        std (Sequence[float]): the data preprocessor's RGB std (0-255).
        gt_mask_schedule (dict, optional): use ground-truth masks early in
            training: each frame takes its ground-truth mask with probability
            ``start_prob * max(0, 1 - iter / end_iter)``. Keys ``start_prob``
            (default 1.0) and ``end_iter``. Defaults to None (never).
        ignore_index (int, optional): label of ignored ground-truth pixels
            (neither sounding nor silent; the mask head's, filled in by
            SSUFormer); ``gt_mask_schedule`` needs it. Defaults to None.
        init_cfg (dict, optional): initialisation of the projection.
    """

    def __init__(self,
                 embed_dims: int,
                 clip: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 frozen: bool = True,
                 mode: str = 'masked_image',
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 gt_mask_schedule: Optional[dict] = None,
                 ignore_index: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if mode not in ('pool', 'masked_image'):
            raise ValueError(f"mode must be 'pool' or 'masked_image', "
                             f'got {mode!r}')
        if mode == 'masked_image' and not frozen:
            raise ValueError("mode='masked_image' needs frozen=True")
        if gt_mask_schedule is not None and ignore_index is None:
            raise ValueError('gt_mask_schedule needs the ignore_index of the '
                             "ground-truth masks (SSUFormer passes its "
                             "decode_head's)")
        self.clip = build_hf_model(CLIPVisionModelWithProjection,
                                   CLIPVisionConfig, clip, pretrained, frozen)
        self.pretrained = pretrained
        self.frozen = frozen
        self.mode = mode
        self.gt_mask_schedule = gt_mask_schedule
        self.ignore_index = ignore_index
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

    def init_weights(self) -> None:
        """Initialise the projection; load the pretrained CLIP strictly."""
        super().init_weights()
        if self.pretrained is not None:
            load_hf_pretrained(self.clip, self.pretrained,
                               f'{type(self).__name__}.pretrained')

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
                data_samples: Optional[SampleList] = None
                ) -> Dict[str, Tensor]:
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
        # per-pixel affine map to CLIP's normalisation (mixes no pixels)
        frames = frames * self.scale + self.shift
        if self.mode == 'pool':
            region, region_embeds = self._pooled_region(
                frames, mask_logits, data_samples)
        else:
            region, region_embeds = self._masked_frame_region(
                frames, mask_logits, data_samples)
        memory = memory + self.proj(region)[:, None]
        return dict(memory=memory, region_embeds=region_embeds)

    def _masked_frame_region(self, frames: Tensor, mask_logits: Tensor,
                             data_samples: Optional[SampleList]
                             ) -> Tuple[Tensor, Tensor]:
        """One CLIP pass on the masked frames ``[N, 3, H, W]`` (CLIP
        normalisation): region feature ``[N, hidden]`` (detached from the
        mask) and image embedding ``[N, D]`` (straight-through gradient)."""
        soft = self._mask(mask_logits, frames, data_samples,
                          frames.shape[-2:])
        # exactly 0/1 (soft - soft.detach() is exactly 0); the gradient is
        # the soft mask's
        mask = (soft > 0.5).to(soft.dtype) + (soft - soft.detach())
        out = self.clip(pixel_values=self._resize_frames(frames *
                                                         mask[:, None]))
        cls_token = self.clip.vision_model.post_layernorm(
            out.last_hidden_state[:, 0])
        return cls_token.detach(), out.image_embeds

    def _pooled_region(self, frames: Tensor, mask_logits: Tensor,
                       data_samples: Optional[SampleList]
                       ) -> Tuple[Tensor, Tensor]:
        """One CLIP pass on the whole frames; the patch tokens averaged with
        the soft mask: region feature ``[N, hidden]`` (mask detached) and
        its CLIP projection ``[N, D]``."""
        weights = self._mask(mask_logits, frames, data_samples,
                             (self.grid_size, self.grid_size))
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.frozen):
            hidden = self.clip.vision_model(
                pixel_values=self._resize_frames(frames)).last_hidden_state
        tokens = self.clip.vision_model.post_layernorm(hidden[:, 1:])
        region = self._pool(tokens, weights.detach())
        return region, self.clip.visual_projection(
            self._pool(tokens, weights))

    def _resize_frames(self, frames: Tensor) -> Tensor:
        """Squash ``[N, 3, H, W]`` to CLIP's square input size."""
        return F.interpolate(
            frames, size=(self.image_size, self.image_size),
            mode='bilinear', align_corners=False)

    @staticmethod
    def _pool(tokens: Tensor, weights: Tensor) -> Tensor:
        """Mask-weighted mean of ``tokens`` ``[N, g*g, D]`` -> ``[N, D]``."""
        weights = weights.flatten(1).to(tokens.dtype)
        return (torch.einsum('np,npd->nd', weights, tokens) /
                weights.sum(1, keepdim=True).clamp(min=1e-6))

    def _mask(self, mask_logits: Tensor, frames: Tensor,
              data_samples: Optional[SampleList],
              size: Sequence[int]) -> Tensor:
        """Soft mask ``[N, *size]`` in [0, 1], possibly ground truth."""
        probs = _resize(mask_logits.sigmoid(), size)
        prob_gt = self._gt_probability()
        if prob_gt <= 0 or not data_samples or not hasattr(
                data_samples[0], 'gt_sem_seg'):
            return probs
        gt = torch.cat([
            _pad_to(ds.gt_sem_seg.data, frames.shape[-2:])
            for ds in data_samples
        ]).to(probs.device)
        gt = ((gt > 0) & (gt != self.ignore_index)).to(probs.dtype)
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


def _resize(masks: Tensor, size: Sequence[int]) -> Tensor:
    """Resize ``[N, h, w]`` masks to ``[N, *size]``.

    Shrinking averages over each target cell (the sounding fraction of a
    patch); enlarging is bilinear.
    """
    size = tuple(size)
    shrink = masks.shape[-2] >= size[0] and masks.shape[-1] >= size[1]
    out = F.interpolate(
        masks[:, None].float(), size=size,
        mode='area' if shrink else 'bilinear',
        align_corners=None if shrink else False)
    return out[:, 0].to(masks.dtype)


def _pad_to(masks: Tensor, shape: Sequence[int]) -> Tensor:
    """Zero-pad ``[T, H, W]`` masks at the bottom/right to ``shape``."""
    return F.pad(masks, (0, shape[1] - masks.shape[-1], 0,
                         shape[0] - masks.shape[-2]))
