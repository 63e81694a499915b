"""BatchedHungarianAssigner against mmdet's HungarianAssigner, one
prediction set at a time: costs, assignments (ties included), sets
without ground truth, more ground truths than queries."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmseg.registry import TASK_UTILS
from rassu_mm.models import BatchedHungarianAssigner

MATCH_COSTS = [
    dict(type='mmdet.ClassificationCost', weight=2.0),
    dict(type='mmdet.FocalLossCost', weight=20.0, binary_input=True),
    dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0)
]


def random_sets(gen, num_sets=24, num_queries=6, num_classes=4, points=50,
                ties=False):
    """Class and mask logits of ``num_sets`` sets and their ground truth;
    ground truths per set cycle through 0 (none) to ``num_queries + 2``
    (more than queries). With ``ties``, in every second set two queries are
    copies of each other, in every third all queries are copies, and in
    every fifth two ground truths are copies."""
    scores = torch.randn(num_sets, num_queries, num_classes + 1,
                         generator=gen)
    masks = torch.randn(num_sets, num_queries, points, generator=gen)
    num_gts = np.arange(num_sets) % (num_queries + 3)
    width = num_gts.max()
    labels = torch.randint(num_classes, (num_sets, width), generator=gen)
    gt_masks = (torch.rand(num_sets, width, points, generator=gen) >
                0.5).float()
    if ties:
        scores[::2, 1], masks[::2, 1] = scores[::2, 0], masks[::2, 0]
        scores[::3], masks[::3] = scores[::3, :1], masks[::3, :1]
        labels[::5, 1], gt_masks[::5, 1] = labels[::5, 0], gt_masks[::5, 0]
    return scores, masks, labels, gt_masks, num_gts


def mmdet_assignments(match_costs, scores, masks, labels, gt_masks,
                      num_gts):
    """Per set: mmdet's ``gt_inds`` (0: unmatched, g + 1: ground truth
    g) and its summed cost matrix ``[Nq, n]``."""
    reference = TASK_UTILS.build(
        dict(type='mmdet.HungarianAssigner', match_costs=match_costs))
    for b, n in enumerate(num_gts):
        preds = InstanceData(scores=scores[b], masks=masks[b])
        targets = InstanceData(labels=labels[b, :n], masks=gt_masks[b, :n])
        cost = torch.stack([
            c(pred_instances=preds, gt_instances=targets)
            for c in reference.match_costs
        ]).sum(0) if n else None
        yield reference.assign(preds, targets).gt_inds, cost


def batched_gt_inds(matches, num_sets, num_queries):
    """The matches as mmdet's ``gt_inds`` ``[num_sets, Nq]``."""
    sets, queries, gts = matches
    assert (np.diff(sets * num_queries + queries) > 0).all()  # sorted
    gt_inds = torch.zeros(num_sets, num_queries, dtype=torch.long)
    gt_inds[sets, queries] = torch.from_numpy(gts) + 1
    return gt_inds


@pytest.mark.parametrize('match_costs', [
    MATCH_COSTS,
    [
        dict(type='mmdet.FocalLossCost', weight=2.0),
        dict(type='mmdet.DiceCost', weight=1.0, naive_dice=False, eps=1e-3)
    ],
])
def test_same_costs_and_assignments_as_mmdet(match_costs):
    inputs = random_sets(torch.Generator().manual_seed(0))
    batched = BatchedHungarianAssigner(match_costs)
    cost = batched.cost(*inputs[:4])
    got = batched_gt_inds(batched.assign(cost, inputs[4]), *cost.shape[:2])
    for b, (expected, ref_cost) in enumerate(
            mmdet_assignments(match_costs, *inputs)):
        assert torch.equal(got[b], expected), b
        if ref_cost is not None:
            # equal up to the summation order of batched matrix products
            torch.testing.assert_close(
                cost[b, :, :len(ref_cost[0])], ref_cost, rtol=1e-6,
                atol=1e-5)


def test_exact_ties_are_broken_as_mmdet_does():
    """Where the batched cost matrices are bit for bit mmdet's (here: the
    classification cost, which has no sum whose order could differ), ties
    (copied queries, copied ground truths) are broken the same way: the
    padding columns are cut off and scipy sees the same float32 values."""
    match_costs = MATCH_COSTS[:1]
    inputs = random_sets(
        torch.Generator().manual_seed(1), num_sets=60, ties=True)
    batched = BatchedHungarianAssigner(match_costs)
    cost = batched.cost(*inputs[:4])
    got = batched_gt_inds(batched.assign(cost, inputs[4]), *cost.shape[:2])
    num_tied = 0
    for b, (expected, ref_cost) in enumerate(
            mmdet_assignments(match_costs, *inputs)):
        if ref_cost is not None:
            assert torch.equal(cost[b, :, :len(ref_cost[0])], ref_cost)
            num_tied += int(len(ref_cost.unique()) < ref_cost.numel())
        assert torch.equal(got[b], expected), b
    assert num_tied >= 30


def test_near_ties_give_an_optimal_assignment():
    """With many points mmdet's own costs of two copied queries can differ
    in the last bits (the BLAS kernel treats rows differently), and the
    batched costs differ from mmdet's by such rounding: where that decides
    a tie, the batched assignment still costs what mmdet's does."""
    inputs = random_sets(torch.Generator().manual_seed(2), ties=True)
    batched = BatchedHungarianAssigner(MATCH_COSTS)
    cost = batched.cost(*inputs[:4])
    got = batched_gt_inds(batched.assign(cost, inputs[4]), *cost.shape[:2])
    for b, (expected, ref_cost) in enumerate(
            mmdet_assignments(MATCH_COSTS, *inputs)):
        if ref_cost is None:
            assert not got[b].any()
            continue
        total = [
            ref_cost[inds > 0, inds[inds > 0] - 1].sum()
            for inds in (got[b], expected)
        ]
        torch.testing.assert_close(*total, rtol=1e-6, atol=1e-5)


def test_no_ground_truth_matches_nothing():
    batched = BatchedHungarianAssigner(MATCH_COSTS)
    sets, queries, gts = batched.assign(torch.zeros(3, 4, 1), np.zeros(3))
    assert sets.size == queries.size == gts.size == 0


def test_unsupported_cost_is_refused():
    with pytest.raises(TypeError, match='IoUCost'):
        BatchedHungarianAssigner([dict(type='mmdet.IoUCost')])
