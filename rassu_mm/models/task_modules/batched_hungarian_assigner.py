"""Hungarian assignment of many prediction sets at once (all frames and
decoder layers of a batch), as mmdet's ``HungarianAssigner`` for each."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
from mmdet.models.task_modules.assigners import (ClassificationCost,
                                                 DiceCost, FocalLossCost)
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmseg.registry import TASK_UTILS

Matches = Tuple[np.ndarray, np.ndarray, np.ndarray]


def _classification_cost(cost: ClassificationCost, scores: Tensor,
                         masks: Tensor, labels: Tensor,
                         gt_masks: Tensor) -> Tensor:
    """``-softmax(scores)[label]`` (mmdet's ``ClassificationCost``)."""
    probs = scores.softmax(-1)
    index = labels[:, None, :].expand(-1, probs.shape[1], -1)
    return -probs.gather(2, index) * cost.weight


def _focal_cost(cost: FocalLossCost, scores: Tensor, masks: Tensor,
                labels: Tensor, gt_masks: Tensor) -> Tensor:
    """Sigmoid focal cost of the class logits or, with ``binary_input``, of
    the mask logits against binary masks (mmdet's ``FocalLossCost``)."""
    pred = (masks if cost.binary_input else scores).sigmoid()
    neg = -(1 - pred + cost.eps).log() * (1 - cost.alpha) * pred.pow(
        cost.gamma)
    pos = -(pred + cost.eps).log() * cost.alpha * (1 - pred).pow(cost.gamma)
    if not cost.binary_input:
        index = labels[:, None, :].expand(-1, pred.shape[1], -1)
        return (pos.gather(2, index) - neg.gather(2, index)) * cost.weight
    focal = torch.einsum('bnc,bmc->bnm', pos, gt_masks) + torch.einsum(
        'bnc,bmc->bnm', neg, 1 - gt_masks)
    return focal / pred.shape[-1] * cost.weight


def _dice_cost(cost: DiceCost, scores: Tensor, masks: Tensor,
               labels: Tensor, gt_masks: Tensor) -> Tensor:
    """``1 - dice`` of the masks (mmdet's ``DiceCost``)."""
    pred = masks.sigmoid() if cost.pred_act else masks
    numerator = 2 * torch.einsum('bnc,bmc->bnm', pred, gt_masks)
    if cost.naive_dice:
        pred_sum, gt_sum = pred.sum(-1), gt_masks.sum(-1)
    else:
        pred_sum, gt_sum = pred.pow(2).sum(-1), gt_masks.pow(2).sum(-1)
    denominator = pred_sum[:, :, None] + gt_sum[:, None, :]
    dice = 1 - (numerator + cost.eps) / (denominator + cost.eps)
    return dice * cost.weight


_BATCHED_COSTS = {
    ClassificationCost: _classification_cost,
    FocalLossCost: _focal_cost,
    DiceCost: _dice_cost,
}


@TASK_UTILS.register_module()
class BatchedHungarianAssigner:
    """mmdet's ``HungarianAssigner`` for ``B`` prediction sets in one go.

    The weighted costs of all sets are computed together (one batched
    computation per cost, with the formulas of mmdet's match costs), copied
    to the host once, and each set is matched by scipy's
    ``linear_sum_assignment`` on its own cost matrix, as mmdet does: the
    matrices equal mmdet's up to float rounding (batched matrix products
    may sum in another order) and keep its dtype, so ties are broken the
    same way.

    Args:
        match_costs (list[dict]): The match costs, configured as for
            mmdet's ``HungarianAssigner``: ``mmdet.ClassificationCost``,
            ``mmdet.FocalLossCost`` and ``mmdet.DiceCost`` are supported.
    """

    def __init__(self, match_costs: Sequence[dict]) -> None:
        self.match_costs = [TASK_UTILS.build(cfg) for cfg in match_costs]
        for cost in self.match_costs:
            if type(cost) not in _BATCHED_COSTS:
                raise TypeError(
                    f'BatchedHungarianAssigner has no batched '
                    f'{type(cost).__name__}; supported: '
                    f'{[c.__name__ for c in _BATCHED_COSTS]}')

    def cost(self, scores: Tensor, masks: Tensor, labels: Tensor,
             gt_masks: Tensor) -> Tensor:
        """Summed weighted costs of every set (no gradient).

        Args:
            scores (Tensor): Class logits ``[B, Nq, C]``.
            masks (Tensor): Mask logits at sampled points ``[B, Nq, P]``.
            labels (Tensor): Ground-truth labels ``[B, G]`` (long).
            gt_masks (Tensor): Binary ground-truth masks at the same points
                ``[B, G, P]`` (float). Padding columns may hold anything.

        Returns:
            Tensor: ``[B, Nq, G]``.
        """
        with torch.no_grad():
            costs = [
                _BATCHED_COSTS[type(cost)](cost, scores, masks, labels,
                                           gt_masks)
                for cost in self.match_costs
            ]
            return torch.stack(costs).sum(0)

    @staticmethod
    def assign(cost: Tensor, num_gts: np.ndarray) -> Matches:
        """Match every set; one device-to-host copy of ``cost``.

        Args:
            cost (Tensor): ``[B, Nq, G]`` (:meth:`cost`).
            num_gts (np.ndarray): ``[B]`` ground truths of each set: columns
                ``num_gts[b]:`` of set ``b`` are padding. A set without
                ground truth matches nothing.

        Returns:
            tuple[np.ndarray]: ``set``, ``query`` and ``gt`` indices of the
            matched pairs, sorted by set and then by query.
        """
        cost = cost.cpu().numpy()
        matches: List[Tuple[np.ndarray, ...]] = []
        for b in np.flatnonzero(num_gts):
            rows, cols = linear_sum_assignment(cost[b, :, :num_gts[b]])
            matches.append((np.full_like(rows, b), rows, cols))
        if not matches:
            return tuple(np.zeros(0, np.int64) for _ in range(3))
        return tuple(np.concatenate(m).astype(np.int64) for m in zip(*matches))
