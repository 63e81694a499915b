"""SSUMaskHead: a Mask2Former decoder driven by audio query tokens."""
import copy
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import point_sample
from mmdet.models.dense_heads import AnchorFreeHead, Mask2FormerHead
from mmdet.models.layers import (Mask2FormerTransformerDecoder,
                                 SinePositionalEncoding)
from mmdet.utils import reduce_mean
from torch import Tensor

from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import SampleList
from ..task_modules import BatchedHungarianAssigner
from ..task_modules.batched_hungarian_assigner import Matches

HeadOutputs = Tuple[List[Tensor], List[Tensor]]


class _FrameClasses(NamedTuple):
    """Host-side ground truth of a batch (:meth:`SSUMaskHead.loss`)."""
    has_gt: bool  # whether any frame has ground truth
    keep: np.ndarray  # [F] frames in the losses
    labels: np.ndarray  # [F, G] present classes, ascending, padded with K
    num_gts: np.ndarray  # [F] classes present in each kept frame


def _to_device(device: torch.device, *arrays) -> List[Tensor]:
    """Integer host arrays as int64 tensors on ``device``, in one copy
    that does not block the host (pinned memory on CUDA)."""
    arrays = [np.asarray(a, dtype=np.int64) for a in arrays]
    flat = torch.from_numpy(np.concatenate([a.ravel() for a in arrays]))
    if device.type == 'cuda':
        flat = flat.pin_memory()
    flat = flat.to(device, non_blocking=True)
    return [
        t.view(a.shape)
        for t, a in zip(flat.split([a.size for a in arrays]), arrays)
    ]


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
        train_cfg (dict): ``assigner`` (a :class:`BatchedHungarianAssigner`
            config), ``num_points``, ``oversample_ratio``,
            ``importance_sample_ratio``.
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
                         type='BatchedHungarianAssigner',
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
                         ])),
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
        if not isinstance(self.assigner, BatchedHungarianAssigner):
            raise TypeError('SSUMaskHead matches all frames and layers at '
                            'once: train_cfg.assigner must be a '
                            'BatchedHungarianAssigner (same match_costs as '
                            f'mmdet.HungarianAssigner), got {self.assigner}')
        self.num_points = train_cfg.get('num_points', 12544)
        self.oversample_ratio = train_cfg.get('oversample_ratio', 3.0)
        self.importance_sample_ratio = train_cfg.get('importance_sample_ratio',
                                                     0.75)

        loss_cls = dict(loss_cls)
        loss_cls.setdefault('class_weight', [1.0] * num_classes + [0.1])
        assert len(loss_cls['class_weight']) == num_classes + 1, \
            'loss_cls.class_weight needs num_classes + 1 entries'
        # passed to loss_cls as per-query weights (see _losses)
        self.register_buffer(
            'class_weight',
            torch.tensor(loss_cls.pop('class_weight')),
            persistent=False)
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
            attn_mask = attn_mask & ~attn_mask.all(-1, keepdim=True)
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

        The losses of mmdet's ``Mask2FormerHead.loss_by_feat`` (same
        values, same random points for the same seed), with the targets of
        all frames and layers built at once: one batched cost computation,
        one matching call (:class:`BatchedHungarianAssigner`) and two
        device-to-host copies in all (the classes present in each frame,
        the cost matrices).

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
        gts = self._frame_classes(gt_sem_seg)
        cls_scores, mask_preds = (torch.stack(p) for p in outs)
        keep, labels, num_gts = _to_device(gt_sem_seg.device, gts.keep,
                                           gts.labels, gts.num_gts)
        if len(gts.keep) < len(gt_sem_seg):
            cls_scores, mask_preds = cls_scores[:, keep], mask_preds[:, keep]
            gt_sem_seg = gt_sem_seg[keep]
        # [F, G] target masks: slot g of frame j is its g-th present class
        valid = torch.arange(labels.shape[1], device=labels.device) < \
            num_gts[:, None]
        gt_masks = ((gt_sem_seg[:, None] == labels[..., None, None]) &
                    valid[..., None, None]).float()
        num_layers, num_frames, num_queries = cls_scores.shape[:3]
        num_pos = int(np.minimum(gts.num_gts, num_queries).sum())
        match_points, loss_points = self._draw_points(
            num_layers, num_frames, num_pos, cls_scores.device)
        matches = self._match(cls_scores, mask_preds, labels, gt_masks,
                              gts.num_gts, match_points)
        losses = self._losses(cls_scores, mask_preds, labels, gt_masks,
                              gts.num_gts, matches, loss_points)
        if not gts.has_gt:
            losses = {name: value * 0 for name, value in losses.items()}
        return losses

    @torch.compiler.disable  # host-side numpy/scipy work
    def _frame_classes(self, gt_sem_seg: Tensor) -> _FrameClasses:
        """The classes present in each frame, on the host (the loss's first
        device-to-host copy).

        Args:
            gt_sem_seg (Tensor): ``[N, H, W]`` label maps.

        Returns:
            _FrameClasses: frames kept (those with ground truth, or all if
            none has any) and their ``[F, G]`` class slots.
        """
        labels = gt_sem_seg.flatten(1).long()
        labels = torch.where(labels == self.ignore_index, self.num_classes,
                             labels)
        present = labels.new_zeros(
            len(labels), self.num_classes + 1, dtype=torch.bool)
        present = present.scatter_(1, labels, True)[:, :-1].cpu().numpy()
        has_gt = bool(present.any())
        keep = np.flatnonzero(present.any(1)) if has_gt else \
            np.arange(len(present))
        present = present[keep]
        num_gts = present.sum(1)
        slots = np.full((len(keep), max(num_gts.max(), 1)), self.num_classes)
        frame, label = np.nonzero(present)  # frame by frame, ascending
        slots[frame, present.cumsum(1)[frame, label] - 1] = label
        return _FrameClasses(has_gt, keep, slots, num_gts)

    @torch.compiler.disable  # host-side numpy/scipy work
    def _draw_points(self, num_layers: int, num_frames: int, num_pos: int,
                     device: torch.device) -> Tuple[Tensor, tuple]:
        """The random points of every layer, drawn in the order of mmdet's
        per-layer loop, so the losses are those of ``Mask2FormerHead`` for
        the same seed: per layer the matching points of the frames, then,
        if any query is matched, the oversampled and the random points of
        the mask losses (``get_uncertain_point_coords_with_randomness``).

        Returns:
            tuple: matching points ``[L, F, P, 2]``; oversampled
            ``[L * G, S, 2]`` and random ``[L * G, R, 2]`` loss points of
            the ``G`` matched queries of each layer.
        """
        num_sampled = int(self.num_points * self.oversample_ratio)
        num_random = self.num_points - int(
            self.importance_sample_ratio * self.num_points)
        match, sampled, random = [], [], []
        for _ in range(num_layers):
            match.append(
                torch.rand(num_frames, self.num_points, 2, device=device))
            if num_pos:
                sampled.append(
                    torch.rand(num_pos, num_sampled, 2, device=device))
                random.append(
                    torch.rand(num_pos, num_random, 2, device=device))
        loss_points = (torch.cat(sampled), torch.cat(random)) if num_pos \
            else None
        return torch.stack(match), loss_points

    @torch.no_grad()
    @torch.compiler.disable  # host-side numpy/scipy work
    def _match(self, cls_scores: Tensor, mask_preds: Tensor, labels: Tensor,
               gt_masks: Tensor, num_gts: np.ndarray,
               points: Tensor) -> Matches:
        """Hungarian matching of every layer and frame in one go.

        Args:
            cls_scores (Tensor): ``[L, F, Nq, K + 1]``.
            mask_preds (Tensor): ``[L, F, Nq, h, w]``.
            labels (Tensor): ``[F, G]`` class slots (padding: no object).
            gt_masks (Tensor): ``[F, G, H, W]`` target masks (float).
            num_gts (np.ndarray): ``[F]`` slots in use.
            points (Tensor): ``[L, F, P, 2]`` matching points.

        Returns:
            tuple[np.ndarray]: matched ``set`` (``l * F + j``), ``query``
            and ``slot`` indices (:meth:`BatchedHungarianAssigner.assign`).
        """
        num_layers, _, num_points = points.shape[:3]
        # every layer's points of a frame in one grid: full-size masks
        # are read once
        gt_points = point_sample(gt_masks, points.transpose(0, 1).flatten(
            1, 2)).unflatten(2, (num_layers, num_points)).permute(2, 0, 1, 3)
        cost = self.assigner.cost(
            cls_scores.flatten(0, 1),
            point_sample(mask_preds.flatten(0, 1), points.flatten(0, 1)),
            labels.repeat(num_layers, 1), gt_points.flatten(0, 1))
        return self.assigner.assign(cost, np.tile(num_gts, num_layers))

    def _losses(self, cls_scores: Tensor, mask_preds: Tensor,
                labels: Tensor, gt_masks: Tensor, num_gts: np.ndarray,
                matches: Matches, loss_points: Optional[tuple]) -> dict:
        """Losses of every layer from the matches (shapes as in
        :meth:`_match`), as mmdet's ``_loss_by_feat_single``."""
        num_layers = len(cls_scores)
        targets, pos_query, pos_gt, pos_layer, num_masks = self._targets(
            cls_scores, labels, num_gts, matches)
        # class weights as per-query weights: the products of the loss's
        # class_weight, without uploading that list at every call
        weights = self.class_weight.to(cls_scores.dtype)[targets]
        pos_masks = mask_preds.flatten(0, 2)[pos_query]
        if loss_points is not None:
            preds, gts = (p.chunk(num_layers) for p in self._point_logits(
                pos_masks, gt_masks.flatten(0, 1), pos_gt, pos_layer,
                num_layers, loss_points))
        layer_losses = []
        for layer in range(num_layers):
            loss_cls = self.loss_cls(
                cls_scores[layer].flatten(0, 1),
                targets[layer],
                weights[layer],
                avg_factor=weights[layer].sum())
            if loss_points is None:  # zero match
                loss_mask = loss_dice = pos_masks.sum()
            else:
                loss_mask = self.loss_mask(
                    preds[layer].reshape(-1),
                    gts[layer].reshape(-1),
                    avg_factor=num_masks * self.num_points)
                loss_dice = self.loss_dice(
                    preds[layer], gts[layer], avg_factor=num_masks)
            layer_losses.append((loss_cls, loss_mask, loss_dice))
        # mmdet's names and order: the last layer, then d0, d1, ...
        prefixes = [''] + [f'd{i}.' for i in range(num_layers - 1)]
        return {
            f'{prefix}{name}': value
            for prefix, values in zip(prefixes, layer_losses[-1:] +
                                      layer_losses[:-1])
            for name, value in zip(('loss_cls', 'loss_mask', 'loss_dice'),
                                   values)
        }

    @torch.compiler.disable  # host-side numpy/scipy work
    def _targets(self, cls_scores: Tensor, labels: Tensor,
                 num_gts: np.ndarray, matches: Matches) -> tuple:
        """Class targets and matched positions (one copy to the device).

        Returns:
            tuple: class targets ``[L, F * Nq]`` (unmatched: no object);
            per matched query (layer by layer, frame by frame, query by
            query) its index in ``[L * F * Nq]``, its slot in ``[F * G]``
            and its layer; the number of masks to average by (``[1]``, as
            ``MaskPseudoSampler``: at least one per frame).
        """
        num_layers, num_frames, num_queries = cls_scores.shape[:3]
        sets, queries, slots = matches
        avg_factor = np.maximum(np.minimum(num_gts, num_queries), 1).sum()
        pos_query, pos_gt, pos_layer, avg_factor = _to_device(
            labels.device, sets * num_queries + queries,
            (sets % num_frames) * labels.shape[1] + slots,
            sets // num_frames, [avg_factor])
        targets = labels.new_full((num_layers * num_frames * num_queries, ),
                                  self.num_classes)
        targets[pos_query] = labels.flatten()[pos_gt]
        num_masks = reduce_mean(avg_factor.to(cls_scores.dtype)).clamp(min=1)
        return (targets.view(num_layers, -1), pos_query, pos_gt, pos_layer,
                num_masks)

    def _point_logits(self, pos_masks: Tensor, gt_masks: Tensor,
                      pos_gt: Tensor, pos_layer: Tensor, num_layers: int,
                      loss_points: tuple) -> Tuple[Tensor, Tensor]:
        """Matched mask logits and their targets at the loss points.

        Args:
            pos_masks (Tensor): ``[L * G, h, w]`` matched mask logits.
            gt_masks (Tensor): ``[F * S, H, W]`` target masks (slots).
            pos_gt (Tensor): ``[L * G]`` slot of each matched mask.
            pos_layer (Tensor): ``[L * G]`` its layer.
            num_layers (int): ``L``.
            loss_points (tuple): :meth:`_draw_points`' loss points.

        Returns:
            tuple[Tensor]: logits (with gradient) and targets ``[L * G, P]``.
        """
        with torch.no_grad():
            points = self._uncertain_points(pos_masks, *loss_points)
            # each target's points of every layer in one grid: full-size
            # masks are read once
            grid = points.new_zeros(len(gt_masks), num_layers,
                                    self.num_points, 2)
            grid[pos_gt, pos_layer] = points
            targets = point_sample(gt_masks[:, None], grid.flatten(1, 2))
            targets = targets.view(len(gt_masks), num_layers,
                                   -1)[pos_gt, pos_layer]
        return point_sample(pos_masks[:, None], points)[:, 0], targets

    def _uncertain_points(self, masks: Tensor, sampled: Tensor,
                          random: Tensor) -> Tensor:
        """mmdet's ``get_uncertain_point_coords_with_randomness`` on points
        drawn beforehand: of the ``S`` oversampled points ``[n, S, 2]`` of
        each mask ``[n, h, w]`` the most uncertain, then the random points
        ``[n, R, 2]``; ``[n, P, 2]``."""
        logits = point_sample(masks[:, None], sampled)[:, 0]
        num_uncertain = int(self.importance_sample_ratio * self.num_points)
        index = torch.topk(-logits.abs(), k=num_uncertain, dim=1)[1]
        points = sampled.gather(1, index[..., None].expand(-1, -1, 2))
        return torch.cat((points, random), dim=1)

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
