"""Convert videos (any format PyAV reads) to the SSU format.

For every video ``<clip_id>.<ext>`` in ``VIDEO_DIR`` this writes
``frames/<clip_id>/<k>.jpg`` (one frame per ``1 / fps`` seconds: the frame
shown at ``(k + frame_position) / fps``), ``audio/<clip_id>.wav`` (mono,
``--audio-rate`` Hz, 16-bit) and a clip entry in
``annotations/<split>.json``. Optional inputs per clip:

- ``--mask-dir``: ``<mask_dir>/<clip_id>/<k>.png`` for every frame ``k``
  (binary 0/255 or semantic indices); copied as they are;
- ``--clip-info``: a JSON ``{clip_id: {"captions": [T strings],
  "categories": [...]}}``.

Clips without them get an annotation skeleton (no ``mask``/``caption``),
usable as test input or to be completed by annotators.

Example::

    python tools/dataset_converters/videos_to_ssu.py videos/ data/my_set \
        --split test --fps 1 --dataset f-music
"""
import argparse
import json
import logging
import os
import os.path as osp
import shutil

import av
import cv2
from mmengine.logging import print_log
from tqdm import tqdm

from rassu_mm.apis.video_io import decode_audio, sample_frames, write_wav
from rassu_mm.datasets import (F_LIFESCENE_METAINFO, F_MUSIC_METAINFO,
                               ClipDataError)
from rassu_mm.datasets.errors import check_clip_id
from rassu_mm.utils.paths import safe_join

VIDEO_EXTS = ('.mp4', '.mkv', '.avi', '.mov', '.webm', '.flv', '.m4v')
KNOWN_METAINFO = {'f-music': F_MUSIC_METAINFO,
                  'f-lifescene': F_LIFESCENE_METAINFO}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Videos -> SSU format')
    parser.add_argument('video_dir', help='folder of video files')
    parser.add_argument('out_dir', help='SSU dataset root to write')
    parser.add_argument('--split', default='test')
    parser.add_argument(
        '--fps', type=float, default=1.0, help='annotated frames per second')
    parser.add_argument(
        '--frame-position',
        type=float,
        default=0.5,
        help='where in its 1/fps window frame k is taken (0 = start)')
    parser.add_argument('--audio-rate', type=int, default=16000)
    parser.add_argument('--mask-dir', help='<mask_dir>/<clip_id>/<k>.png')
    parser.add_argument('--clip-info', help='JSON of captions/categories')
    parser.add_argument(
        '--dataset',
        choices=sorted(KNOWN_METAINFO),
        help='take classes and super-categories from this dataset')
    parser.add_argument('--dataset-name', help='metainfo dataset_name')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='skip bad videos with a warning instead of stopping')
    return parser.parse_args(argv)


def extract_audio(path: str, clip_id: str, rate: int, out_path: str) -> None:
    """Decode the first audio stream to a mono 16-bit wav at ``rate``."""
    write_wav(decode_audio(path, clip_id, rate), rate, out_path)


def convert_clip(path: str, clip_id: str, args, info: dict,
                 classes: list) -> dict:
    """Write one clip's files; return its SSU clip entry."""
    check_clip_id(clip_id, path)
    frames = sample_frames(path, clip_id, args.fps, args.frame_position)
    num = len(frames)
    clip_info = info.get(clip_id, {})
    captions = clip_info.get('captions')
    if captions is not None and len(captions) != num:
        raise ClipDataError(
            clip_id, args.clip_info,
            f'{len(captions)} captions for {num} frames sampled from {path}')
    categories = list(clip_info.get('categories', []))
    unknown = [c for c in categories if classes and c not in classes]
    if unknown:
        raise ClipDataError(clip_id, args.clip_info,
                            f'unknown categories {unknown}')
    mask_src = osp.join(args.mask_dir, clip_id) if args.mask_dir else None
    has_masks = mask_src is not None and osp.isdir(mask_src)
    for sub in ('frames', 'masks') if has_masks else ('frames', ):
        os.makedirs(safe_join(args.out_dir, sub, clip_id), exist_ok=True)
    entries = []
    for k, img in enumerate(frames):
        entry = dict(image=f'frames/{clip_id}/{k}.jpg')
        cv2.imwrite(safe_join(args.out_dir, entry['image']), img)
        if has_masks:
            src = osp.join(mask_src, f'{k}.png')
            mask = cv2.imread(src, cv2.IMREAD_UNCHANGED)
            if mask is None:
                raise ClipDataError(clip_id, src, 'mask missing or unreadable')
            if mask.shape[:2] != img.shape[:2]:
                raise ClipDataError(
                    clip_id, src, f'mask size {mask.shape[:2]} differs from '
                    f'frame size {img.shape[:2]}')
            entry['mask'] = f'masks/{clip_id}/{k}.png'
            shutil.copyfile(src, safe_join(args.out_dir, entry['mask']))
        if captions is not None:
            entry['caption'] = captions[k]
        entries.append(entry)
    audio_rel = f'audio/{clip_id}.wav'
    extract_audio(path, clip_id, args.audio_rate,
                  safe_join(args.out_dir, audio_rel))
    return dict(
        clip_id=clip_id, categories=categories, audio=audio_rel,
        frames=entries)


def main(argv=None):
    args = parse_args(argv)
    videos = sorted(
        f for f in os.listdir(args.video_dir)
        if osp.splitext(f)[1].lower() in VIDEO_EXTS)
    info = {}
    if args.clip_info:
        with open(args.clip_info) as f:
            info = json.load(f)
    base = KNOWN_METAINFO.get(args.dataset, {})
    metainfo = dict(
        dataset_name=args.dataset_name or base.get('dataset_name', 'custom'),
        classes=list(base.get('classes', [])),
        super_categories=base.get('super_categories', {}),
        fps=args.fps)
    os.makedirs(osp.join(args.out_dir, 'annotations'), exist_ok=True)
    os.makedirs(osp.join(args.out_dir, 'audio'), exist_ok=True)
    clips, bad = [], []
    for name in tqdm(videos, desc='videos'):
        clip_id = osp.splitext(name)[0]
        path = osp.join(args.video_dir, name)
        try:
            clips.append(
                convert_clip(path, clip_id, args, info, metainfo['classes']))
        except (ClipDataError, av.error.FFmpegError) as exc:
            err = exc if isinstance(exc, ClipDataError) else ClipDataError(
                clip_id, path, f'cannot decode: {exc}')
            if not args.skip_bad:
                raise err from None
            bad.append(err)
            print_log(f'skipping: {err}', 'current', logging.WARNING)
    if not metainfo['classes']:
        metainfo['classes'] = sorted({c for clip in clips
                                      for c in clip['categories']})
    ann_file = osp.join(args.out_dir, 'annotations', f'{args.split}.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(metainfo=metainfo, clips=clips), f, indent=1)
    print(f'wrote {len(clips)} clips to {ann_file}' +
          (f'; skipped {len(bad)} bad videos' if bad else ''))
    return ann_file


if __name__ == '__main__':
    try:
        main()
    except ClipDataError as err:  # one line for users, not a traceback
        raise SystemExit(f'error: {err.path}: clip {err.clip_id!r}: '
                         f'{err.reason} (--skip-bad skips bad videos)')
