"""SSUFormer: audio-visual sound source segmentation (+ optional captions)."""
from collections import OrderedDict
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptSampleList, SampleList
from mmseg.utils import add_prefix
from rassu_mm.utils.class_names import get_metainfo
from ..utils import draw_seeds, rng_stream


@MODELS.register_module()
class SSUFormer(BaseSegmentor):
    """SSUFormer (RA-SSU, TMM 2026).

    Data flow for ``N = B * T`` frames (``docs/data_contract.md``), each
    stage called once, in this order::

        frames [N, 3, H, W] -> backbone -> pixel_decoder
            -> mask feature [N, C, H/4, W/4] + maps [N, C, h_l, w_l]
        audio [N, 1, 96, 64] -> audio_encoder -> query_generator
            -> queries, query_pos [N, Nq, C]
        maps + queries -> fusion (MMI) -> fused maps, fused queries,
            memory and memory_pos [N, L, C]
        -> decode_head (Mask2Former decoder on the fused queries)
            -> class and mask logits -> class scores [N, K, H/4, W/4]
        frames + sounding logits + memory -> mask_collaboration (MCM)
        -> caption_head -> T captions per clip

    Without ``caption_head`` the model is pure audio-visual segmentation.
    Sizes the sub-modules share are filled in here: ``embed_dims``
    everywhere, the pixel decoder's ``num_outs`` as the number of levels of
    MMI and the mask decoder, the data preprocessor's ``mean``/``std`` for
    MCM, the mask head's ``ignore_index`` for MCM and the caption head, and
    the class hierarchy for the caption head. The frames per clip ``T`` are
    taken once per call (:meth:`frames_per_clip`) and passed to MMI and the
    caption head.

    Args:
        backbone (dict): Visual backbone from any registry (``ResNetV1c``,
            ``mmdet.PyramidVisionTransformerV2``, ``MixVisionTransformer``,
            ...), multi-scale outputs from high to low resolution.
        pixel_decoder (dict): ``mmdet.MSDeformAttnPixelDecoder`` or
            :class:`FPNPixelDecoder` with the backbone's ``in_channels``;
            ``feat_channels`` and ``out_channels`` are filled in. The built
            module's ``num_outs`` gives the number of levels.
        audio_encoder (dict): e.g. :class:`VGGish`; must expose
            ``embed_dims``.
        query_generator (dict): e.g. :class:`AudioQueryGenerator`;
            ``in_channels``, ``embed_dims`` and ``num_queries`` are filled in.
        fusion (dict): e.g. :class:`MultiModalityIntegration`;
            ``embed_dims`` is filled in, ``num_levels`` defaults to the
            pixel decoder's ``num_outs``.
        decode_head (dict): :class:`SSUMaskHead`; ``feat_channels``,
            ``out_channels``, ``num_queries`` and
            ``num_transformer_feat_level`` are filled in.
        embed_dims (int): Token size ``C`` of fusion, decoder and memory.
        num_queries (int): Audio query tokens per frame ``Nq``.
        mask_collaboration (dict, optional): Mask collaboration module
            (MCM), called as ``(frames, mask_logits, memory, data_samples)``;
            ``embed_dims``, ``mean``, ``std`` and the mask head's
            ``ignore_index`` are filled in.
        caption_head (dict, optional): Caption head (``loss`` / ``predict``
            on the MCM outputs plus ``memory_pos`` and ``num_frames``);
            ``in_channels`` and the mask head's ``ignore_index`` are filled
            in, and ``classes``, ``super_categories`` and
            ``dataset_names`` unless it sets them.
        class_hierarchy (str | dict, optional): The caption head's class
            hierarchy: a dataset name known to
            :func:`rassu_mm.utils.class_names.get_metainfo` (e.g.
            ``'f-Music'``) or a dict with ``classes``, ``super_categories``
            and ``dataset_name``.
        zero_audio (bool): Replace the audio input by zeros (the audio
            ablation). Defaults to False.
        data_preprocessor (dict, optional): :class:`SSUDataPreprocessor`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 pixel_decoder: ConfigType,
                 audio_encoder: ConfigType,
                 query_generator: ConfigType,
                 fusion: ConfigType,
                 decode_head: ConfigType,
                 embed_dims: int = 256,
                 num_queries: int = 8,
                 mask_collaboration: OptConfigType = None,
                 caption_head: OptConfigType = None,
                 class_hierarchy: Optional[Union[str, dict]] = None,
                 zero_audio: bool = False,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        # mmdet's pixel decoders read nested configs as attributes
        pixel_decoder = ConfigDict(pixel_decoder)
        pixel_decoder.update(feat_channels=embed_dims, out_channels=embed_dims)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        num_levels = self.pixel_decoder.num_outs
        self.audio_encoder = MODELS.build(audio_encoder)
        self.query_generator = MODELS.build(
            dict(
                query_generator,
                in_channels=self.audio_encoder.embed_dims,
                embed_dims=embed_dims,
                num_queries=num_queries))
        self.fusion = MODELS.build(
            {'num_levels': num_levels, **fusion, 'embed_dims': embed_dims})
        self.decode_head = MODELS.build(
            dict(
                decode_head,
                feat_channels=embed_dims,
                out_channels=embed_dims,
                num_queries=num_queries,
                num_transformer_feat_level=num_levels))
        # The optional branches are built from RNG streams of their own, so
        # that a config with or without one of them (an ablation row) gets
        # the same initial weights in every part the rows share.
        branch_seeds = draw_seeds(2)
        self.mask_collaboration = None
        if mask_collaboration is not None:
            mean, std = self.data_preprocessor.rgb_mean_std
            with rng_stream(branch_seeds[0]):
                self.mask_collaboration = MODELS.build(
                    dict(
                        mask_collaboration,
                        embed_dims=embed_dims,
                        mean=mean,
                        std=std,
                        ignore_index=self.decode_head.ignore_index))
        self.caption_head = None
        if caption_head is not None:
            with rng_stream(branch_seeds[1]):
                self.caption_head = MODELS.build({
                    **self._hierarchy_args(class_hierarchy),
                    **caption_head, 'in_channels': embed_dims,
                    'ignore_index': self.decode_head.ignore_index
                })
        self.zero_audio = zero_audio

    @staticmethod
    def _hierarchy_args(class_hierarchy: Optional[Union[str, dict]]) -> dict:
        """Caption head arguments of a class hierarchy (see ``__init__``)."""
        if class_hierarchy is None:
            return dict()
        meta = get_metainfo(class_hierarchy) if isinstance(
            class_hierarchy, str) else class_hierarchy
        return dict(
            classes=list(meta['classes']),
            super_categories={
                k: list(v)
                for k, v in meta['super_categories'].items()
            },
            dataset_names=[meta['dataset_name']])

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

    def fuse(self, inputs: dict, num_frames: int) -> dict:
        """Backbone, pixel decoder, audio queries and MMI.

        Args:
            inputs (dict): ``frames`` ``[N, 3, H, W]`` and ``audio``
                ``[N, 1, 96, 64]``, preprocessed.
            num_frames (int): Frames per clip ``T``.

        Returns:
            dict: The fusion outputs (:class:`MultiModalityIntegration`):
            ``mask_features``, ``feats``, ``queries``, ``query_pos`` for the
            mask decoder, ``memory`` and ``memory_pos`` ``[N, L, C]`` for
            the caption branch.
        """
        mask_features, feats = self.pixel_decoder(
            self.extract_feat(inputs['frames']))
        queries, query_pos = self.query_generator(
            self.encode_audio(inputs['audio']))
        return self.fusion(mask_features, feats, queries, query_pos,
                           num_frames)

    @staticmethod
    def frames_per_clip(inputs: dict, data_samples: OptSampleList) -> int:
        """``T`` of the ``N = B * T`` frames of ``inputs`` (all ``N`` without
        data samples: one clip); the data preprocessor checked that the
        clips have one length."""
        num = len(inputs['frames'])
        return num // len(data_samples) if data_samples else num

    def decode(self, inputs: dict, num_frames: int) -> Tuple[dict, tuple]:
        """Fuse and run the mask decoder once.

        Args:
            inputs (dict): ``frames`` and ``audio`` (see :meth:`fuse`).
            num_frames (int): Frames per clip ``T``
                (:meth:`frames_per_clip`).

        Returns:
            tuple: the :meth:`fuse` dict and the decoder's outputs (class
            logits and mask logits of every layer, ``SSUMaskHead.forward``).
        """
        fused = self.fuse(inputs, num_frames)
        return fused, self.decode_head(fused)

    def caption_inputs(self, frames: Tensor, fused: dict, seg_scores: Tensor,
                       data_samples: OptSampleList, num_frames: int) -> dict:
        """Inputs of the caption head (``docs/data_contract.md``).

        Args:
            frames (Tensor): ``[N, 3, H, W]`` preprocessed frames.
            fused (dict): The :meth:`fuse` outputs.
            seg_scores (Tensor): ``[N, K, h, w]`` class scores.
            data_samples (list[SSUDataSample], optional): The ``B`` clips.
            num_frames (int): Frames per clip ``T``.

        Returns:
            dict: the mask collaboration outputs (``memory`` ``[N, L, C]``,
            ``region_embeds`` ``[N, D]`` or None, ...) plus ``memory_pos``
            ``[N, L, C]`` and ``num_frames``.
        """
        memory = fused['memory']
        if self.mask_collaboration is None:
            outs = dict(memory=memory, region_embeds=None)
        else:
            # MCM detaches the mask on its memory path itself
            mask_logits = self.decode_head.scores_to_logits(seg_scores)
            outs = self.mask_collaboration(frames, mask_logits, memory,
                                           data_samples)
        return dict(
            outs, memory_pos=fused['memory_pos'], num_frames=num_frames)

    def loss(self, inputs: dict, data_samples: SampleList) -> dict:
        """Mask losses (``decode.*``) and, with a caption branch, caption
        losses.

        Args:
            inputs (dict): ``frames`` ``[N, 3, H, W]``, ``audio``
                ``[N, 1, 96, 64]``.
            data_samples (list[SSUDataSample]): ``B`` clips whose
                ``gt_sem_seg`` is ``[T, H, W]``.
        """
        num_frames = self.frames_per_clip(inputs, data_samples)
        fused, head_outs = self.decode(inputs, num_frames)
        losses = add_prefix(
            self.decode_head.loss(head_outs, data_samples), 'decode')
        if self.with_caption:
            seg_scores = self.decode_head.predict(head_outs)
            losses.update(
                self.caption_head.loss(
                    self.caption_inputs(inputs['frames'], fused, seg_scores,
                                        data_samples, num_frames),
                    data_samples))
        return losses

    def parse_losses(self, losses: dict) -> Tuple[Tensor, dict]:
        """``BaseModel.parse_losses`` with the logged values copied to the
        host at once (MMEngine's logging would read each term from the
        device with a host sync of its own).

        Returns:
            tuple: the summed loss (a tensor, for the backward pass) and
            the log variables (``loss`` first, then each term; 0-d float
            tensors on the host).
        """
        loss, log_vars = super().parse_losses(losses)
        values = torch.stack([
            value.detach().float().reshape(()) for value in log_vars.values()
        ]).cpu().unbind()
        return loss, OrderedDict(zip(log_vars, values))

    def predict(self, inputs: dict, data_samples: SampleList) -> SampleList:
        """Per-frame masks (and captions) at the original frame size.

        Returns:
            list[SSUDataSample]: the ``B`` clips with ``seg_logits``
            ``[T, H0, W0]`` float, ``pred_sem_seg`` ``[T, H0, W0]`` long
            and, with a caption branch, ``pred_captions`` (``T`` strings).
        """
        num_frames = self.frames_per_clip(inputs, data_samples)
        fused, head_outs = self.decode(inputs, num_frames)
        seg_scores = self.decode_head.predict(head_outs)
        if self.with_caption:
            captions = self.caption_head.predict(
                self.caption_inputs(inputs['frames'], fused, seg_scores,
                                    data_samples, num_frames), data_samples)
            for sample, clip_captions in zip(data_samples, captions):
                sample.pred_captions = clip_captions
        return self.postprocess_result(seg_scores, data_samples)

    def _forward(self,
                 inputs: dict,
                 data_samples: OptSampleList = None,
                 caption_length: int = 0) -> Tuple[Tensor, ...]:
        """Tensor mode (FLOPs counting, export).

        By default (``caption_length=0``) only the segmentation path runs,
        so the outputs are plain tensors of fixed shape. With
        ``caption_length > 0`` the caption branch runs too: MCM on the
        predicted masks and one teacher-forced pass of the caption decoder
        over ``caption_length`` positions (BOS, then PAD), which costs as
        much as generating ``caption_length`` tokens with the key/value
        cache. The prompts come from the caption head's classifier, as in
        :meth:`predict`.

        Args:
            inputs (dict): ``frames`` ``[N, 3, H, W]`` and ``audio``
                ``[N, 1, 96, 64]``, preprocessed.
            data_samples (list[SSUDataSample], optional): the ``B`` clips
                (without them the ``N`` frames are taken as one clip).
            caption_length (int): decoder positions of the caption pass
                (0: no caption branch). Defaults to 0.

        Returns:
            tuple[Tensor]: class scores ``[N, K, H/4, W/4]``, the fused
            memory ``[N, L, C]`` and, with ``caption_length > 0``, the
            caption logits ``[N, caption_length, V]``.
        """
        num_frames = self.frames_per_clip(inputs, data_samples)
        fused, head_outs = self.decode(inputs, num_frames)
        seg_scores = self.decode_head.predict(head_outs)
        outs = (seg_scores, fused['memory'])
        if caption_length > 0:
            if not self.with_caption:
                raise ValueError('caption_length > 0 needs a caption_head')
            caption_inputs = self.caption_inputs(inputs['frames'], fused,
                                                 seg_scores, data_samples,
                                                 num_frames)
            outs += (self.caption_head.forward_teacher_forced(
                caption_inputs, caption_length, data_samples), )
        return outs

    def encode_decode(self, inputs: dict, batch_data_samples: list) -> Tensor:
        """Not supported (``BaseSegmentor`` declares it): MMI and the caption
        head group the ``N`` frames into clips, which mmseg's image-wise
        ``encode_decode`` does not know about. Use ``mode='predict'``
        (:meth:`predict`) or ``mode='tensor'`` (:meth:`_forward`)."""
        raise NotImplementedError(
            'SSUFormer does not support encode_decode (it works on clips of '
            "frames): use mode='predict' or mode='tensor'")

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
        for sample, clip in zip(data_samples,
                                seg_scores.chunk(len(data_samples))):
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

