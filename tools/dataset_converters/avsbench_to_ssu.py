"""Convert AVSBench (S4, MS3, AVSS) to the SSU format (no captions).

Expected layouts (as released by the AVSBench authors)::

    s4:   ROOT/s4_meta_data.csv            (name, start, category, split)
          ROOT/s4_data/visual_frames/{split}/{category}/{name}/{name}_{i}.png
          ROOT/s4_data/gt_masks/{split}/{category}/{name}/{name}_{i}.png
          ROOT/s4_data/audio_wav/{split}/{category}/{name}.wav
    ms3:  ROOT/ms3_meta_data.csv           (name, split, ...)
          ROOT/ms3_data/visual_frames/{name}/{name}.mp4_{i}.png
          ROOT/ms3_data/gt_masks/{split}/{name}/{name}_{i}.png
          ROOT/ms3_data/audio_wav/{split}/{name}.wav
    avss: ROOT/metadata.csv                (vid, uid, ..., split, label)
          ROOT/label2idx.json              ({"background": 0, name: idx})
          ROOT/{label}/{uid}/frames/{k}.jpg
          ROOT/{label}/{uid}/labels_rgb/{k}.png    (AVSBench colour masks)
          ROOT/{label}/{uid}/audio.wav

S4/MS3 frames are numbered 1..5 (frame ``k`` of the SSU clip is ``k + 1``).
``--link`` symlinks frames and audio to the AVSBench files: load such a
dataset with ``allow_external_symlinks=True``. Clip ids (names, uids) must
be plain file names.

Frames without a mask file (S4 and AVSS-v1s training clips annotate only
the first frame) get no ``mask`` entry: train on them with
``allow_missing_masks=True`` (their masks load as all-ignore). S4/MS3 masks
are written as binary 0/255 PNGs (any non-black pixel is sounding); AVSS
colour masks become class-index PNGs (``--mask-mode semantic``, the
default; colours outside the palette -> 255) or binary ones. AVSS mixes
5-frame (v1s/v1m) and 10-frame (v2) clips; ``--pad-frames 10`` lists the
last frame of a shorter clip again (without a mask) up to 10 frames, so
that clips can be batched (``configs/avsbench/`` expects it).

Example::

    python tools/dataset_converters/avsbench_to_ssu.py s4 \
        data/AVSBench/Single-source data/avs_s4
"""
import argparse
import csv
import json
import logging
import os
import os.path as osp
import shutil

import numpy as np
from mmengine.logging import print_log
from PIL import Image
from tqdm import tqdm

from rassu_mm.datasets import ClipDataError
from rassu_mm.datasets.errors import check_clip_id
from rassu_mm.utils.paths import safe_join

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='AVSBench -> SSU format')
    parser.add_argument('subset', choices=['s4', 'ms3', 'avss'])
    parser.add_argument('root', help='AVSBench subset folder (see above)')
    parser.add_argument('out_dir', help='SSU dataset root to write')
    parser.add_argument('--splits', nargs='+', default=list(SPLITS))
    parser.add_argument('--num-frames', type=int, default=5,
                        help='frames per S4/MS3 clip')
    parser.add_argument('--mask-mode', choices=['binary', 'semantic'],
                        default='semantic', help='AVSS mask output')
    parser.add_argument('--pad-frames', type=int, default=0,
                        help='AVSS: repeat the last frame (without a mask) '
                        'of shorter clips up to this many frames')
    parser.add_argument('--link', action='store_true',
                        help='symlink frames and audio instead of copying')
    parser.add_argument('--skip-bad', action='store_true',
                        help='skip bad clips with a warning')
    return parser.parse_args(argv)


def read_csv(path: str) -> list:
    """Rows of a CSV file as lists of strings (header included)."""
    if not osp.isfile(path):
        raise ClipDataError('?', path, 'metadata CSV not found')
    with open(path, newline='') as f:
        return [row for row in csv.reader(f) if row]


def avsbench_palette(num: int) -> np.ndarray:
    """AVSBench-semantic colour of class index ``0..num-1``: ``[num, 3]``."""
    palette = np.zeros((num, 3), np.int64)
    for j in range(num):
        lab, i = j, 0
        while lab > 0:
            for c in range(3):
                palette[j, c] |= ((lab >> c) & 1) << (7 - i)
            i += 1
            lab >>= 3
    return palette


class Writer:
    """Copies (or links) clip files into ``out_dir`` and builds entries.

    Every destination is joined through :func:`safe_join`: nothing is
    written outside ``out_dir``.
    """

    def __init__(self, out_dir: str, link: bool) -> None:
        self.out_dir = out_dir
        self.link = link

    def place(self, clip_id: str, src: str, rel: str) -> str:
        if not osp.isfile(src):
            raise ClipDataError(clip_id, src, 'file not found')
        # a link left by an earlier --link run is replaced, not followed
        dst = osp.join(
            safe_join(self.out_dir, osp.dirname(rel)), osp.basename(rel))
        os.makedirs(osp.dirname(dst), exist_ok=True)
        if osp.lexists(dst):
            os.remove(dst)
        if self.link:
            os.symlink(osp.abspath(src), dst)
        else:
            shutil.copyfile(src, dst)
        return rel

    def mask(self, clip_id: str, label: np.ndarray, rel: str) -> str:
        dst = safe_join(self.out_dir, rel)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        Image.fromarray(label.astype(np.uint8)).save(dst)
        return rel


def binary_mask(clip_id: str, path: str) -> np.ndarray:
    """0/255 mask: any non-black pixel of the AVSBench mask is sounding."""
    try:
        gray = np.array(Image.open(path).convert('L'))
    except OSError as err:
        raise ClipDataError(clip_id, path, f'unreadable mask: {err}')
    return np.where(gray > 0, 255, 0)


def frame_size(clip_id: str, path: str) -> tuple:
    try:
        with Image.open(path) as img:
            return img.size[::-1]
    except OSError as err:
        raise ClipDataError(clip_id, path, f'unreadable frame: {err}')


def v1_clip(subset: str, data: str, name: str, split: str, category: str,
            args, writer: Writer) -> dict:
    """One S4/MS3 clip."""
    if subset == 's4':
        frame_dir = osp.join(data, 'visual_frames', split, category, name)
        mask_dir = osp.join(data, 'gt_masks', split, category, name)
        audio = osp.join(data, 'audio_wav', split, category, name + '.wav')
        frame_fmt = name + '_{}.png'
    else:
        frame_dir = osp.join(data, 'visual_frames', name)
        mask_dir = osp.join(data, 'gt_masks', split, name)
        audio = osp.join(data, 'audio_wav', split, name + '.wav')
        frame_fmt = name + '.mp4_{}.png'
    frames = []
    for k in range(args.num_frames):
        src = osp.join(frame_dir, frame_fmt.format(k + 1))
        entry = dict(
            image=writer.place(name, src, f'frames/{name}/{k}.png'))
        mask_src = osp.join(mask_dir, f'{name}_{k + 1}.png')
        if osp.isfile(mask_src):
            label = binary_mask(name, mask_src)
            if label.shape != frame_size(name, src):
                raise ClipDataError(name, mask_src,
                                    'mask size differs from its frame')
            entry['mask'] = writer.mask(name, label, f'masks/{name}/{k}.png')
        frames.append(entry)
    return dict(
        clip_id=name,
        categories=[category] if category else [],
        audio=writer.place(name, audio, f'audio/{name}.wav'),
        frames=frames)


def avss_clip(root: str, uid: str, label: str, classes: list,
              colour_to_idx: dict, args, writer: Writer) -> dict:
    """One AVSS clip; masks from the colour PNGs via the palette."""
    base = osp.join(root, label, uid)
    frame_dir = osp.join(base, 'frames')
    if not osp.isdir(frame_dir):
        raise ClipDataError(uid, frame_dir, 'frame folder not found')
    num = len([f for f in os.listdir(frame_dir) if f.endswith('.jpg')])
    if num == 0:
        raise ClipDataError(uid, frame_dir, 'no frames')
    frames, present = [], set()
    for k in range(num):
        src = osp.join(frame_dir, f'{k}.jpg')
        entry = dict(image=writer.place(uid, src, f'frames/{uid}/{k}.jpg'))
        mask_src = osp.join(base, 'labels_rgb', f'{k}.png')
        if osp.isfile(mask_src):
            rgb = np.array(Image.open(mask_src).convert('RGB'), np.int64)
            if rgb.shape[:2] != frame_size(uid, src):
                raise ClipDataError(uid, mask_src,
                                    'mask size differs from its frame')
            code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
            idx = np.full(code.shape, 255, np.int64)
            for colour, value in colour_to_idx.items():
                idx[code == colour] = value
            present |= set(np.unique(idx).tolist()) - {0, 255}
            if args.mask_mode == 'binary':
                idx = np.where((idx > 0) & (idx < 255), 255, 0)
            entry['mask'] = writer.mask(uid, idx, f'masks/{uid}/{k}.png')
        frames.append(entry)
    # v1s/v1m clips (5 frames) padded to the v2 length for batching
    frames += [dict(image=frames[-1]['image'])
               for _ in range(num, args.pad_frames)]
    return dict(
        clip_id=uid,
        categories=[classes[i - 1] for i in sorted(present)],
        audio=writer.place(uid, osp.join(base, 'audio.wav'),
                           f'audio/{uid}.wav'),
        frames=frames)


def collect_jobs(args) -> tuple:
    """Metainfo, ``(split, clip_id, callable)`` jobs of the subset and the
    metadata CSV that lists them."""
    writer = Writer(args.out_dir, args.link)
    if args.subset in ('s4', 'ms3'):
        meta_csv = osp.join(args.root, f'{args.subset}_meta_data.csv')
        rows = read_csv(meta_csv)
        header, rows = rows[0], rows[1:]
        split_col = header.index('split')
        data = osp.join(args.root, f'{args.subset}_data')
        if args.subset == 's4':
            classes = sorted({r[2] for r in rows})
        else:
            classes = []
        jobs = [(r[split_col], r[0],
                 lambda r=r: v1_clip(args.subset, data, r[0], r[split_col],
                                     r[2] if args.subset == 's4' else '',
                                     args, writer)) for r in rows]
        name = f'AVSBench-{args.subset.upper()}'
        seg_mode = 'binary'
    else:
        label_file = osp.join(args.root, 'label2idx.json')
        if not osp.isfile(label_file):
            raise ClipDataError('?', label_file, 'label2idx.json not found')
        with open(label_file) as f:
            label2idx = json.load(f)
        names = sorted(label2idx, key=label2idx.get)
        if [label2idx[n] for n in names] != list(range(len(names))):
            raise ClipDataError('?', label_file,
                                'class indices are not 0..N-1')
        classes = names[1:]  # index 0 is the background
        palette = avsbench_palette(len(names))
        colour_to_idx = {(int(r) << 16) | (int(g) << 8) | int(b): i
                         for i, (r, g, b) in enumerate(palette)}
        meta_csv = osp.join(args.root, 'metadata.csv')
        rows = read_csv(meta_csv)
        header, rows = rows[0], rows[1:]
        uid, split, label = (header.index(c) for c in ('uid', 'split',
                                                       'label'))
        jobs = [(r[split], r[uid],
                 lambda r=r: avss_clip(args.root, r[uid], r[label], classes,
                                       colour_to_idx, args, writer))
                for r in rows]
        name = 'AVSBench-semantic'
        seg_mode = args.mask_mode
    metainfo = dict(dataset_name=name, classes=classes, super_categories={},
                    fps=1, seg_mode=seg_mode)
    return metainfo, jobs, meta_csv


def main(argv=None):
    args = parse_args(argv)
    metainfo, jobs, meta_csv = collect_jobs(args)
    os.makedirs(osp.join(args.out_dir, 'annotations'), exist_ok=True)
    clips = {split: [] for split in args.splits}
    bad = []
    jobs = [job for job in jobs if job[0] in clips]
    for split, clip_id, job in tqdm(jobs, desc=f'AVSBench {args.subset}'):
        try:
            check_clip_id(clip_id, meta_csv)
            clips[split].append(job())
        except ClipDataError as err:
            if not args.skip_bad:
                raise
            bad.append(err)
            print_log(f'skipping: {err}', 'current', logging.WARNING)
    for split, split_clips in clips.items():
        with open(osp.join(args.out_dir, 'annotations', f'{split}.json'),
                  'w') as f:
            json.dump(dict(metainfo=metainfo, clips=split_clips), f, indent=1)
        print(f'{split}: {len(split_clips)} clips')
    if bad:
        print(f'skipped {len(bad)} bad clips')
    return clips


if __name__ == '__main__':
    main()
