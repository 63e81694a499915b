"""The synthetic demo dataset (``DESIGN.md`` section 3), SSU format.

Every clip shows 2-3 objects of distinct classes (a colour + a shape) side
by side. Each class has its own sound (fundamental, harmonics, tremolo). In
each second a random subset of the objects sounds; that second's audio
mixes exactly their sounds (plus faint noise), the mask covers exactly
them, and the caption names them and their position, e.g. "The red
triangle on the left and the blue circle on the right are sounding." or
"Nothing is sounding.". Which objects are masked is decided only by the
audio, so an audio-blind model cannot solve it.

The hard preset (``preset='hard'``, for the ablation in ``docs/ablation.md``)
gives each component work to do: 12 classes in 4 super-categories whose
captions use their own verb ("The small striped hexagon on the left is
ringing."), a silent distractor with the colour of a source but the other
size and texture, and sources that start and stop from second to second.

Output is deterministic for a seed (byte-identical files).
"""
import json
import os
import os.path as osp
import wave
from functools import lru_cache, partial
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from rassu_mm.utils.class_names import (COLOURS, HARD_HIERARCHY, SHAPES,
                                       demo_classes, demo_metainfo,
                                       hard_classes, hard_metainfo)

POSITIONS = {
    2: ('on the left', 'on the right'),
    3: ('on the left', 'in the middle', 'on the right')
}
SPLITS = ('train', 'val', 'test')

HARD_SIZES = ('small', 'big')
HARD_TEXTURES = ('plain', 'striped')
# per super-category: partial frequency ratios (amplitude 1/k), tremolo
# (Hz, 0: none), decay (1/s, 0: none) restarting every pulse period (s)
_TIMBRES = (((1.0, 2.76, 5.4), 0, 3.0, 1.0), ((1.0, ), 6, 0.0, 1.0),
            (tuple(range(1, 9)), 11, 0.0, 1.0), ((1.0, 2.0), 0, 14.0, 0.25))
# the hard preset's 2x2 grid of cells, 3 of them occupied
GRID_POSITIONS = ('at the top left', 'at the top right', 'at the bottom left',
                  'at the bottom right')
# default clip counts (train, val, test) and classes
PRESETS = dict(
    demo=dict(num_clips=(120, 24, 24), num_classes=4),
    hard=dict(num_clips=(240, 24, 24), num_classes=12))


def _shape_mask(shape: str, cx: float, cy: float, r: float,
                size: Tuple[int, int]) -> np.ndarray:
    """uint8 ``[H, W]`` mask (1 inside) of a shape of radius ``r``."""
    mask = np.zeros(size, np.uint8)
    centre = (int(round(cx)), int(round(cy)))
    if shape in ('circle', 'ring'):
        cv2.circle(mask, centre, int(round(r)), 1, -1)
        if shape == 'ring':
            cv2.circle(mask, centre, int(round(0.55 * r)), 0, -1)
        return mask
    if shape == 'half disc':  # the upper half, centred on (cx, cy)
        cv2.ellipse(mask, (centre[0], int(round(cy + 0.4 * r))),
                    (int(round(r)), int(round(r))), 0, 180, 360, 1, -1)
        return mask
    if shape in ('pentagon', 'hexagon'):
        angles = np.arange(6 if shape == 'hexagon' else 5)
        angles = angles * 2 * np.pi / len(angles) - np.pi / 2
        pts = list(zip(np.cos(angles), np.sin(angles)))
    elif shape == 'arrow':  # pointing right
        pts = [(-1, -0.3), (0.1, -0.3), (0.1, -0.8), (1, 0), (0.1, 0.8),
               (0.1, 0.3), (-1, 0.3)]
    elif shape == 'square':
        pts = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        pts = [(x * 0.8, y * 0.8) for x, y in pts]
    elif shape == 'triangle':
        pts = [(0, -1), (0.95, 0.8), (-0.95, 0.8)]
    elif shape == 'diamond':
        pts = [(0, -1), (0.75, 0), (0, 1), (-0.75, 0)]
    elif shape in ('cross', 'saltire'):  # a saltire is an X
        a, b = 1.0, 0.35
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a),
               (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)]
        if shape == 'saltire':
            c = np.sqrt(0.5)
            pts = [(c * (x - y), c * (x + y)) for x, y in pts]
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


@lru_cache(maxsize=None)
def hierarchy_sound(super_index: int, sub_index: int, duration: float,
                    sample_rate: int) -> np.ndarray:
    """The sound of a hard-preset class: float32 ``[duration *
    sample_rate]`` (read-only, cached).

    The super-category sets the timbre (``_TIMBRES``: partials, tremolo,
    decaying pulses), the class within it the pitch: fundamental ``160 *
    2 ** (0.8 * sub_index + 0.2 * super_index)`` Hz, distinct for all 12.
    """
    t = np.arange(int(round(duration * sample_rate))) / sample_rate
    partials, tremolo, decay, period = _TIMBRES[super_index]
    f0 = 160.0 * 2**(0.8 * sub_index + 0.2 * super_index)
    sound = sum(
        np.sin(2 * np.pi * f0 * p * t) / (k + 1)
        for k, p in enumerate(partials) if f0 * p < 7000)
    if tremolo:
        sound = sound * (0.6 + 0.4 * np.sin(2 * np.pi * tremolo * t))
    if decay:
        sound = sound * np.exp(-decay * (t % period))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)
    sound = (0.25 * sound * fade / np.max(np.abs(sound))).astype(np.float32)
    sound.setflags(write=False)
    return sound


def hard_caption(parts: Sequence[Tuple[str, str]]) -> str:
    """Caption of the sounding sources, ``(description, verb)`` each, e.g.
    "The big striped star on the left is growling."."""
    if not parts:
        return 'Nothing is sounding.'
    text = ' and '.join(f'the {desc} {verb}' for desc, verb in parts) + '.'
    return text[0].upper() + text[1:]


def _render_clip(rng: np.random.Generator, clip_id: str, out_dir: str,
                 size: Tuple[int, int], background: np.ndarray,
                 objects: List[dict], sounding: np.ndarray,
                 captions: List[str], sample_rate: int, mask_mode: str,
                 jitter: float = 0.04) -> Tuple[List[dict], str]:
    """Draw, sound and write the frames, masks and audio of one clip.

    Args:
        background (np.ndarray): the background colour (3 ints, BGR).
        objects (list[dict]): ``shape``, ``rgb``, ``centre`` ``(x, y)``,
            ``radius``, ``texture`` (``'plain'``/``'striped'``), ``cls``
            (class index) and ``sound`` (one second of audio) of each
            object.
        sounding (np.ndarray): bool ``[T, len(objects)]``.
        captions (list[str]): the ``T`` captions.
        jitter (float): per-frame position jitter, fraction of ``(W, H)``.

    Returns:
        tuple: the ``frames`` entries (``image``, ``mask``, ``caption``) and
        the audio path, relative to ``out_dir``.
    """
    h, w = size
    for sub in ('frames', 'masks'):
        os.makedirs(osp.join(out_dir, sub, clip_id), exist_ok=True)
    stripes = ((np.arange(h) // 2) % 2 == 1)[:, None]
    frames, audio = [], []
    for k, caption in enumerate(captions):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = background[None, None]
        noise = rng.integers(0, 12, size=(h, w, 1), dtype=np.uint8)
        img = img + noise
        mask = np.zeros((h, w), np.uint8)
        second = rng.normal(0, 0.003, sample_rate).astype(np.float32)
        for j, obj in enumerate(objects):
            shift = rng.uniform(-jitter, jitter, size=2) * (w, h)
            region = _shape_mask(obj['shape'], obj['centre'][0] + shift[0],
                                 obj['centre'][1] + shift[1], obj['radius'],
                                 (h, w)) > 0
            bgr = np.array(obj['rgb'][::-1])  # cv2 writes BGR
            img[region] = bgr
            if obj.get('texture', 'plain') == 'striped':
                img[region & stripes] = (0.35 * bgr).astype(np.uint8)
            if sounding[k, j]:
                mask[region] = 255 if mask_mode == 'binary' else obj['cls'] + 1
                second += obj['sound']
        audio.append(second)
        image_rel = f'frames/{clip_id}/{k}.jpg'
        mask_rel = f'masks/{clip_id}/{k}.png'
        cv2.imwrite(osp.join(out_dir, image_rel), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(osp.join(out_dir, mask_rel), mask)
        frames.append(dict(image=image_rel, mask=mask_rel, caption=caption))

    audio_rel = f'audio/{clip_id}.wav'
    pcm = np.round(np.clip(np.concatenate(audio), -1, 1) * 32767)
    with wave.open(osp.join(out_dir, audio_rel), 'wb') as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.astype('<i2').tobytes())
    return frames, audio_rel


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
    objects = [
        dict(shape=classes[c][1], rgb=classes[c][2], centre=centres[j],
             radius=radius, cls=int(c),
             sound=class_sound(int(c), 1.0, sample_rate))
        for j, c in enumerate(obj_classes)
    ]
    background = rng.integers(20, 90, size=3)
    sounding = rng.random((num_frames, num_obj)) < 0.5
    captions = [
        caption_for([
            f'{classes[c][0]} {POSITIONS[num_obj][j]}'
            for j, c in enumerate(obj_classes) if sounding[k, j]
        ]) for k in range(num_frames)
    ]
    frames, audio_rel = _render_clip(rng, clip_id, out_dir, size,
                                     background, objects, sounding,
                                     captions, sample_rate, mask_mode)
    heard = sorted({int(obj_classes[j]) for j in np.nonzero(sounding)[1]})
    return dict(
        clip_id=clip_id,
        categories=[classes[c][0] for c in heard],
        audio=audio_rel,
        frames=frames)


def hard_layout(rng: np.random.Generator,
                size: Tuple[int, int]) -> List[dict]:
    """The three objects of a hard-preset clip.

    Two sources of distinct classes and one silent distractor of a third
    class, each in its own cell of a 2x2 grid. The sources have distinct
    random colours and random sizes and textures; the distractor has the
    colour of one source (its "twin") and the other size and texture, so
    only the appearance inside the sounding mask tells which words the
    caption needs.

    Returns:
        list[dict]: sources first; ``shape`` (= class name), ``cls``,
        ``super_index``, ``sub_index``, ``colour`` (index into
        ``COLOURS``), ``rgb``, ``size`` and ``texture`` (words), ``cell``
        (index into ``GRID_POSITIONS``), ``centre`` ``(x, y)``, ``radius``
        and ``source`` (bool).
    """
    h, w = size
    classes = hard_classes()
    sources = rng.choice(len(classes), 2, replace=False)
    distractor = rng.choice(np.setdiff1d(np.arange(len(classes)), sources))
    colours = rng.choice(len(COLOURS), 2, replace=False)
    sizes = rng.integers(0, 2, size=2)
    textures = rng.integers(0, 2, size=2)
    twin = int(rng.integers(0, 2))
    attrs = [(int(c), int(colours[j]), int(sizes[j]), int(textures[j]))
             for j, c in enumerate(sources)]
    attrs.append((int(distractor), attrs[twin][1], 1 - attrs[twin][2],
                  1 - attrs[twin][3]))
    cells = rng.choice(len(GRID_POSITIONS), 3, replace=False)
    cell_w, cell_h = w / 2, h / 2
    big = 0.34 * min(cell_w, cell_h)
    objects = []
    for j, (c, colour, size_idx, texture) in enumerate(attrs):
        name, super_idx, sub_idx = classes[c]
        centre = ((cells[j] % 2 + 0.5 + rng.uniform(-0.04, 0.04)) * cell_w,
                  (cells[j] // 2 + 0.5 + rng.uniform(-0.04, 0.04)) * cell_h)
        objects.append(
            dict(
                shape=name,
                cls=c,
                super_index=super_idx,
                sub_index=sub_idx,
                colour=colour,
                rgb=COLOURS[colour][1],
                size=HARD_SIZES[size_idx],
                texture=HARD_TEXTURES[texture],
                cell=int(cells[j]),
                centre=centre,
                radius=big * (1.0 if size_idx else 0.6),
                source=j < 2))
    return objects


def _make_hard_clip(rng: np.random.Generator, clip_id: str, out_dir: str,
                    num_frames: int, size: Tuple[int, int],
                    sample_rate: int, mask_mode: str) -> dict:
    """A hard-preset clip (:func:`hard_layout`); each source sounds in a
    random half of the seconds, the distractor never."""
    objects = hard_layout(rng, size)
    for obj in objects:
        obj['sound'] = hierarchy_sound(obj['super_index'], obj['sub_index'],
                                       1.0, sample_rate)
    background = rng.integers(20, 90, size=3)
    sounding = np.zeros((num_frames, len(objects)), bool)
    sounding[:, :2] = rng.random((num_frames, 2)) < 0.5
    reading_order = sorted(range(len(objects)),
                           key=lambda j: objects[j]['cell'])
    captions, frame_categories = [], []
    for k in range(num_frames):
        on = [objects[j] for j in reading_order if sounding[k, j]]
        captions.append(
            hard_caption([(f"{o['size']} {o['texture']} {o['shape']} "
                           f"{GRID_POSITIONS[o['cell']]}",
                           HARD_HIERARCHY[o['super_index']][1]) for o in on]))
        frame_categories.append([o['shape'] for o in on])
    frames, audio_rel = _render_clip(
        rng, clip_id, out_dir, size, background, objects, sounding,
        captions, sample_rate, mask_mode, jitter=0.03)
    for frame, cats in zip(frames, frame_categories):
        frame['categories'] = cats
    heard = sorted({objects[j]['cls'] for j in np.nonzero(sounding)[1]})
    classes = hard_classes()
    return dict(
        clip_id=clip_id,
        categories=[classes[c][0] for c in heard],
        audio=audio_rel,
        frames=frames)


def make_synthetic_dataset(out_dir: str,
                           num_clips: Optional[Sequence[int]] = None,
                           num_frames: int = 5,
                           size: Tuple[int, int] = (64, 64),
                           num_classes: Optional[int] = None,
                           seed: int = 0,
                           sample_rate: int = 16000,
                           mask_mode: str = 'binary',
                           progress: bool = True,
                           preset: str = 'demo') -> Dict[str, str]:
    """Write a synthetic dataset to ``out_dir`` in the SSU format.

    ``preset='demo'``: 2-3 objects of distinct classes (colour + shape) per
    clip, templated captions. ``preset='hard'`` (:func:`_make_hard_clip`):
    12 classes in 4 super-categories with their own timbres and verbs, a
    silent distractor of a source's colour, sizes and textures the captions
    name, per-frame ``categories`` in each frame entry. ``PRESETS`` lists
    each preset's default clip counts and classes.

    Args:
        out_dir (str): Output root (``annotations/``, ``frames/``,
            ``masks/``, ``audio/`` are created in it).
        num_clips (Sequence[int], optional): Clips in train, val, test;
            defaults to the preset's (``PRESETS``).
        num_frames (int): ``T``, frames (= seconds) per clip.
        size (tuple[int, int]): Frame ``(H, W)``.
        num_classes (int, optional): Object classes of the demo preset,
            2..8 (default 4); the hard preset has its fixed 12.
        seed (int): Random seed; the output is a function of all arguments.
        sample_rate (int): Audio rate of the written wavs.
        mask_mode (str): ``'binary'`` (0/255) or ``'semantic'`` (class
            index + 1).
        progress (bool): Show a progress bar.
        preset (str): ``'demo'`` or ``'hard'``. Defaults to ``'demo'``.

    Returns:
        dict[str, str]: Split name -> annotation file path.
    """
    from tqdm import tqdm
    if mask_mode not in ('binary', 'semantic'):
        raise ValueError(f'unknown mask_mode {mask_mode!r}')
    if num_frames < 1 or min(size) < 16:
        raise ValueError('need num_frames >= 1 and frames of >= 16x16')
    if preset not in PRESETS:
        raise ValueError(f'preset must be one of {sorted(PRESETS)}, '
                         f'got {preset!r}')
    if num_classes is None:
        num_classes = PRESETS[preset]['num_classes']
    if num_clips is None:
        num_clips = PRESETS[preset]['num_clips']
    if preset == 'hard':
        if num_classes != PRESETS['hard']['num_classes']:
            raise ValueError('the hard preset has 12 classes, got '
                             f'num_classes={num_classes}')
        meta = hard_metainfo()
        make_clip = _make_hard_clip
    else:
        meta = demo_metainfo(num_classes)
        make_clip = partial(_make_clip, classes=demo_classes(num_classes))
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
                make_clip(rng, f'{split}_{i:04d}', out_dir, num_frames,
                          tuple(size), sample_rate=sample_rate,
                          mask_mode=mask_mode))
            bar.update()
        ann_files[split] = osp.join(out_dir, 'annotations', f'{split}.json')
        with open(ann_files[split], 'w') as f:
            json.dump(dict(metainfo=meta, clips=clips), f, indent=1)
    bar.close()
    return ann_files
