"""SSUFormer: audio-visual sound source segmentation (+ optional captions)."""
import copy
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import add_prefix


@MODELS.register_module()
class SSUFormer(BaseSegmentor):
    """SSUFormer (RA-SSU, TMM 2026).

    Data flow for ``N = B * T`` frames (``docs/data_contract.md``)::

        frames [N, 3, H, W] -> backbone -> pixel decoder -> multi-scale maps
        audio [N, 1, 96, 64] -> audio_encoder -> query_generator -> queries
        coarsest map + queries -> fusion (MMI) -> memory [N, h*w + Nq, C]
        -> decode_head (Mask2Former decoder on the fused queries) -> masks
        memory + mask logits -> neck (MCM) -> caption_head -> captions

    Without ``caption_head`` the model is pure audio-visual segmentation.

    Args:
        backbone (dict): Visual backbone from any registry (``ResNetV1c``,
            ``mmdet.PyramidVisionTransformerV2``, ``MixVisionTransformer``,
            ...), multi-scale outputs from high to low resolution.
        audio_encoder (dict): e.g. :class:`VGGish`; must expose
            ``embed_dims``.
        query_generator (dict): e.g. :class:`AudioQueryGenerator`;
            ``in_channels``, ``embed_dims`` and ``num_queries`` are filled in.
        fusion (dict): e.g. :class:`MultiModalityIntegration`;
            ``embed_dims`` is filled in.
        decode_head (dict): :class:`SSUMaskHead`; ``feat_channels``,
            ``out_channels`` and ``num_queries`` are filled in.
        embed_dims (int): Token size ``C`` of fusion, decoder and memory.
        num_queries (int): Audio query tokens per frame ``Nq``.
        neck (dict, optional): Mask collaboration module
            (``neck(frames, mask_logits, memory, data_samples)``).
        caption_head (dict, optional): Caption head (``loss`` /
            ``predict`` on the neck outputs).
        zero_audio (bool): Replace the audio input by zeros (the audio
            ablation). Defaults to False.
        data_preprocessor (dict, optional): :class:`SSUDataPreprocessor`.
    """

    def __init__(self,
                 backbone: dict,
                 audio_encoder: dict,
                 query_generator: dict,
                 fusion: dict,
                 decode_head: dict,
                 embed_dims: int = 256,
                 num_queries: int = 8,
                 neck: Optional[dict] = None,
                 caption_head: Optional[dict] = None,
                 zero_audio: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.audio_encoder = MODELS.build(audio_encoder)
        self.query_generator = MODELS.build(
            dict(
                query_generator,
                in_channels=self.audio_encoder.embed_dims,
                embed_dims=embed_dims,
                num_queries=num_queries))
        self.fusion = MODELS.build(dict(fusion, embed_dims=embed_dims))
        self.decode_head = MODELS.build(
            dict(
                copy.deepcopy(decode_head),
                feat_channels=embed_dims,
                out_channels=embed_dims,
                num_queries=num_queries))
        self.neck = MODELS.build(neck) if neck is not None else None
        self.caption_head = MODELS.build(caption_head) \
            if caption_head is not None else None
        self.zero_audio = zero_audio

    @property
    def with_caption(self) -> bool:
        """Whether the model has a caption branch."""
        return self.caption_head is not None

    def extract_feat(self, frames: Tensor) -> List[Tensor]:
        """``[N, 3, H, W]`` -> backbone maps, high to low resolution."""
        return list(self.backbone(frames))

    def encode_audio(self, audio: Tensor) -> Tensor:
        """``[N, 1, 96, 64]`` log-mel -> ``[N, Da]`` embeddings."""
        if self.zero_audio:
            audio = torch.zeros_like(audio)
        return self.audio_encoder(audio)

    def fuse(self, frames: Tensor, audio: Tensor) -> dict:
        """Build the fused audio-visual memory and the mask decoder inputs.

        The coarsest pixel-decoder map ``[N, C, h, w]`` and the audio query
        tokens ``[N, Nq, C]`` go through MMI. The fused visual tokens
        replace that map for the transformer decoder and, upsampled, gate
        the mask feature; the fused query tokens drive the decoder.

        Args:
            frames (Tensor): ``[N, 3, H, W]`` preprocessed frames.
            audio (Tensor): ``[N, 1, 96, 64]`` log-mel windows.

        Returns:
            dict: ``memory`` ``[N, h*w + Nq, C]`` (fused visual tokens, then
            fused query tokens), ``mask_features`` ``[N, C, H/4, W/4]``,
            ``multi_scale_feats`` (low to high resolution), ``queries`` and
            ``query_pos`` ``[N, Nq, C]``.
        """
        feats = self.extract_feat(frames)
        mask_features, multi_scale = self.decode_head.pixel_decoder(feats)
        queries, query_pos = self.query_generator(self.encode_audio(audio))
        video, queries = self.fusion(multi_scale[0], queries, query_pos)
        video_map = video.transpose(1, 2).reshape(multi_scale[0].shape)
        gate = F.interpolate(
            video_map,
            size=mask_features.shape[-2:],
            mode='bilinear',
            align_corners=False).sigmoid()
        return dict(
            memory=torch.cat([video, queries], dim=1),
            mask_features=mask_features + mask_features * gate,
            multi_scale_feats=[video_map] + list(multi_scale[1:]),
            queries=queries,
            query_pos=query_pos)

    def decode(self, inputs: dict) -> Tuple[dict, List[Tensor], List[Tensor]]:
        """Fuse and run the mask decoder.

        Returns:
            tuple: the :meth:`fuse` dict, then the decoder's class logits
            and mask logits of every layer (see ``SSUMaskHead.forward``).
        """
        fused = self.fuse(inputs['frames'], inputs['audio'])
        all_cls_scores, all_mask_preds = self.decode_head(
            fused['mask_features'], fused['multi_scale_feats'],
            fused['queries'], fused['query_pos'])
        return fused, all_cls_scores, all_mask_preds

    def caption_inputs(self, frames: Tensor, mask_logits: Tensor,
                       memory: Tensor, data_samples: list) -> dict:
        """Inputs of the caption head (``docs/data_contract.md``).

        Args:
            frames (Tensor): ``[N, 3, H, W]`` preprocessed frames.
            mask_logits (Tensor): ``[N, h, w]`` "sounding" logits.
            memory (Tensor): ``[N, L, C]`` fused memory.
            data_samples (list[SSUDataSample]): The ``B`` clips.

        Returns:
            dict: ``memory`` ``[N, L, C]`` and ``region_embeds``
            (``[N, D]`` or None).
        """
        if self.with_neck:
            # the neck detaches the mask on its memory path itself
            return self.neck(frames, mask_logits, memory, data_samples)
        return dict(memory=memory, region_embeds=None)

    def loss(self, inputs: dict, data_samples: list) -> dict:
        """Mask losses (``decode.*``) and, with a caption branch, caption
        losses.

        Args:
            inputs (dict): ``frames`` ``[N, 3, H, W]``, ``audio``
                ``[N, 1, 96, 64]``.
            data_samples (list[SSUDataSample]): ``B`` clips whose
                ``gt_sem_seg`` is ``[T, H, W]``.
        """
        fused, all_cls_scores, all_mask_preds = self.decode(inputs)
        gt_sem_seg = torch.cat([s.gt_sem_seg.data for s in data_samples])
        losses = add_prefix(
            self.decode_head.loss(all_cls_scores, all_mask_preds, gt_sem_seg),
            'decode')
        if self.with_caption:
            mask_logits = self.decode_head.scores_to_logits(
                self.decode_head.predict(all_cls_scores, all_mask_preds))
            losses.update(
                self.caption_head.loss(
                    self.caption_inputs(inputs['frames'], mask_logits,
                                        fused['memory'], data_samples),
                    data_samples))
        return losses

    def predict(self, inputs: dict, data_samples: list) -> list:
        """Per-frame masks (and captions) at the original frame size.

        Returns:
            list[SSUDataSample]: the ``B`` clips with ``seg_logits``
            ``[T, H0, W0]`` float, ``pred_sem_seg`` ``[T, H0, W0]`` long
            and, with a caption branch, ``pred_captions`` (``T`` strings).
        """
        fused, all_cls_scores, all_mask_preds = self.decode(inputs)
        seg_scores = self.decode_head.predict(all_cls_scores, all_mask_preds)
        if self.with_caption:
            mask_logits = self.decode_head.scores_to_logits(seg_scores)
            captions = self.caption_head.predict(
                self.caption_inputs(inputs['frames'], mask_logits,
                                    fused['memory'], data_samples),
                data_samples)
            for sample, clip_captions in zip(data_samples, captions):
                sample.pred_captions = clip_captions
        return self.postprocess_result(seg_scores, data_samples)

    def _forward(self,
                 inputs: dict,
                 data_samples: Optional[list] = None,
                 caption_length: int = 0) -> Tuple[Tensor, ...]:
        """Tensor mode (FLOPs counting, export).

        By default (``caption_length=0``) only the segmentation path runs,
        so the outputs are plain tensors of fixed shape. With
        ``caption_length > 0`` the caption branch runs too: the neck (MCM)
        on the predicted masks and one teacher-forced pass of the caption
        decoder over ``caption_length`` positions (BOS, then PAD), which
        costs as much as generating ``caption_length`` tokens with the
        key/value cache. The prompts come from the caption head's
        classifier, as in :meth:`predict`.

        Args:
            inputs (dict): ``frames`` ``[N, 3, H, W]`` and ``audio``
                ``[N, 1, 96, 64]``, preprocessed.
            data_samples (list[SSUDataSample], optional): the ``B`` clips
                (only used by the caption branch, which needs ``B``; without
                them the ``N`` frames are taken as one clip).
            caption_length (int): decoder positions of the caption pass
                (0: no caption branch). Defaults to 0.

        Returns:
            tuple[Tensor]: class scores ``[N, K, H/4, W/4]``, the fused
            memory ``[N, L, C]`` and, with ``caption_length > 0``, the
            caption logits ``[N, caption_length, V]``.
        """
        fused, all_cls_scores, all_mask_preds = self.decode(inputs)
        seg_scores = self.decode_head.predict(all_cls_scores, all_mask_preds)
        outs = (seg_scores, fused['memory'])
        if caption_length > 0:
            if not self.with_caption:
                raise ValueError('caption_length > 0 needs a caption_head')
            outs += (self._forward_caption(inputs['frames'], seg_scores,
                                           fused['memory'], data_samples,
                                           caption_length), )
        return outs

    def _forward_caption(self, frames: Tensor, seg_scores: Tensor,
                         memory: Tensor, data_samples: Optional[list],
                         caption_length: int) -> Tensor:
        """Caption branch in tensor mode: neck + one teacher-forced decoder
        pass. Returns the caption logits ``[N, caption_length, V]``."""
        mask_logits = self.decode_head.scores_to_logits(seg_scores)
        neck_outs = self.caption_inputs(frames, mask_logits, memory,
                                        data_samples)
        tok = self.caption_head.tokenizer
        input_ids = torch.full((len(memory), caption_length),
                               tok.pad_id,
                               dtype=torch.long,
                               device=memory.device)
        input_ids[:, 0] = tok.bos_id
        return self.caption_head.forward_teacher_forced(
            neck_outs, input_ids, data_samples)

    def encode_decode(self, inputs: dict, batch_data_samples: list) -> Tensor:
        """Class scores ``[N, K, H, W]`` at the (padded) input size."""
        seg_scores = self._forward(inputs)[0]
        return F.interpolate(
            seg_scores,
            size=inputs['frames'].shape[-2:],
            mode='bilinear',
            align_corners=False)

    def postprocess_result(self, seg_scores: Tensor,
                           data_samples: list) -> list:
        """Undo padding, flipping and resizing, clip by clip.

        Args:
            seg_scores (Tensor): ``[B*T, K, h, w]`` class scores on the
                padded frames (``pad_shape``).
            data_samples (list[SSUDataSample]): The ``B`` clips.

        Returns:
            list[SSUDataSample]: with ``seg_logits`` and ``pred_sem_seg``
            ``[T, H0, W0]`` at each clip's ``ori_shape``.
        """
        num_frames = seg_scores.shape[0] // len(data_samples)
        for b, sample in enumerate(data_samples):
            clip = seg_scores[b * num_frames:(b + 1) * num_frames]
            clip = torch.stack(
                [self._to_original(frame, sample.metainfo) for frame in clip])
            sample.seg_logits = PixelData(
                data=self.decode_head.scores_to_logits(clip))
            sample.pred_sem_seg = PixelData(data=clip.argmax(dim=1))
        return data_samples

    @staticmethod
    def _to_original(scores: Tensor, meta: dict) -> Tensor:
        """``[K, h, w]`` on the padded frame -> ``[K, H0, W0]``."""
        scores = F.interpolate(
            scores[None],
            size=meta['pad_shape'],
            mode='bilinear',
            align_corners=False)
        height, width = meta['img_shape']
        scores = scores[..., :height, :width]
        if meta.get('flip', False):
            dim = 3 if meta['flip_direction'] == 'horizontal' else 2
            scores = scores.flip(dims=(dim, ))
        return F.interpolate(
            scores,
            size=meta['ori_shape'],
            mode='bilinear',
            align_corners=False)[0]
