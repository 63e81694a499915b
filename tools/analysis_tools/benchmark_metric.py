"""Speed of SSUMetric's vectorised F-score against a per-threshold loop.

Both compute the AVSBench F-score (max over 255 thresholds of the mean
F_beta, beta^2 = 0.3, over frames with non-empty ground truth) of the same
random predictions; the vectorised path is the one SSUMetric uses
(per-frame threshold histograms, then cumulative sums).

Example::

    python tools/analysis_tools/benchmark_metric.py --frames 1000 --size 224

The vectorised path reduces one clip (``--clip-len`` frames) at a time, as
``SSUMetric.process`` does; the loop works on all frames at once.
"""
import argparse
import time

import numpy as np
import torch

from rassu_mm.evaluation.functional import (BETA2, THRESHOLDS,
                                            binary_frame_stats, binary_scores)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=1000)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument(
        '--clip-len', type=int, default=10, help='frames per clip')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='intra-op threads (0: torch default); with 1 the timings stay '
        'stable on a shared machine')
    return parser.parse_args()


def make_data(num_frames: int, size: int, seed: int):
    """Random ``[N, S, S]`` probabilities and ground truth: a box per frame
    (every 10th frame silent) and noisy scores that favour the box."""
    gen = torch.Generator().manual_seed(seed)
    gt = torch.zeros(num_frames, size, size, dtype=torch.long)
    corners = torch.randint(0, size // 2, (num_frames, 2), generator=gen)
    for i, (y, x) in enumerate(corners.tolist()):
        if i % 10:
            gt[i, y:y + size // 3, x:x + size // 3] = 1
    noise = torch.randn(num_frames, size, size, generator=gen)
    return torch.sigmoid(2 * noise + 3 * gt - 1.5), gt


def loop_fscore(probs: torch.Tensor, gt: torch.Tensor) -> float:
    """Straightforward AVSBench-style loop over the 255 thresholds."""
    keep = gt.flatten(1).sum(1) > 0
    probs, pos = probs[keep], gt[keep] > 0
    num_pos = pos.sum((1, 2)).double()
    best = 0.0
    for thr in THRESHOLDS:
        pred = probs >= thr
        tp = (pred & pos).sum((1, 2)).double()
        prec = tp / (pred.sum((1, 2)).double() + 1e-20)
        recall = tp / (num_pos + 1e-20)
        f = (1 + BETA2) * prec * recall / (BETA2 * prec + recall)
        best = max(best, torch.nan_to_num(f, nan=0.0).mean().item())
    return best


def vectorised_fscore(probs: torch.Tensor, gt: torch.Tensor,
                      clip_len: int) -> float:
    """SSUMetric's path: per-clip statistics, then the split score."""
    stats = [
        binary_frame_stats(probs[i:i + clip_len], gt[i:i + clip_len])
        for i in range(0, len(probs), clip_len)
    ]
    cat = {
        k: np.concatenate([s[k] for s in stats])
        for k in ('inter', 'union', 'hist')
    }
    return binary_scores(cat['inter'], cat['union'], cat['hist'])[1]


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    probs, gt = make_data(args.frames, args.size, args.seed)
    start = time.perf_counter()
    vec = vectorised_fscore(probs, gt, args.clip_len)
    t_vec = time.perf_counter() - start
    start = time.perf_counter()
    loop = loop_fscore(probs, gt)
    t_loop = time.perf_counter() - start
    print(f'{args.frames} frames of {args.size}x{args.size}, '
          f'{torch.get_num_threads()} threads')
    print(f'vectorised F-score: {vec:.10f}  ({t_vec:.3f} s)')
    print(f'loop       F-score: {loop:.10f}  ({t_loop:.3f} s)')
    print(f'|difference|: {abs(vec - loop):.3e}   '
          f'speed ratio: {t_loop / t_vec:.1f}x')


if __name__ == '__main__':
    main()
