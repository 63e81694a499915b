"""The synthetic demo dataset (``DESIGN.md`` section 3), SSU format.

Every clip shows 2-3 objects of distinct classes (a colour + a shape) side
by side. Each class has its own sound (fundamental, harmonics, tremolo). In
each second a random subset of the objects sounds; that second's audio
mixes exactly their sounds (plus faint noise), the mask covers exactly
them, and the caption names them and their position, e.g. "The red
triangle on the left and the blue circle on the right are sounding." or
"Nothing is sounding.". Which objects are masked is decided only by the
audio, so an audio-blind model cannot solve it.

Output is deterministic for a seed (byte-identical files).
"""
import json
import os
import os.path as osp
import wave
from functools import lru_cache
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

COLOURS = (('red', (220, 40, 40)), ('blue', (50, 90, 235)),
           ('green', (40, 190, 70)), ('yellow', (235, 215, 40)),
           ('magenta', (220, 50, 220)), ('cyan', (40, 215, 225)),
           ('orange', (245, 140, 30)), ('white', (240, 240, 240)))
SHAPES = ('triangle', 'circle', 'square', 'diamond', 'cross', 'star')
MAX_CLASSES = len(COLOURS)
POSITIONS = {
    2: ('on the left', 'on the right'),
    3: ('on the left', 'in the middle', 'on the right')
}
SPLITS = ('train', 'val', 'test')


def demo_classes(num_classes: int) -> List[Tuple[str, str, tuple]]:
    """``(name, shape, rgb)`` of the first ``num_classes`` demo classes."""
    if not 2 <= num_classes <= MAX_CLASSES:
        raise ValueError(f'num_classes must be in 2..{MAX_CLASSES}, '
                         f'got {num_classes}')
    return [(f'{COLOURS[i][0]} {SHAPES[i % len(SHAPES)]}',
             SHAPES[i % len(SHAPES)], COLOURS[i][1])
            for i in range(num_classes)]


def demo_metainfo(num_classes: int) -> dict:
    """SSU metainfo: classes, super-categories by shape, colour palette."""
    classes = demo_classes(num_classes)
    super_categories: Dict[str, List[str]] = {}
    for name, shape, _ in classes:
        super_categories.setdefault(shape.capitalize(), []).append(name)
    return dict(
        dataset_name='SSU-Demo',
        classes=[c[0] for c in classes],
        super_categories=super_categories,
        palette=[list(c[2]) for c in classes],
        fps=1)


def _shape_mask(shape: str, cx: float, cy: float, r: float,
                size: Tuple[int, int]) -> np.ndarray:
    """uint8 ``[H, W]`` mask (1 inside) of a shape of radius ``r``."""
    mask = np.zeros(size, np.uint8)
    if shape == 'circle':
        cv2.circle(mask, (int(round(cx)), int(round(cy))), int(round(r)), 1,
                   -1)
        return mask
    if shape == 'square':
        pts = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        pts = [(x * 0.8, y * 0.8) for x, y in pts]
    elif shape == 'triangle':
        pts = [(0, -1), (0.95, 0.8), (-0.95, 0.8)]
    elif shape == 'diamond':
        pts = [(0, -1), (0.75, 0), (0, 1), (-0.75, 0)]
    elif shape == 'cross':
        a, b = 1.0, 0.35
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a),
               (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)]
    else:  # star
        angles = np.arange(10) * np.pi / 5 - np.pi / 2
        radii = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = list(zip(radii * np.cos(angles), radii * np.sin(angles)))
    poly = np.array([[cx + x * r, cy + y * r] for x, y in pts])
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask


@lru_cache(maxsize=None)
def class_sound(index: int, duration: float, sample_rate: int) -> np.ndarray:
    """The sound of class ``index``: float32 ``[duration * sample_rate]``
    (read-only, cached).

    Fundamental ``220 * 2 ** (0.6 * index)`` Hz, ``1 / 3 / 6`` harmonics
    and a ``0 / 5 / 11`` Hz tremolo by ``index % 3``, 10 ms fades.
    """
    t = np.arange(int(round(duration * sample_rate))) / sample_rate
    f0 = 220.0 * 2**(0.6 * index)
    harmonics = (1, 3, 6)[index % 3]
    sound = sum(
        np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, harmonics + 1)
        if f0 * h < 7000)
    tremolo = (0, 5, 11)[index % 3]
    if tremolo:
        sound = sound * (0.6 + 0.4 * np.sin(2 * np.pi * tremolo * t))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)
    sound = (0.25 * sound * fade / np.max(np.abs(sound))).astype(np.float32)
    sound.setflags(write=False)
    return sound


def caption_for(names: Sequence[str]) -> str:
    """Caption of the sounding ``names`` (each "<class> <position>")."""
    if not names:
        return 'Nothing is sounding.'
    if len(names) == 1:
        text = f'the {names[0]} is sounding.'
    else:
        listed = [f'the {n}' for n in names]
        text = (', '.join(listed[:-1]) + ' and ' + listed[-1] +
                ' are sounding.')
    return text[0].upper() + text[1:]


def _make_clip(rng: np.random.Generator, clip_id: str, out_dir: str,
               num_frames: int, size: Tuple[int, int], classes: list,
               sample_rate: int, mask_mode: str) -> dict:
    h, w = size
    num_obj = int(rng.integers(2, 4)) if len(classes) >= 3 else 2
    obj_classes = rng.choice(len(classes), num_obj, replace=False)
    slot_w = w / num_obj
    radius = 0.3 * min(slot_w, h)
    centres = [((j + 0.5) * slot_w + rng.uniform(-0.1, 0.1) * slot_w,
                h / 2 + rng.uniform(-0.2, 0.2) * h) for j in range(num_obj)]
    background = rng.integers(20, 90, size=3)
    sounding = rng.random((num_frames, num_obj)) < 0.5

    for sub in ('frames', 'masks'):
        os.makedirs(osp.join(out_dir, sub, clip_id), exist_ok=True)
    frames, audio = [], []
    for k in range(num_frames):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = background[None, None]
        noise = rng.integers(0, 12, size=(h, w, 1), dtype=np.uint8)
        img = img + noise
        mask = np.zeros((h, w), np.uint8)
        names = []
        second = rng.normal(0, 0.003, sample_rate).astype(np.float32)
        for j, c in enumerate(obj_classes):
            jitter = rng.uniform(-0.04, 0.04, size=2) * (w, h)
            name, shape, rgb = classes[c]
            obj = _shape_mask(shape, centres[j][0] + jitter[0],
                              centres[j][1] + jitter[1], radius, (h, w))
            img[obj > 0] = rgb[::-1]  # BGR for cv2
            if sounding[k, j]:
                mask[obj > 0] = 255 if mask_mode == 'binary' else c + 1
                names.append(f'{name} {POSITIONS[num_obj][j]}')
                second += class_sound(int(c), 1.0, sample_rate)
        audio.append(second)
        image_rel = f'frames/{clip_id}/{k}.jpg'
        mask_rel = f'masks/{clip_id}/{k}.png'
        cv2.imwrite(osp.join(out_dir, image_rel), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(osp.join(out_dir, mask_rel), mask)
        frames.append(
            dict(image=image_rel, mask=mask_rel, caption=caption_for(names)))

    audio_rel = f'audio/{clip_id}.wav'
    pcm = np.round(np.clip(np.concatenate(audio), -1, 1) * 32767)
    with wave.open(osp.join(out_dir, audio_rel), 'wb') as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.astype('<i2').tobytes())
    heard = sorted({int(obj_classes[j]) for j in np.nonzero(sounding)[1]})
    return dict(
        clip_id=clip_id,
        categories=[classes[c][0] for c in heard],
        audio=audio_rel,
        frames=frames)


def make_synthetic_dataset(out_dir: str,
                           num_clips: Sequence[int] = (120, 24, 24),
                           num_frames: int = 5,
                           size: Tuple[int, int] = (64, 64),
                           num_classes: int = 4,
                           seed: int = 0,
                           sample_rate: int = 16000,
                           mask_mode: str = 'binary',
                           progress: bool = True) -> Dict[str, str]:
    """Write the demo dataset to ``out_dir`` in the SSU format.

    Args:
        out_dir (str): Output root (``annotations/``, ``frames/``,
            ``masks/``, ``audio/`` are created in it).
        num_clips (Sequence[int]): Clips in train, val, test.
        num_frames (int): ``T``, frames (= seconds) per clip.
        size (tuple[int, int]): Frame ``(H, W)``.
        num_classes (int): Object classes, 2..8.
        seed (int): Random seed; the output is a function of all arguments.
        sample_rate (int): Audio rate of the written wavs.
        mask_mode (str): ``'binary'`` (0/255) or ``'semantic'`` (class
            index + 1).
        progress (bool): Show a progress bar.

    Returns:
        dict[str, str]: Split name -> annotation file path.
    """
    from tqdm import tqdm
    if mask_mode not in ('binary', 'semantic'):
        raise ValueError(f'unknown mask_mode {mask_mode!r}')
    if num_frames < 1 or min(size) < 16:
        raise ValueError('need num_frames >= 1 and frames of >= 16x16')
    classes = demo_classes(num_classes)
    meta = demo_metainfo(num_classes)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'audio'), exist_ok=True)
    ann_files = {}
    bar = tqdm(total=sum(num_clips), desc='synthetic clips', disable=not
               progress)
    for split_idx, (split, count) in enumerate(zip(SPLITS, num_clips)):
        clips = []
        for i in range(count):
            rng = np.random.default_rng([seed, split_idx, i])
            clips.append(
                _make_clip(rng, f'{split}_{i:04d}', out_dir, num_frames,
                           tuple(size), classes, sample_rate, mask_mode))
            bar.update()
        ann_files[split] = osp.join(out_dir, 'annotations', f'{split}.json')
        with open(ann_files[split], 'w') as f:
            json.dump(dict(metainfo=meta, clips=clips), f, indent=1)
    bar.close()
    return ann_files
