"""Per-frame mask statistics and the scores computed from them.

Every clip is reduced in :meth:`SSUMetric.process` to a few small integer
arrays per frame, so that collecting results across ranks is cheap and the
split-level scores can be computed exactly in any grouping (whole split,
AVSBench batches, one category):

- binary IoU: ``inter`` and ``union`` pixel counts ``[T]`` (AVSBench rule:
  for a frame with empty ground truth both count background pixels);
- binary F-score: ``hist`` ``[T, 2, 256]``, the number of silent (row 0) and
  sounding (row 1) ground-truth pixels whose probability reaches exactly
  ``b`` of the 255 AVSBench thresholds (bin ``b``); precision and recall at
  every threshold then follow from cumulative sums, without a loop over
  thresholds;
- semantic: ``area_inter``, ``area_pred``, ``area_gt`` ``[T, K]`` per label.

Pixels whose ground truth is ``ignore_index`` are left out everywhere.
"""
from typing import Dict, Sequence, Tuple

import numpy as np
import torch

NUM_THRESHOLDS = 255
BETA2 = 0.3
# AVSBench: torch.linspace(0, 1 - 1e-10, 255) in float32 (the last value
# rounds to 1.0); a pixel is positive at threshold i if prob >= thr[i].
THRESHOLDS = torch.linspace(0, 1 - 1e-10, NUM_THRESHOLDS)


def binary_frame_stats(probs: torch.Tensor,
                       gt: torch.Tensor,
                       ignore_index: int = 255) -> Dict[str, np.ndarray]:
    """Reduce the binary predictions of one clip to per-frame counts.

    One ``bincount`` over a per-pixel code (frame, ``prob > 0.5``, ground
    truth, threshold bin) gives both the IoU counts and the histograms.

    Args:
        probs (Tensor): ``[T, H, W]`` float32 probability that a pixel is
            sounding (``sigmoid(seg_logits)``).
        gt (Tensor): ``[T, H, W]`` ground truth; ``> 0`` is sounding,
            ``ignore_index`` is left out.
        ignore_index (int): Label of ignored pixels. Defaults to 255.

    Returns:
        dict: ``inter``, ``union``, ``num_valid`` (``[T]`` int64) and
        ``hist`` (``[T, 2, 256]`` int64), see the module doc.
    """
    assert probs.shape == gt.shape and probs.dim() == 3, \
        f'probabilities {tuple(probs.shape)} and ground truth ' \
        f'{tuple(gt.shape)} must both be [T, H, W]'
    num_frames = probs.shape[0]
    bins = NUM_THRESHOLDS + 1
    code = torch.bucketize(
        probs, THRESHOLDS.to(probs.device), right=True, out_int32=True)
    code += (gt > 0).int() * bins
    code += (probs > 0.5).int() * (2 * bins)
    code += torch.arange(
        0,
        num_frames * 4 * bins,
        4 * bins,
        device=probs.device,
        dtype=torch.int32).view(-1, 1, 1)
    code.masked_fill_(gt == ignore_index, num_frames * 4 * bins)
    counts = torch.bincount(code.view(-1), minlength=num_frames * 4 * bins + 1)
    # [T, prob > 0.5, gt > 0, bin]
    counts = counts[:-1].view(num_frames, 2, 2, bins).cpu().numpy()
    (tn, fn), (fp, tp) = counts.sum(-1).transpose(1, 2, 0)
    num_valid = tn + fn + fp + tp
    empty = tp + fn == 0
    return dict(
        inter=np.where(empty, tn, tp),
        union=np.where(empty, num_valid, tp + fp + fn),
        num_valid=num_valid,
        hist=counts.sum(1))


def semantic_frame_stats(pred: torch.Tensor,
                         gt: torch.Tensor,
                         num_labels: int,
                         ignore_index: int = 255) -> Dict[str, np.ndarray]:
    """Per-frame, per-label pixel counts of a semantic prediction.

    Args:
        pred (Tensor): ``[T, H, W]`` predicted labels ``0..K-1``.
        gt (Tensor): ``[T, H, W]`` ground-truth labels ``0..K-1`` or
            ``ignore_index``.
        num_labels (int): ``K``, background (label 0) included.
        ignore_index (int): Label of ignored pixels. Defaults to 255.

    Returns:
        dict: ``area_inter``, ``area_pred``, ``area_gt``, each ``[T, K]``
        int64.
    """
    assert pred.shape == gt.shape and pred.dim() == 3
    num_frames = pred.shape[0]
    ignored = gt == ignore_index
    assert pred.min() >= 0 and gt.min() >= 0 and pred.max() < num_labels \
        and gt.masked_fill(ignored, 0).max() < num_labels, \
        f'labels must lie in 0..{num_labels - 1} (ground truth: or be ' \
        f'{ignore_index})'
    offset = torch.arange(
        0, num_frames * num_labels, num_labels,
        device=pred.device).view(-1, 1, 1)
    trash = num_frames * num_labels

    def count(labels, drop):
        code = (labels + offset).masked_fill_(drop, trash)
        hist = torch.bincount(code.view(-1), minlength=trash + 1)
        return hist[:-1].view(num_frames, num_labels).cpu().numpy()

    return dict(
        area_inter=count(pred, ignored | (pred != gt)),
        area_pred=count(pred, ignored),
        area_gt=count(gt, ignored))


def fscore_curves(hist: np.ndarray, beta2: float = BETA2) -> np.ndarray:
    """F_beta of every frame at every threshold (AVSBench ``_eval_pr``).

    Args:
        hist (ndarray): ``[N, 2, 256]`` threshold histograms.
        beta2 (float): ``beta^2``. Defaults to 0.3.

    Returns:
        ndarray: ``[N, 255]`` float64; 0 where precision and recall are 0.
    """
    # above[..., b] = number of pixels in bins >= b
    above = np.cumsum(hist[..., ::-1], axis=-1)[..., ::-1].astype(np.float64)
    # prob >= thr[i]  <=>  bin >= i + 1
    tp = above[:, 1, 1:]
    pred_pos = above[:, 0, 1:] + tp
    num_pos = above[:, 1, :1]
    prec = tp / (pred_pos + 1e-20)
    recall = tp / (num_pos + 1e-20)
    with np.errstate(invalid='ignore', divide='ignore'):
        f = (1 + beta2) * prec * recall / (beta2 * prec + recall)
    return np.nan_to_num(f, nan=0.0)


def binary_scores(inter: np.ndarray,
                  union: np.ndarray,
                  hist: np.ndarray,
                  beta2: float = BETA2) -> Tuple[float, float]:
    """mIoU and F-score of a set of frames (the whole split by default).

    Args:
        inter, union (ndarray): ``[N]`` IoU counts of frames with at least
            one valid pixel.
        hist (ndarray): ``[N, 2, 256]`` their threshold histograms.
        beta2 (float): ``beta^2`` of the F-score. Defaults to 0.3.

    Returns:
        tuple[float, float]: mean IoU over the frames; max over thresholds
        of the mean F_beta over frames with non-empty ground truth (0 when
        there is none, as AVSBench).
    """
    miou = float(np.mean(inter / union)) if len(inter) else float('nan')
    nonempty = hist[:, 1].sum(-1) > 0
    if not nonempty.any():
        return miou, 0.0
    curve = fscore_curves(hist[nonempty], beta2).mean(0)
    return miou, float(curve.max())


def avsbench_batch_scores(inter: np.ndarray,
                          union: np.ndarray,
                          hist: np.ndarray,
                          batch_sizes: Sequence[int],
                          beta2: float = BETA2) -> Tuple[float, float]:
    """AVSBench's test numbers: scores per batch, averaged over batches.

    AVSBench computes ``mask_iou`` and ``Eval_Fmeasure`` on every test
    batch and reports the unweighted mean of the batch values, so its
    numbers depend on the batch size (the last, smaller batch weighs as
    much as a full one; a batch without sounding frames has F-score 0).

    Args:
        inter, union (ndarray): ``[N]`` IoU counts of the frames in
            dataset order.
        hist (ndarray): ``[N, 2, 256]`` their threshold histograms.
        batch_sizes (Sequence[int]): Number of frames in each batch, in
            order; they sum to ``N``.
        beta2 (float): ``beta^2`` of the F-score. Defaults to 0.3.

    Returns:
        tuple[float, float]: mIoU and F-score.
    """
    bounds = np.cumsum([0, *batch_sizes])
    assert bounds[-1] == len(inter)
    scores = [
        binary_scores(inter[a:b], union[a:b], hist[a:b], beta2)
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    miou, fscore = np.mean(scores, axis=0)
    return float(miou), float(fscore)


def avss_class_scores(area_inter: np.ndarray,
                      area_pred: np.ndarray,
                      area_gt: np.ndarray,
                      beta2: float = BETA2) -> Dict[str, np.ndarray]:
    """Per-class IoU and F-score in the AVSS convention.

    AVSS (AVSBench-semantic) scores every class in every frame, sums the
    frame values of a class over the split and divides by the number of
    frames in which the class occurs (in the prediction or the ground
    truth).

    Args:
        area_inter, area_pred, area_gt (ndarray): ``[N, K]`` pixel counts.
        beta2 (float): ``beta^2`` of the F-score. Defaults to 0.3.

    Returns:
        dict: ``iou`` and ``fscore`` ``[K]`` (NaN for a class that never
        occurs) and ``count`` ``[K]``, the frames in which it occurs.
    """
    inter = area_inter.astype(np.float64)
    union = area_pred + area_gt - area_inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, inter / union, 0.0)
        prec = inter / area_pred
        recall = inter / area_gt
        f = (1 + beta2) * prec * recall / (beta2 * prec + recall)
        count = (union > 0).sum(0)
        return dict(
            iou=iou.sum(0) / count,
            fscore=np.nan_to_num(f, nan=0.0).sum(0) / count,
            count=count)
