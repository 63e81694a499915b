"""Write each clip of a dataset as one image: frames side by side with the
ground-truth masks overlaid and the captions below (as mmseg's
``browse_dataset.py`` does for images).

Example::

    python tools/analysis_tools/browse_dataset.py \
        configs/_base_/datasets/ssu_demo.py --output-dir vis/demo --max 10
"""
import argparse
import os
import textwrap

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import rassu_mm  # noqa: F401  registers the datasets and transforms
from mmseg.registry import DATASETS
from rassu_mm.utils import safe_join


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Browse an SSU dataset')
    parser.add_argument('config', help='config with the dataloaders')
    parser.add_argument('--output-dir', default='vis/browse')
    parser.add_argument(
        '--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--max', type=int, default=20, help='clips to draw')
    parser.add_argument('--alpha', type=float, default=0.5)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def draw_clip(frames: np.ndarray, masks, captions, palette: list,
              alpha: float = 0.5) -> np.ndarray:
    """Tile a clip into one BGR image.

    Args:
        frames (np.ndarray): uint8 ``[T, H, W, 3]`` BGR.
        masks (np.ndarray | None): ``[T, H, W]`` labels (binary 1 =
            sounding or class index ``1..C``; 255 ignore, drawn grey).
        captions (list | None): ``T`` strings or None, drawn under frames.
        palette (list | None): RGB colour per class for semantic masks;
            None for binary masks (drawn red).
        alpha (float): Mask opacity.

    Returns:
        np.ndarray: uint8 ``[H + text, T * W, 3]`` BGR image.
    """
    num, h, w = frames.shape[:3]
    bgr = [c[::-1] for c in palette] if palette else [[0, 0, 255]]
    colours = np.array([[0, 0, 0]] + bgr, np.float32)
    scale = max(w / 320, 0.35)
    wrap = max(int(w / (11 * scale)), 8)
    tiles = []
    for t in range(num):
        img = frames[t].astype(np.float32)
        if masks is not None:
            mask = masks[t]
            fg = (mask > 0) & (mask != 255)
            colour = colours[np.clip(mask, 0, len(colours) - 1)]
            img[fg] = (1 - alpha) * img[fg] + alpha * colour[fg]
            img[mask == 255] = 0.5 * img[mask == 255] + 64
        lines = textwrap.wrap(captions[t] or '-', wrap) if captions else []
        line_h = int(22 * scale) + 4
        text = np.full((line_h * max(len(lines), 1) + 4, w, 3), 255,
                       np.uint8)
        for i, line in enumerate(lines):
            cv2.putText(text, line, (2, line_h * (i + 1)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, (0, 0, 0), 1,
                        cv2.LINE_AA)
        tiles.append((img.clip(0, 255).astype(np.uint8), text))
    text_h = max(t[1].shape[0] for t in tiles)
    columns = [
        np.concatenate(
            [img, np.pad(txt, ((0, text_h - txt.shape[0]), (0, 0), (0, 0)),
                         constant_values=255)]) for img, txt in tiles
    ]
    return np.concatenate(columns, axis=1)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    palette = None
    if dataset.metainfo.get('seg_mode') == 'semantic':
        palette = dataset.metainfo.get('palette')
    os.makedirs(args.output_dir, exist_ok=True)
    for idx in range(min(args.max, len(dataset))):
        packed = dataset[idx]
        sample = packed['data_samples']
        frames = packed['inputs']['frames'].permute(0, 2, 3, 1).numpy()
        masks = (sample.gt_sem_seg.data.numpy()
                 if 'gt_sem_seg' in sample else None)
        captions = sample.gt_captions if 'gt_captions' in sample else None
        image = draw_clip(frames, masks, captions, palette, args.alpha)
        path = safe_join(args.output_dir, f'{sample.clip_id}.jpg')
        cv2.imwrite(path, image)
        print(path)


if __name__ == '__main__':
    main()
