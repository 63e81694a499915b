"""Convert a YouTube-VIS / COCO-style video JSON to the SSU format.

Input (the YouTube-VIS 2019/2021 and OVIS layout)::

    ANN_FILE    {"videos": [{"id", "height", "width",
                             "file_names": ["<video>/<frame>.jpg", ...]}],
                 "annotations": [{"video_id", "category_id",
                                  "segmentations": [one per file name:
                                      RLE | polygons | null],
                                  "areas", "bboxes", "attributes"?}],
                 "categories": [{"id", "name", "supercategory"?}]}
    FRAMES_DIR/<file name>        the listed frames (e.g. JPEGImages/)
    AUDIO_DIR/<video>.wav         or .flac, .mp3, the original .mp4 ...

``<video>`` (the clip id) is a video's ``name`` if it has one, else the
folder of its first file name. Segmentations may be compressed RLE
(``counts`` string), uncompressed RLE (``counts`` list, as in
YouTube-VIS 2019) or polygons; ``null`` means the object is not on that
frame. ``areas`` and ``bboxes`` are not needed.

The listed frames of a video are taken to be ``--video-fps`` apart
(YouTube-VIS: 6, every 5th frame of 30 fps videos; a video's ``fps`` key
is used when the option is not given). SSU frame ``k`` is the listed
frame shown at ``(k + --frame-position) / --fps`` seconds (see
``docs/data.md``). Its mask is the union of the sounding objects
(``--sounding-label``, ``--sounding-attribute NAME=VALUE`` on an
annotation's ``attributes``, or ``--all-sounding``); a file without
``annotations`` (a test split) gives frames without masks. Captions come
from ``--captions`` (``{video: [one per SSU frame]}``).

Example::

    python tools/dataset_converters/ytvis_to_ssu.py train.json \
        train/JPEGImages data/my_set --audio-dir audio --video-fps 6 \
        --sounding-label violin --sounding-label cello
"""
import argparse
import json
import os.path as osp
from collections import defaultdict
from functools import partial
from typing import Optional

from rassu_mm.datasets import ClipDataError
from rassu_mm.datasets.converters import (ClipSource, ExportFrame,
                                          ExportObject, SSUClipWriter,
                                          add_common_args,
                                          coco_segmentation_mask, find_audio,
                                          run_cli, run_jobs, sample_plan,
                                          sounding_rule, write_annotation)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='YouTube-VIS JSON -> SSU')
    parser.add_argument('ann_file', help='YouTube-VIS / COCO video JSON')
    parser.add_argument('frames_dir', help='root of the listed file names')
    parser.add_argument('out_dir', help='SSU dataset root to write')
    parser.add_argument('--captions',
                        help='JSON {video: [one caption per SSU frame]}')
    add_common_args(parser)
    args = parser.parse_args(argv)
    args.rule = sounding_rule(parser, args)
    return args


def read_json(path: str):
    """A JSON file's content; missing or malformed files are refused."""
    if not osp.isfile(path):
        raise ClipDataError('?', path, 'file not found')
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ClipDataError('?', path, f'malformed JSON: {err}') from None


def load_export(path: str) -> dict:
    """The export's JSON, its structure checked."""
    export = read_json(path)
    if not isinstance(export, dict) or not isinstance(
            export.get('videos'), list) or not isinstance(
                export.get('categories', []), list):
        raise ClipDataError('?', path, "no 'videos' list")
    for cat in export.get('categories', []):
        if not isinstance(cat, dict) or 'id' not in cat or not isinstance(
                cat.get('name'), str):
            raise ClipDataError('?', path, f"category {cat!r} without an "
                                "'id' and a 'name'")
    return export


def clip_name(video: dict, path: str) -> str:
    """The video's ``name``, else the folder of its first file name."""
    names = video.get('file_names')
    if not isinstance(names, list) or not names or not all(
            isinstance(n, str) for n in names):
        raise ClipDataError(f'#{video.get("id")}', path,
                            "video without a 'file_names' list")
    name = video.get('name') or osp.dirname(names[0].replace('\\', '/'))
    if not name:
        raise ClipDataError(f'#{video.get("id")}', path, 'cannot tell the '
                            "video's name: no 'name' and no folder in "
                            'its file names')
    return name


def video_source(video: dict, anns: Optional[list], labels: dict, args,
                 captions: dict) -> ClipSource:
    """Where every SSU frame of one video comes from (``anns`` is None
    when the export has no annotations)."""
    clip_id = clip_name(video, args.ann_file)
    names = video['file_names']
    video_fps = args.video_fps or video.get('fps')
    if not video_fps:
        raise ClipDataError(clip_id, args.ann_file,
                            "no --video-fps given and the video has no 'fps'")
    plan = sample_plan(list(range(len(names))), float(video_fps), args.fps,
                       args.frame_position, 1, clip_id, args.ann_file)
    for ann in anns or []:
        if ann.get('category_id') not in labels:
            raise ClipDataError(
                clip_id, args.ann_file, f"annotation {ann.get('id')}: "
                f"category_id {ann.get('category_id')!r} is not among the "
                'categories')
        if len(ann.get('segmentations') or []) != len(names):
            raise ClipDataError(
                clip_id, args.ann_file, f"annotation {ann.get('id')}: "
                f"{len(ann.get('segmentations') or [])} segmentations for "
                f'{len(names)} frames')
    texts = captions.get(clip_id)
    if texts is not None and len(texts) != len(plan):
        raise ClipDataError(clip_id, args.captions,
                            f'{len(texts)} captions for {len(plan)} frames')
    size = (video.get('height'), video.get('width'))
    frames = []
    for k, (i, _, _) in enumerate(plan):
        objects = None
        if anns is not None:
            objects = [
                ExportObject(labels[ann['category_id']],
                             ann.get('attributes') or {},
                             partial(coco_segmentation_mask,
                                     ann['segmentations'][i]))
                for ann in anns if ann['segmentations'][i] is not None
            ]
        frames.append(
            ExportFrame(
                image=osp.join(args.frames_dir, names[i]),
                objects=objects,
                size=size if None not in size else None,
                caption=texts[k] if texts is not None else None))
    return ClipSource(clip_id, frames,
                      find_audio(args.audio_dir, [clip_id], clip_id), 0.0,
                      args.ann_file)


def main(argv=None):
    args = parse_args(argv)
    export = load_export(args.ann_file)
    categories = export.get('categories', [])
    labels = {c['id']: c['name'] for c in categories}
    classes = [c['name'] for c in categories]
    unknown = args.rule.unknown_labels(classes)
    if unknown:
        raise ClipDataError('?', args.ann_file,
                            f'--sounding-label {unknown} not among the '
                            f'categories {classes}')
    names = {name for ann in export.get('annotations', [])
             for name in ann.get('attributes') or {}}
    missing = sorted(set(args.rule.attributes) - names)
    if missing:
        raise ClipDataError('?', args.ann_file, f'no annotation has the '
                            f'attributes {missing} (present: '
                            f'{sorted(names)})')
    supers = {}
    for c in categories:
        if c.get('supercategory'):
            supers.setdefault(c['supercategory'], []).append(c['name'])
    by_video = defaultdict(list)
    for ann in export.get('annotations', []):
        by_video[ann.get('video_id')].append(ann)
    captions = read_json(args.captions) if args.captions else {}
    if not isinstance(captions, dict):
        raise ClipDataError('?', args.captions,
                            'captions must be {video: [captions]}')
    writer = SSUClipWriter(args.out_dir, args.rule, classes, args.audio_rate,
                           args.fps)
    jobs = [
        lambda v=v: writer.write(
            video_source(v, by_video[v.get('id')] if 'annotations' in export
                         else None, labels, args, captions))
        for v in export['videos']
    ]
    clips, bad = run_jobs(jobs, args.skip_bad, 'YouTube-VIS videos')
    metainfo = dict(dataset_name=args.dataset_name, classes=classes,
                    super_categories=supers, fps=args.fps)
    ann_file = write_annotation(args.out_dir, args.split, metainfo, clips)
    print(f'wrote {len(clips)} clips to {ann_file}' +
          (f'; skipped {len(bad)} bad videos' if bad else ''))
    return ann_file


if __name__ == '__main__':
    run_cli(main)
