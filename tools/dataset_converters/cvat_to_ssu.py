"""Convert "CVAT for video 1.1" (or "CVAT for images 1.1") XML exports to
the SSU format.

Each EXPORT is one task (or job) exported by CVAT with its images: a
folder holding ``annotations.xml`` and ``images/`` (the unzipped export),
or the XML file itself with ``images/`` beside it. Every export becomes
one clip, named ``--clip-id`` or the task's source video without its
extension (the task name when there is none). Its audio is
``AUDIO_DIR/<source video>`` or ``AUDIO_DIR/<clip id>.wav`` (or any file
PyAV decodes: .flac, .mp3, .mp4 ...), the whole video's sound, cut from
the first annotated frame on.

Frames and time. Frame numbers in the XML are video frame numbers (CVAT
writes ``start_frame + i * step`` for a task with a ``frame_filter`` of
``step=N``); ``--video-fps`` (required: CVAT does not record it) is the
frame rate of the video. SSU frame ``k`` is the annotated frame shown at
``(k + --frame-position) / --fps`` seconds after the first annotated
frame. Frame images are ``images/frame_<number:06d>.<ext>`` (video
export) or the ``name`` of the ``<image id=number>`` elements.

Objects. ``<box>`` and ``<ellipse>`` (with their ``rotation``),
``<polygon>`` and ``<mask>`` (``rle`` runs over its ``left/top/width/
height`` box, row by row, starting with background) are areas;
polylines, points, skeletons and cuboids are ignored with a warning.
A track's state at frame ``f`` is its last element at or before ``f``:
absent when that element has ``outside="1"``. CVAT's video export writes
an element for every frame a track is visible (``keyframe="0"`` for the
interpolated ones) and an ``outside`` element where it disappears, so
this is exactly CVAT's interpolation; in a file listing keyframes only, a
shape holds until the next element (no interpolation). ``occluded`` and
``z_order`` do not matter for the union. Shapes inside ``<image>``
elements belong to that frame only.

Sounding objects: ``--sounding-label``, ``--sounding-attribute
NAME=VALUE`` (the ``<attribute>`` children of the element, or of the
track), or ``--all-sounding``. The SSU mask is their union.

Captions: ``--caption-attribute NAME`` takes the non-empty values of that
attribute on the objects present on SSU frame ``k``'s annotated frame;
``--caption-tag-label LABEL`` takes the tags of that label (``<tag
frame label>`` or tags inside ``<image>``) anywhere in frame ``k``'s
``1 / fps`` window, their text being the attribute
``--caption-tag-attribute`` (default: the tag's only attribute). Distinct
texts are joined in track / frame order; a frame without one has no
caption. CVAT's own video export drops tags: to caption by tags export
"CVAT for images 1.1".

Example::

    python tools/dataset_converters/cvat_to_ssu.py task_1/ task_2/ \
        data/my_set --audio-dir videos --video-fps 25 \
        --sounding-attribute sounding=true --caption-attribute caption
"""
import argparse
import bisect
import logging
import os.path as osp
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import partial
from typing import Dict, List, Optional, Tuple

from mmengine.logging import print_log

from rassu_mm.datasets import ClipDataError
from rassu_mm.datasets.converters import (ClipSource, ExportFrame,
                                          ExportObject, SSUClipWriter,
                                          add_common_args, box_polygon,
                                          cvat_rle_mask, ellipse_polygon,
                                          find_audio, polygons_mask, run_cli,
                                          run_jobs, sample_plan,
                                          sounding_rule, write_annotation)

AREA_SHAPES = ('box', 'polygon', 'mask', 'ellipse')
OTHER_SHAPES = ('polyline', 'points', 'skeleton', 'cuboid')
BOX_KEYS = ('xtl', 'ytl', 'xbr', 'ybr')
ELLIPSE_KEYS = ('cx', 'cy', 'rx', 'ry')
MASK_KEYS = ('left', 'top', 'width', 'height')
FRAME_EXTS = ('.png', '.PNG', '.jpg', '.jpeg', '.JPG', '.JPEG', '.bmp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CVAT XML -> SSU format')
    parser.add_argument('exports', nargs='+', metavar='EXPORT',
                        help='export folder (annotations.xml + images/) '
                        'or XML file')
    parser.add_argument('out_dir', help='SSU dataset root to write')
    parser.add_argument('--clip-id', help='clip id (one export only)')
    captions = parser.add_mutually_exclusive_group()
    captions.add_argument('--caption-attribute', metavar='NAME',
                          help='caption = this attribute of the objects')
    captions.add_argument('--caption-tag-label', metavar='LABEL',
                          help='caption = text of the tags of this label')
    parser.add_argument('--caption-tag-attribute', metavar='NAME',
                        help="the tags' text attribute (default: their "
                        'only one)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    args.rule = sounding_rule(parser, args)
    if args.video_fps is None:
        parser.error('--video-fps is required (CVAT does not record it)')
    if args.clip_id and len(args.exports) > 1:
        parser.error('--clip-id needs a single EXPORT')
    return args


@dataclass
class Element:
    """A shape (or tag) element with its frame and attributes."""
    node: ET.Element
    frame: int
    attributes: Dict[str, str]
    label: str = ''


@dataclass
class Export:
    """What one CVAT XML file says."""
    path: str
    images_dir: str
    clip_id: str
    source: str
    classes: List[str]
    frames: List[int]
    step: int
    size: Optional[Tuple[int, int]]
    image_names: Dict[int, str] = field(default_factory=dict)
    image_sizes: Dict[int, Tuple[int, int]] = field(default_factory=dict)
    # per track: its element frames (ascending) and elements
    tracks: List[Tuple[List[int], List[Element]]] = field(
        default_factory=list)
    frame_shapes: Dict[int, List[Element]] = field(default_factory=dict)
    tags: List[Element] = field(default_factory=list)


def attributes_of(node: ET.Element) -> Dict[str, str]:
    """``{name: text}`` of the ``<attribute>`` children."""
    return {a.get('name'): (a.text or '').strip()
            for a in node.findall('attribute')}


def to_int(value, what: str, path: str, clip_id: str = '?') -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ClipDataError(clip_id, path,
                            f'{what} is not an integer: {value!r}') from None


def load_xml(path: str) -> Tuple[str, ET.Element]:
    """``(xml path, root)``; ``path`` may be the export folder."""
    if osp.isdir(path):
        path = osp.join(path, 'annotations.xml')
    if not osp.isfile(path):
        raise ClipDataError('?', path, 'annotation file not found')
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ClipDataError('?', path, f'malformed XML: {err}') from None
    if root.tag != 'annotations':
        raise ClipDataError('?', path, f'root element <{root.tag}>, not '
                            '<annotations>: not a CVAT XML export')
    return path, root


def task_meta(root: ET.Element, path: str) -> ET.Element:
    meta = root.find('meta')
    task = None if meta is None else (
        meta.find('task') if meta.find('task') is not None else
        meta.find('job'))
    if task is None:
        if meta is not None and meta.find('project') is not None:
            raise ClipDataError('?', path, 'a project export: export each '
                                'task on its own')
        raise ClipDataError('?', path, 'no <meta><task> (or <job>) element')
    return task


def frame_numbers(task: ET.Element, images: list, path: str) -> tuple:
    """``(frame numbers, step)`` of the annotated frames."""
    match = re.search(r'step\s*=\s*(\d+)', task.findtext('frame_filter', ''))
    step = max(int(match.group(1)), 1) if match else 1
    if images:
        return sorted(to_int(i.get('id'), '<image> id', path)
                      for i in images), step
    size = to_int(task.findtext('size'), '<task><size>', path)
    start = to_int(task.findtext('start_frame') or 0, 'start_frame', path)
    if size < 1:
        raise ClipDataError('?', path, 'the task has no frames')
    return [start + i * step for i in range(size)], step


class LabelCheck:
    """Refuses labels the export's ``<labels>`` do not list."""

    def __init__(self, labels: List[str], clip_id: str, path: str) -> None:
        self.labels, self.clip_id, self.path = labels, clip_id, path

    def __call__(self, label: str, where: str) -> str:
        if label not in self.labels:
            raise ClipDataError(
                self.clip_id, self.path, f'{where} has label {label!r}, not '
                f"among the export's labels {self.labels}")
        return label


def read_tracks(root: ET.Element, export: Export, check: LabelCheck) -> None:
    """``<track>`` elements: their area shapes sorted by frame."""
    for track in root.findall('track'):
        where = f'track {track.get("id")}'
        label = check(track.get('label'), where)
        shared = attributes_of(track)
        elements = sorted(
            (Element(node, to_int(node.get('frame'), f'{where} frame',
                                  export.path, export.clip_id),
                     {**shared, **attributes_of(node)}, label)
             for node in track if node.tag in AREA_SHAPES),
            key=lambda e: e.frame)
        export.tracks.append(([e.frame for e in elements], elements))


def read_images(images: list, export: Export, check: LabelCheck) -> None:
    """``<image>`` elements: names, sizes, their shapes and tags."""
    path, clip_id = export.path, export.clip_id
    for image in images:
        frame = to_int(image.get('id'), '<image> id', path, clip_id)
        export.image_names[frame] = image.get('name', '')
        if image.get('width') and image.get('height'):
            export.image_sizes[frame] = (
                to_int(image.get('height'), 'image height', path, clip_id),
                to_int(image.get('width'), 'image width', path, clip_id))
        for node in image:
            if node.tag not in AREA_SHAPES + ('tag', ):
                continue
            element = Element(node, frame, attributes_of(node),
                              check(node.get('label'),
                                    f'<{node.tag}> on image {frame}'))
            if node.tag == 'tag':
                export.tags.append(element)
            else:
                export.frame_shapes.setdefault(frame, []).append(element)


def read_tags(root: ET.Element, export: Export, check: LabelCheck) -> None:
    """Top-level ``<tag frame label>`` elements."""
    for node in root.findall('tag'):
        frame = to_int(node.get('frame'), 'tag frame', export.path,
                       export.clip_id)
        export.tags.append(
            Element(node, frame, attributes_of(node),
                    check(node.get('label'), f'tag on frame {frame}')))


def check_attribute_names(export: Export, args) -> None:
    """Refuse attribute names (caption, sounding) no object carries."""
    names = {name for _, elements in export.tracks for e in elements
             for name in e.attributes}
    names |= {name for elements in export.frame_shapes.values()
              for e in elements for name in e.attributes}
    wanted = list(args.rule.attributes)
    if args.caption_attribute:
        wanted.append(args.caption_attribute)
    missing = sorted(set(wanted) - names)
    if missing:
        raise ClipDataError(export.clip_id, export.path, f'no object has '
                            f'the attributes {missing} (present: '
                            f'{sorted(names)})')


def parse_export(path: str, args) -> Export:
    """Read one export; labels of every track, shape and tag checked."""
    path, root = load_xml(path)
    task = task_meta(root, path)
    nodes = [lab for lab in task.iter('label') if lab.findtext('name')]
    # classes: object labels (not skeleton points, not tag-only labels)
    classes = [
        lab.findtext('name') for lab in nodes
        if lab.find('parent') is None and lab.findtext('type') != 'tag'
    ]
    source = (task.findtext('source') or '').strip()
    clip_id = args.clip_id or (osp.splitext(source)[0] if source else
                               (task.findtext('name') or '').strip())
    images = root.findall('image')
    frames, step = frame_numbers(task, images, path)
    width = task.findtext('original_size/width')
    height = task.findtext('original_size/height')
    size = (to_int(height, 'original_size height', path),
            to_int(width, 'original_size width', path)) if width else None
    export = Export(path, osp.join(osp.dirname(path), 'images'), clip_id,
                    source, classes, frames, step, size)
    check = LabelCheck([lab.findtext('name') for lab in nodes], clip_id,
                       path)
    if args.caption_tag_label:
        check(args.caption_tag_label, '--caption-tag-label')
    read_tracks(root, export, check)
    read_images(images, export, check)
    read_tags(root, export, check)
    check_attribute_names(export, args)
    ignored = [node.tag for parent in root.findall('track') + images
               for node in parent if node.tag in OTHER_SHAPES]
    if ignored:
        print_log(
            f'{path}: ignoring {len(ignored)} shapes without an area '
            f'({", ".join(sorted(set(ignored)))})', 'current',
            logging.WARNING)
    return export


def element_mask(node: ET.Element, height: int, width: int):
    """The bool ``[H, W]`` mask of a box, ellipse, polygon or mask."""
    try:
        if node.tag == 'box':
            corners = [float(node.get(k)) for k in BOX_KEYS]
            rotation = float(node.get('rotation', 0))
            return polygons_mask([box_polygon(*corners, rotation)], height,
                                 width)
        if node.tag == 'ellipse':
            axes = [float(node.get(k)) for k in ELLIPSE_KEYS]
            rotation = float(node.get('rotation', 0))
            return polygons_mask([ellipse_polygon(*axes, rotation)], height,
                                 width)
        if node.tag == 'polygon':
            points = [float(v) for pair in node.get('points').split(';')
                      for v in pair.split(',')]
            return polygons_mask([points], height, width)
        box = [int(node.get(k)) for k in MASK_KEYS]
        return cvat_rle_mask(node.get('rle'), *box, height, width)
    except (TypeError, AttributeError):
        raise ValueError(f'<{node.tag}> lacks a coordinate attribute')


def objects_at(export: Export, frame: int) -> List[Element]:
    """Elements present on ``frame``: each track's last element at or
    before it unless that one is ``outside``, then the image's shapes."""
    present = []
    for frames, elements in export.tracks:
        idx = bisect.bisect_right(frames, frame) - 1
        if idx >= 0 and elements[idx].node.get('outside', '0') != '1':
            present.append(elements[idx])
    return present + export.frame_shapes.get(frame, [])


def join_texts(texts) -> Optional[str]:
    """Distinct non-empty texts in order, joined by spaces (or None)."""
    unique = list(dict.fromkeys(t for t in texts if t))
    return ' '.join(unique) if unique else None


def tag_text(tag: Element, args, export: Export) -> str:
    name = args.caption_tag_attribute
    if name is None:
        if len(tag.attributes) != 1:
            raise ClipDataError(
                export.clip_id, export.path, f'tag {tag.label!r} on frame '
                f'{tag.frame} has {len(tag.attributes)} attributes: name '
                'its text with --caption-tag-attribute')
        return next(iter(tag.attributes.values()))
    return tag.attributes.get(name, '')


def caption(export: Export, present: List[Element], window: tuple,
            args) -> Optional[str]:
    """The caption of one SSU frame (see the module docstring)."""
    if args.caption_attribute:
        return join_texts(e.attributes.get(args.caption_attribute, '')
                          for e in present)
    if args.caption_tag_label:
        tags = sorted((t for t in export.tags
                       if t.label == args.caption_tag_label
                       and window[0] - 1e-6 <= t.frame < window[1] - 1e-6),
                      key=lambda t: t.frame)
        return join_texts(tag_text(t, args, export) for t in tags)
    return None


def frame_file(images_dir: str, name: str) -> str:
    """``images_dir/name``, or with an image extension added."""
    path = osp.join(images_dir, name)
    if osp.isfile(path):
        return path
    for ext in FRAME_EXTS:
        if osp.isfile(path + ext):
            return path + ext
    return path if osp.splitext(name)[1] else path + '.png'


def export_source(export: Export, args) -> ClipSource:
    """Where every SSU frame of one export comes from."""
    plan = sample_plan(export.frames, args.video_fps, args.fps,
                       args.frame_position, export.step, export.clip_id,
                       export.path)
    frames = []
    for frame, start, stop in plan:
        present = objects_at(export, frame)
        name = export.image_names.get(frame, f'frame_{frame:06d}')
        frames.append(
            ExportFrame(
                image=frame_file(export.images_dir, name),
                objects=[
                    ExportObject(e.label, e.attributes,
                                 partial(element_mask, e.node))
                    for e in present
                ],
                size=export.image_sizes.get(frame, export.size),
                caption=caption(export, present, (start, stop), args)))
    audio = find_audio(args.audio_dir, [export.source, export.clip_id],
                       export.clip_id)
    return ClipSource(export.clip_id, frames, audio,
                      export.frames[0] / args.video_fps, export.path)


def main(argv=None):
    args = parse_args(argv)
    exports, bad = run_jobs(
        [partial(parse_export, path, args) for path in args.exports],
        args.skip_bad, 'reading CVAT XML')
    classes = []
    for export in exports:
        classes += [lab for lab in export.classes if lab not in classes
                    and lab != args.caption_tag_label]
    unknown = args.rule.unknown_labels(classes)
    if unknown and exports:
        raise ClipDataError('?', exports[0].path,
                            f'--sounding-label {unknown} not among the '
                            f'labels {classes}')
    seen = {}
    for export in exports:
        if export.clip_id in seen:
            raise ClipDataError(export.clip_id, export.path,
                                f'clip id also used by {seen[export.clip_id]}'
                                ' (give each task another source or name)')
        seen[export.clip_id] = export.path
    writer = SSUClipWriter(args.out_dir, args.rule, classes, args.audio_rate,
                           args.fps)
    jobs = [lambda e=e: writer.write(export_source(e, args)) for e in exports]
    clips, skipped = run_jobs(jobs, args.skip_bad, 'CVAT exports')
    metainfo = dict(dataset_name=args.dataset_name, classes=classes,
                    super_categories={}, fps=args.fps)
    ann_file = write_annotation(args.out_dir, args.split, metainfo, clips)
    bad += skipped
    print(f'wrote {len(clips)} clips to {ann_file}' +
          (f'; skipped {len(bad)} bad exports' if bad else ''))
    return ann_file


if __name__ == '__main__':
    run_cli(main)
