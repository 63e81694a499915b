"""mIoU and F-score of the trivial answers on sr-Music (docs/semireal.md).

- "mask every object": every instrument in the frame, sounding or not
  (what a model that finds objects but ignores the audio can reach);
- "mask nothing": an empty mask in every frame.

Scores are SSUMetric's (``rassu_mm.evaluation.functional.mask_scores``),
over every frame of each split. Example::

    python tools/analysis_tools/semireal_baselines.py --data-root \
        data/sr_music --out work_dirs/sr_music_baselines.json
"""
import argparse
import json
import os.path as osp

import cv2
import numpy as np
import torch


def baseline_scores(data_root: str, asset_root: str, split: str) -> dict:
    """``{answer: {'mIoU', 'F-score'}}`` of one split."""
    from rassu_mm.datasets.semireal import object_map
    from rassu_mm.evaluation.functional.mask_scores import (
        binary_frame_stats, binary_scores)
    with open(osp.join(data_root, 'annotations', f'{split}.json')) as f:
        clips = json.load(f)['clips']
    stats = {'mask every object': [], 'mask nothing': []}
    for clip in clips:
        # binary masks store sounding as 255, which the scores read as
        # "ignore": 0/1 as LoadClipMasks gives them
        gt = np.stack([
            cv2.imread(osp.join(data_root, fr['mask']), cv2.IMREAD_UNCHANGED)
            for fr in clip['frames']
        ]) > 0
        objects = object_map(clip, asset_root, gt.shape[1:]) >= 0
        answers = {
            'mask every object': np.repeat(objects[None], len(gt), 0),
            'mask nothing': np.zeros_like(gt, bool)
        }
        for name, pred in answers.items():
            stats[name].append(
                binary_frame_stats(
                    torch.from_numpy(pred.astype(np.float32)),
                    torch.from_numpy(gt.astype(np.int64))))
    out = {}
    for name, per_clip in stats.items():
        miou, fscore = binary_scores(
            *[np.concatenate([s[k] for s in per_clip])
              for k in ('inter', 'union', 'hist')])
        out[name] = {'mIoU': miou, 'F-score': fscore}
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/sr_music')
    parser.add_argument('--asset-root', default='data/assets/semireal')
    parser.add_argument('--splits', nargs='+', default=['test', 'test_real'])
    parser.add_argument('--out', help='JSON file to write')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = {
        split: baseline_scores(args.data_root, args.asset_root, split)
        for split in args.splits
    }
    for split, answers in result.items():
        for name, scores in answers.items():
            print(f'{split:10s} {name:18s} mIoU {scores["mIoU"]:.4f}  '
                  f'F-score {scores["F-score"]:.4f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
