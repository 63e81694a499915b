"""SSUMaskHead: a Mask2Former decoder driven by audio query tokens."""
import copy
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.dense_heads import AnchorFreeHead, Mask2FormerHead
from mmdet.models.layers import (Mask2FormerTransformerDecoder,
                                 SinePositionalEncoding)
from mmengine.structures import InstanceData
from torch import Tensor

from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import SampleList

HeadOutputs = Tuple[List[Tensor], List[Tensor]]


@MODELS.register_module()
class SSUMaskHead(Mask2FormerHead):
    """Mask2Former-style sound source mask head.

    The pixel decoder, the masked-attention transformer decoder, the
    per-layer prediction, Hungarian matching and the point-sampled losses
    are mmdet's Mask2Former parts. Differences: the decoder queries are the
    fused audio query tokens from the segmentor (one set per frame) instead
    of learnable embeddings, and targets come from semantic label maps as
    in mmseg's ``Mask2FormerHead`` (one target mask per class present in a
    frame, background included).

    The segmentor builds the pixel decoder and the fusion (MMI) itself; this
    head reads their outputs: the mask feature, the fused multi-scale maps
    and the fused query tokens.

    Segmentation modes: ``num_classes=2`` is binary (0 silent, 1 sounding);
    ``num_classes=C + 1`` is semantic (0 background, ``1..C`` classes).

    Frames without ground truth (every pixel ``ignore_index``, e.g. the
    unannotated frames of AVSBench S4 clips) are left out of every loss of
    every decoder layer: they have no target to match, so training them as
    "no object" for all queries would teach the model that nothing sounds.

    Args:
        feat_channels (int): Channels of the fused maps and the transformer
            decoder (the segmentor's ``embed_dims``).
        out_channels (int): Channels of the mask feature.
        num_classes (int): Classes including background (see above).
        num_queries (int): Query tokens per frame.
        num_transformer_feat_level (int): Fused maps the transformer
            decoder cycles through (the pixel decoder's ``num_outs``).
            Defaults to 3.
        transformer_decoder (dict): ``Mask2FormerTransformerDecoder`` kwargs.
        loss_cls (dict): Query classification loss; its ``class_weight``
            has ``num_classes + 1`` entries (last: no object) and defaults
            to 1 for every class and 0.1 for no object.
        loss_mask (dict): Point-wise mask loss (sigmoid focal by default).
        loss_dice (dict): Dice loss.
        ignore_index (int): Label ignored in targets. Defaults to 255.
        train_cfg (dict): ``assigner``, ``sampler``, ``num_points``,
            ``oversample_ratio``, ``importance_sample_ratio``.
    """

    def __init__(self,
                 feat_channels: int,
                 out_channels: int,
                 num_classes: int = 2,
                 num_queries: int = 8,
                 num_transformer_feat_level: int = 3,
                 transformer_decoder: dict = dict(
                     num_layers=3,
                     layer_cfg=dict(
                         self_attn_cfg=dict(
                             num_heads=8, dropout=0.0, batch_first=True),
                         cross_attn_cfg=dict(
                             num_heads=8, dropout=0.0, batch_first=True),
                         ffn_cfg=dict(feedforward_channels=1024,
                                      ffn_drop=0.0))),
                 loss_cls: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=2.0,
                     reduction='mean'),
                 loss_mask: dict = dict(
                     type='mmdet.FocalLoss',
                     use_sigmoid=True,
                     gamma=2.0,
                     alpha=0.25,
                     reduction='mean',
                     loss_weight=20.0),
                 loss_dice: dict = dict(
                     type='mmdet.DiceLoss',
                     use_sigmoid=True,
                     activate=True,
                     reduction='mean',
                     naive_dice=True,
                     eps=1.0,
                     loss_weight=5.0),
                 ignore_index: int = 255,
                 train_cfg: dict = dict(
                     num_points=12544,
                     oversample_ratio=3.0,
                     importance_sample_ratio=0.75,
                     assigner=dict(
                         type='mmdet.HungarianAssigner',
                         match_costs=[
                             dict(type='mmdet.ClassificationCost', weight=2.0),
                             dict(
                                 type='mmdet.FocalLossCost',
                                 weight=20.0,
                                 binary_input=True),
                             dict(
                                 type='mmdet.DiceCost',
                                 weight=5.0,
                                 pred_act=True,
                                 eps=1.0)
                         ]),
                     sampler=dict(type='mmdet.MaskPseudoSampler')),
                 init_cfg: Optional[dict] = None) -> None:
        # Mask2FormerHead.__init__ builds learnable queries and a pixel
        # decoder; build only the parts used here.
        super(AnchorFreeHead, self).__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.num_queries = num_queries
        self.ignore_index = ignore_index
        self.num_transformer_feat_level = num_transformer_feat_level

        transformer_decoder = copy.deepcopy(transformer_decoder)
        layer_cfg = transformer_decoder['layer_cfg']
        for key in ('self_attn_cfg', 'cross_attn_cfg', 'ffn_cfg'):
            layer_cfg[key]['embed_dims'] = feat_channels
        self.num_heads = layer_cfg['cross_attn_cfg']['num_heads']
        self.transformer_decoder = Mask2FormerTransformerDecoder(
            **transformer_decoder)
        self.decoder_positional_encoding = SinePositionalEncoding(
            feat_channels // 2, normalize=True)
        # from low to high resolution
        self.level_embed = nn.Embedding(num_transformer_feat_level,
                                        feat_channels)
        self.cls_embed = nn.Linear(feat_channels, num_classes + 1)
        self.mask_embed = nn.Sequential(
            nn.Linear(feat_channels, feat_channels), nn.ReLU(inplace=True),
            nn.Linear(feat_channels, feat_channels), nn.ReLU(inplace=True),
            nn.Linear(feat_channels, out_channels))

        self.assigner = TASK_UTILS.build(train_cfg['assigner'])
        self.sampler = TASK_UTILS.build(
            train_cfg['sampler'], default_args=dict(context=self))
        self.num_points = train_cfg.get('num_points', 12544)
        self.oversample_ratio = train_cfg.get('oversample_ratio', 3.0)
        self.importance_sample_ratio = train_cfg.get('importance_sample_ratio',
                                                     0.75)

        loss_cls = dict(loss_cls)
        loss_cls.setdefault('class_weight', [1.0] * num_classes + [0.1])
        assert len(loss_cls['class_weight']) == num_classes + 1, \
            'loss_cls.class_weight needs num_classes + 1 entries'
        self.class_weight = loss_cls['class_weight']
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)

    def init_weights(self) -> None:
        """As Mask2FormerHead, which has input projections besides."""
        for p in self.transformer_decoder.parameters():
            if p.dim() > 1:
                nn.init.xavier_normal_(p)

    def forward(self, x: dict) -> HeadOutputs:
        """Run the masked-attention decoder on the fused query tokens.

        Args:
            x (dict): The fusion outputs: ``mask_features``
                ``[N, out_channels, H/4, W/4]``, ``feats``
                (``num_transformer_feat_level`` fused maps
                ``[N, C, h_i, w_i]``, low to high resolution), ``queries``
                and ``query_pos`` ``[N, Nq, C]``.

        Returns:
            tuple[list[Tensor]]: Class logits ``[N, Nq, num_classes + 1]``
            and mask logits ``[N, Nq, H/4, W/4]``, one of each before the
            first decoder layer and after every layer.
        """
        feats, queries = x['feats'], x['queries']
        keys, key_pos = [], []
        for i, feat in enumerate(feats):
            keys.append(
                feat.flatten(2).transpose(1, 2) +
                self.level_embed.weight[i].view(1, 1, -1))
            mask = feat.new_zeros(
                (feat.shape[0], ) + feat.shape[-2:], dtype=torch.bool)
            key_pos.append(
                self.decoder_positional_encoding(mask).flatten(2).transpose(
                    1, 2))

        cls_pred, mask_pred, attn_mask = self._forward_head(
            queries, x['mask_features'], feats[0].shape[-2:])
        cls_preds, mask_preds = [cls_pred], [mask_pred]
        for i, layer in enumerate(self.transformer_decoder.layers):
            level = i % self.num_transformer_feat_level
            # a query that masks out everything attends everywhere instead
            attn_mask[attn_mask.all(-1)] = False
            queries = layer(
                query=queries,
                key=keys[level],
                value=keys[level],
                query_pos=x['query_pos'],
                key_pos=key_pos[level],
                cross_attn_mask=attn_mask)
            next_level = (i + 1) % self.num_transformer_feat_level
            cls_pred, mask_pred, attn_mask = self._forward_head(
                queries, x['mask_features'], feats[next_level].shape[-2:])
            cls_preds.append(cls_pred)
            mask_preds.append(mask_pred)
        return cls_preds, mask_preds

    def loss(self, outs: HeadOutputs, data_samples: SampleList) -> dict:
        """Hungarian-matched class, focal and dice losses of every layer.

        Frames whose label map is all ``ignore_index`` are dropped from the
        predictions of every layer before matching, so they add nothing to
        any loss and get no gradient; the losses equal those of a batch of
        the other frames. If no frame has ground truth the losses are zero.

        Args:
            outs (tuple): The outputs of :meth:`forward` (the segmentor runs
                it once and reuses them for the caption branch).
            data_samples (list[SSUDataSample]): The ``B`` clips; their
                ``gt_sem_seg`` ``[T, H, W]`` (any size; masks are compared
                at sampled points) give the targets of the ``N = B * T``
                frames.

        Returns:
            dict: ``loss_cls``, ``loss_mask``, ``loss_dice`` and
            ``d{i}.loss_*`` of the intermediate layers.
        """
        gt_sem_seg = torch.cat([s.gt_sem_seg.data for s in data_samples])
        has_gt = (gt_sem_seg != self.ignore_index).flatten(1).any(1)
        # without any ground truth: zero losses that keep the graph whole
        keep = has_gt.nonzero()[:, 0] if has_gt.any() else \
            torch.arange(len(has_gt), device=has_gt.device)
        all_cls_scores, all_mask_preds = ([p[keep] for p in preds]
                                          for preds in outs)
        gt_instances = [self._sem_seg_to_instances(gt_sem_seg[i]) for i in keep]
        losses = self.loss_by_feat(all_cls_scores, all_mask_preds,
                                   gt_instances, [dict() for _ in keep])
        if not has_gt.any():
            losses = {name: value * 0 for name, value in losses.items()}
        return losses

    def predict(self, outs: HeadOutputs) -> Tensor:
        """Semantic class scores of the last layer (MaskFormer inference).

        Args:
            outs (tuple): The outputs of :meth:`forward`.

        Returns:
            Tensor: ``[N, num_classes, H/4, W/4]``, ``sum_q p_q(c) *
            sigmoid(mask_q)``.
        """
        all_cls_scores, all_mask_preds = outs
        cls_score = F.softmax(all_cls_scores[-1], dim=-1)[..., :-1]
        return torch.einsum('nqc,nqhw->nchw', cls_score,
                            all_mask_preds[-1].sigmoid())

    @staticmethod
    def scores_to_logits(scores: Tensor, eps: float = 1e-6) -> Tensor:
        """Class scores ``[N, K, H, W]`` -> "sounding" logit ``[N, H, W]``,
        ``log(P(not background) / P(background))``."""
        background = scores[:, 0].clamp(min=eps)
        sounding = scores[:, 1:].sum(1).clamp(min=eps)
        return sounding.log() - background.log()

    def _sem_seg_to_instances(self, gt_sem_seg: Tensor) -> InstanceData:
        """``[H, W]`` label map -> one binary mask per present class."""
        labels = torch.unique(gt_sem_seg)
        labels = labels[labels != self.ignore_index]
        masks = (gt_sem_seg[None] == labels[:, None, None]).long()
        return InstanceData(labels=labels, masks=masks)
