"""Write clips read from annotation exports in the SSU format."""
import json
import logging
import os
import os.path as osp
import shutil
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log
from tqdm import tqdm

from rassu_mm.apis.video_io import decode_audio, write_wav
from rassu_mm.utils.paths import safe_join
from ..errors import ClipDataError, check_clip_id
from .sounding import SoundingRule

AUDIO_EXTS = ('.wav', '.flac', '.mp3', '.m4a', '.aac', '.ogg', '.mp4',
              '.mkv', '.avi', '.mov', '.webm', '.m4v')


@dataclass
class ExportObject:
    """One annotated object on one frame.

    ``rasterize(height, width)`` returns its bool ``[H, W]`` mask and
    raises ``ValueError`` on a malformed shape.
    """
    label: str
    attributes: dict
    rasterize: Callable[[int, int], np.ndarray]


@dataclass
class ExportFrame:
    """The annotated frame chosen for one SSU frame.

    ``objects`` is ``None`` when the export has no masks for it (no
    ``mask`` entry is written); ``size`` is the export's ``(H, W)``.
    """
    image: str
    objects: Optional[List[ExportObject]]
    size: Optional[Tuple[int, int]] = None
    caption: Optional[str] = None


@dataclass
class ClipSource:
    """Everything needed to write one clip."""
    clip_id: str
    frames: List[ExportFrame]
    audio: str
    audio_start: float
    ann_path: str


def find_audio(audio_dir: str, names: Sequence[str], clip_id: str) -> str:
    """The first of ``audio_dir/<name>`` or ``audio_dir/<stem><ext>``
    (``ext`` in :data:`AUDIO_EXTS`) that exists."""
    for name in names:
        if name and osp.isfile(osp.join(audio_dir, name)):
            return osp.join(audio_dir, name)
        stem = osp.splitext(name)[0] if name else ''
        for ext in AUDIO_EXTS:
            path = osp.join(audio_dir, stem + ext)
            if stem and osp.isfile(path):
                return path
    raise ClipDataError(
        clip_id, audio_dir, f'no audio file {names[-1]}.wav (or another '
        f'extension of {", ".join(AUDIO_EXTS[1:4])}, a video ...) found')


class SSUClipWriter:
    """Copies frames, writes binary masks (union of the sounding objects,
    0/255) and 16-bit mono wav audio under ``out_dir``; every path is
    joined through :func:`safe_join`.

    Args:
        out_dir (str): SSU dataset root.
        rule (SoundingRule): which objects sound.
        classes (Sequence[str]): the dataset's classes (orders
            ``categories``).
        audio_rate (int): sample rate of the written wav files.
        fps (float): SSU frames per second (the audio is cut to the clip).
    """

    def __init__(self, out_dir: str, rule: SoundingRule,
                 classes: Sequence[str], audio_rate: int,
                 fps: float) -> None:
        self.out_dir = out_dir
        self.rule = rule
        self.classes = list(classes)
        self.audio_rate = audio_rate
        self.fps = fps

    def write(self, src: ClipSource) -> dict:
        """Write one clip's files; return its SSU clip entry."""
        check_clip_id(src.clip_id, src.ann_path)
        entries, present = [], set()
        for k, frame in enumerate(src.frames):
            entries.append(self._frame(src, k, frame, present))
        audio_rel = f'audio/{src.clip_id}.wav'
        self._audio(src, safe_join(self.out_dir, audio_rel))
        return dict(
            clip_id=src.clip_id,
            categories=[c for c in self.classes if c in present],
            audio=audio_rel,
            frames=entries)

    def _frame(self, src: ClipSource, k: int, frame: ExportFrame,
               present: set) -> dict:
        clip_id = src.clip_id
        if not osp.isfile(frame.image):
            raise ClipDataError(clip_id, frame.image, 'frame file not found')
        img = cv2.imread(frame.image, cv2.IMREAD_COLOR)
        if img is None:
            raise ClipDataError(clip_id, frame.image, 'unreadable frame')
        height, width = img.shape[:2]
        if frame.size is not None and tuple(frame.size) != (height, width):
            raise ClipDataError(
                clip_id, frame.image, f'frame size {height}x{width} differs '
                f'from the export\'s {frame.size[0]}x{frame.size[1]}')
        ext = osp.splitext(frame.image)[1].lower() or '.jpg'
        entry = dict(image=f'frames/{clip_id}/{k}{ext}')
        dst = safe_join(self.out_dir, entry['image'])
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copyfile(frame.image, dst)
        if frame.objects is not None:
            union = np.zeros((height, width), bool)
            for obj in frame.objects:
                if not self.rule(obj.label, obj.attributes):
                    continue
                try:
                    mask = obj.rasterize(height, width)
                except ValueError as err:
                    raise ClipDataError(
                        clip_id, src.ann_path,
                        f'{obj.label!r} on SSU frame {k}: {err}') from None
                if mask.any():
                    present.add(obj.label)
                union |= mask
            entry['mask'] = f'masks/{clip_id}/{k}.png'
            dst = safe_join(self.out_dir, entry['mask'])
            os.makedirs(osp.dirname(dst), exist_ok=True)
            cv2.imwrite(dst, union.astype(np.uint8) * 255)
        if frame.caption is not None:
            entry['caption'] = frame.caption
        return entry

    def _audio(self, src: ClipSource, dst: str) -> None:
        """The clip's ``len(frames) / fps`` seconds from ``audio_start``."""
        samples = decode_audio(src.audio, src.clip_id, self.audio_rate)
        start = int(round(src.audio_start * self.audio_rate))
        stop = start + int(round(len(src.frames) / self.fps *
                                 self.audio_rate))
        if start >= len(samples):
            length = len(samples) / self.audio_rate
            raise ClipDataError(
                src.clip_id, src.audio, f'audio ends ({length:.2f} s) before '
                f'the clip starts ({src.audio_start:.2f} s)')
        os.makedirs(osp.dirname(dst), exist_ok=True)
        write_wav(samples[start:stop], self.audio_rate, dst)


def run_jobs(jobs: Sequence[Callable[[], object]], skip_bad: bool,
             desc: str) -> Tuple[list, list]:
    """Run the jobs (one per clip); return ``(results, errors)``.

    With ``skip_bad`` a :class:`ClipDataError` skips the clip with a
    warning; otherwise it propagates.
    """
    results, bad = [], []
    for job in tqdm(jobs, desc=desc):
        try:
            results.append(job())
        except ClipDataError as err:
            if not skip_bad:
                raise
            bad.append(err)
            print_log(f'skipping: {err}', 'current', logging.WARNING)
    return results, bad


def write_annotation(out_dir: str, split: str, metainfo: dict,
                     clips: list) -> str:
    """Write ``annotations/<split>.json``; return its path."""
    ann_file = safe_join(out_dir, 'annotations', f'{split}.json')
    os.makedirs(osp.dirname(ann_file), exist_ok=True)
    with open(ann_file, 'w') as f:
        json.dump(dict(metainfo=metainfo, clips=clips), f, indent=1)
    return ann_file
