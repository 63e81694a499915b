"""sr-Music: a semi-real SSU benchmark from real recordings and pictures.

Every clip composes 2-4 instrument pictures (photo cut-outs, drawings,
emoji, clip art: their alpha is the object) at random scales and positions,
with occlusion, on a real photograph. In each second 0-2 of the objects
sound: that second's audio mixes one-second windows of their sounds (a
soundfont render or a real recording per object), the mask covers exactly
their visible pixels, and the caption names them with their appearance
and position, e.g. "The small drawn violin on the left is being played and
the big real trumpet at the top right is being blown.". The other objects
are silent distractors.

The assets come from Debian packages (``docs/semireal.md`` section 1):
``tools/dataset_converters/semireal_assets.py`` installs and normalises
them into an asset tree with ``index.json`` and ``manifest.json``. Splits
are disjoint by asset file (:func:`split_assets`): ``train`` and ``val``
use the training pictures and backgrounds, the FluidR3 and TimGM6mb
renders and the training recordings; ``test`` uses the held-out pictures
and backgrounds, the MuseScore renders and the held-out recordings;
``test_real`` the held-out pictures and only held-out real recordings.

Output is deterministic for a seed and an asset tree (byte-identical).
"""
import hashlib
import json
import os
import os.path as osp
import wave
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from rassu_mm.utils.class_names import (SR_MUSIC_CLASSES,
                                       SR_MUSIC_METAINFO,
                                       SR_MUSIC_SUPER_CATEGORIES)

# the captions' verb per super-category and word per picture style
VERBS = {
    'String': 'is being played',
    'Percussion': 'is being struck',
    'Keyboard': 'is being played',
    'Wind': 'is being blown'
}
STYLE_WORDS = {
    'photo': 'real',
    'drawing': 'drawn',
    'emoji': 'cartoon',
    'clipart': 'painted',
    'icon': 'black'
}
SPLITS = ('train', 'val', 'test', 'test_real')
# the soundfonts rendering each split's sounds (test_real: recordings only)
SPLIT_SOUNDFONTS = dict(
    train=('fluidr3', 'timgm6mb'),
    val=('fluidr3', 'timgm6mb'),
    test=('musescore', ),
    test_real=())
DEFAULT_NUM_CLIPS = (3000, 150, 150, 150)
# probabilities of 0, 1 and 2 sources sounding in a second
NUM_SOURCES_P = (0.1, 0.55, 0.35)


def _held_out(paths: Sequence[str], fraction: float) -> set:
    """Every ``1 / fraction``-th path in sorted order (at least one when
    there are two or more), so that the choice depends on the files only."""
    paths = sorted(paths)
    if len(paths) < 2:
        return set()
    step = max(2, int(round(1 / fraction)))
    return set(paths[step // 2::step] or paths[-1:])


def split_assets(index: dict, test_fraction: float = 0.34) -> Dict[str, dict]:
    """The asset files of each split, disjoint between training and test.

    Pictures are held out per class and style (so both sides keep every
    style a class has), recordings and backgrounds by sorted position.

    Args:
        index (dict): The asset tree's ``index.json``.
        test_fraction (float): Share of each class's pictures, recordings
            and of the backgrounds held out for the test splits.

    Returns:
        dict[str, dict]: split -> ``pictures`` (class -> list of picture
        entries), ``sounds`` (class -> list of ``(path, kind)``, kind
        ``'render'`` or ``'recording'``) and ``backgrounds`` (paths).
    """
    out = {s: dict(pictures={}, sounds={}, backgrounds=[]) for s in SPLITS}
    for cls in SR_MUSIC_CLASSES:
        entry = index['classes'][cls]
        held = set()
        for style in sorted({p['style'] for p in entry['pictures']}):
            held |= _held_out([
                p['path'] for p in entry['pictures'] if p['style'] == style
            ], test_fraction)
        recordings = [r['path'] for r in entry.get('recordings', [])]
        held_rec = _held_out(recordings, test_fraction)
        for split in SPLITS:
            test_side = split.startswith('test')
            out[split]['pictures'][cls] = [
                p for p in entry['pictures']
                if (p['path'] in held) == test_side
            ]
            sounds = [(path, 'render')
                      for sf in SPLIT_SOUNDFONTS[split]
                      for path in entry.get('renders', {}).get(sf, [])]
            sounds += [(path, 'recording') for path in recordings
                       if (path in held_rec) == test_side]
            out[split]['sounds'][cls] = sounds
    backgrounds = [b['path'] for b in index['backgrounds']]
    held_bg = _held_out(backgrounds, test_fraction)
    for split in SPLITS:
        out[split]['backgrounds'] = [
            b for b in backgrounds
            if (b in held_bg) == split.startswith('test')
        ]
    return out


@lru_cache(maxsize=None)
def _read_picture(path: str) -> np.ndarray:
    """``[h, w, 4]`` uint8 RGBA of a cut-out."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        raise ValueError(f'{path}: not an RGBA PNG')
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)


@lru_cache(maxsize=None)
def _read_background(path: str) -> np.ndarray:
    """``[h, w, 3]`` uint8 RGB of a background photo."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'{path}: not a readable image')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_wav(path: str) -> Tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the rate of a 16-bit PCM wav."""
    with wave.open(path, 'rb') as f:
        if f.getsampwidth() != 2:
            raise ValueError(f'{path}: not 16-bit PCM')
        pcm = np.frombuffer(f.readframes(f.getnframes()), '<i2')
        pcm = pcm.reshape(-1, f.getnchannels()).mean(1)
        return (pcm / 32768.0).astype(np.float32), f.getframerate()


@lru_cache(maxsize=None)
def _read_sound(path: str, sample_rate: int) -> Tuple[np.ndarray, tuple]:
    """The samples of a sound file at ``sample_rate``, and the offsets of
    its one-second windows loud enough to be heard (RMS at least a quarter
    of the loudest window's, hop 0.25 s)."""
    samples, rate = read_wav(path)
    if rate != sample_rate:
        import librosa
        samples = librosa.resample(
            samples, orig_sr=rate, target_sr=sample_rate).astype(np.float32)
    if len(samples) < sample_rate:
        samples = np.tile(samples, -(-sample_rate // max(len(samples), 1)))
    hop = sample_rate // 4
    starts = np.arange(0, len(samples) - sample_rate + 1, hop)
    rms = np.array([
        np.sqrt(np.mean(samples[s:s + sample_rate]**2)) for s in starts
    ])
    if rms.max() <= 0:
        raise ValueError(f'{path}: silent')
    return samples, tuple(int(s) for s in starts[rms >= 0.25 * rms.max()])


def _background(rng: np.random.Generator, photo: np.ndarray,
                size: Tuple[int, int]) -> np.ndarray:
    """A random crop of ``photo`` (at least half its short side), resized
    to ``size`` ``(H, W)``; ``[H, W, 3]`` float32 RGB."""
    h, w = size
    ph, pw = photo.shape[:2]
    side = rng.uniform(0.5, 1.0) * min(ph, pw * h / w)
    ch, cw = int(side), int(side * w / h)
    y0 = int(rng.integers(0, ph - ch + 1))
    x0 = int(rng.integers(0, pw - cw + 1))
    crop = photo[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(
        np.ascontiguousarray(crop), (w, h),
        interpolation=cv2.INTER_AREA).astype(np.float32)


def place_objects(rng: np.random.Generator, num_objects: int,
                  size: Tuple[int, int], aspect: Sequence[float]) -> list:
    """Boxes ``(x0, y0, w, h)`` (ints) of ``num_objects`` pictures.

    Heights are 35-65 % of the frame (scaled down with more objects);
    centres spread over horizontal slots with jitter, so that objects
    overlap (occlusion) but no object is mostly hidden by construction.

    Args:
        aspect (Sequence[float]): Width / height of each picture.
    """
    h, w = size
    slots = rng.permutation(num_objects)
    boxes = []
    for j in range(num_objects):
        scale = rng.uniform(0.35, 0.65) * (1.0 if num_objects < 4 else 0.8)
        bh = max(8, int(round(scale * h)))
        bw = max(8, min(int(round(bh * aspect[j])), int(0.6 * w)))
        cx = (slots[j] + 0.5 + rng.uniform(-0.3, 0.3)) * w / num_objects
        cy = rng.uniform(0.3, 0.7) * h
        x0 = int(np.clip(round(cx - bw / 2), 0, w - bw))
        y0 = int(np.clip(round(cy - bh / 2), 0, h - bh))
        boxes.append((x0, y0, bw, bh))
    return boxes


def position_words(box: Sequence[int], size: Tuple[int, int]) -> str:
    """Where a box's centre lies in a 3x3 grid of the frame, e.g. "on the
    left", "at the top right", "in the middle"."""
    h, w = size
    x0, y0, bw, bh = box
    col = min(2, int(3 * (x0 + bw / 2) / w))
    row = min(2, int(3 * (y0 + bh / 2) / h))
    horizontal = ('left', 'middle', 'right')[col]
    if row == 1:
        return 'in the middle' if col == 1 else f'on the {horizontal}'
    vertical = ('top', None, 'bottom')[row]
    return (f'at the {vertical}' if col == 1 else
            f'at the {vertical} {horizontal}')


def describe(obj: dict, size: Tuple[int, int]) -> str:
    """Size, appearance, class and position of an object, e.g. "small drawn
    violin on the left"."""
    big = obj['box'][3] >= 0.5 * size[0]
    return (f"{'big' if big else 'small'} {STYLE_WORDS[obj['style']]} "
            f"{obj['class']} {position_words(obj['box'], size)}")


def semireal_caption(objects: Sequence[dict], size: Tuple[int, int]) -> str:
    """Caption of the sounding objects, left to right."""
    if not objects:
        return 'Nothing is sounding.'
    objects = sorted(objects, key=lambda o: o['box'][0] + o['box'][2] / 2)
    text = ' and '.join(
        f"the {describe(o, size)} {VERBS[super_category(o['class'])]}"
        for o in objects) + '.'
    return text[0].upper() + text[1:]


def super_category(cls: str) -> str:
    """The sr-Music super-category of a class."""
    return next(g for g, members in SR_MUSIC_SUPER_CATEGORIES.items()
                if cls in members)


def paste(canvas: np.ndarray, picture: np.ndarray, box: Sequence[int],
          flip: bool) -> np.ndarray:
    """Alpha-blend an RGBA picture into ``canvas`` (``[H, W, 3]`` float32,
    changed in place) inside ``box``.

    Returns:
        np.ndarray: bool ``[H, W]``, the object's pixels (alpha >= 0.5).
    """
    x0, y0, bw, bh = box
    pic = cv2.resize(picture, (bw, bh), interpolation=cv2.INTER_AREA)
    if flip:
        pic = pic[:, ::-1]
    alpha = pic[..., 3:].astype(np.float32) / 255
    region = canvas[y0:y0 + bh, x0:x0 + bw]
    region[:] = alpha * pic[..., :3] + (1 - alpha) * region
    mask = np.zeros(canvas.shape[:2], bool)
    mask[y0:y0 + bh, x0:x0 + bw] = alpha[..., 0] >= 0.5
    return mask


def compose(background: np.ndarray, objects: Sequence[dict],
            asset_root: str) -> Tuple[np.ndarray, np.ndarray]:
    """Paste ``objects`` (``picture``, ``box``, ``flip``) in order.

    Args:
        background (np.ndarray): ``[H, W, 3]`` float32 RGB.

    Returns:
        tuple: the frame, ``[H, W, 3]`` uint8 RGB, and the index of the
        object seen at each pixel, int16 ``[H, W]`` (-1: background).
    """
    canvas = background.astype(np.float32, copy=True)
    visible = np.full(canvas.shape[:2], -1, np.int16)
    for j, obj in enumerate(objects):
        pic = _read_picture(osp.join(asset_root, obj['picture']))
        visible[paste(canvas, pic, obj['box'], obj['flip'])] = j
    return np.clip(np.round(canvas), 0, 255).astype(np.uint8), visible


def object_map(clip: dict, asset_root: str,
               size: Tuple[int, int]) -> np.ndarray:
    """The index of the object seen at each pixel of a generated clip
    (its annotation entry's ``objects``), int16 ``[H, W]``; -1 background.
    """
    _, visible = compose(np.zeros((*size, 3), np.float32), clip['objects'],
                         asset_root)
    return visible


def sounding_schedule(rng: np.random.Generator, num_frames: int,
                      num_objects: int) -> np.ndarray:
    """bool ``[T, num_objects]``: 0, 1 or 2 sources per second
    (``NUM_SOURCES_P``), drawn afresh every second."""
    sounding = np.zeros((num_frames, num_objects), bool)
    for k in range(num_frames):
        count = min(num_objects, int(rng.choice(3, p=NUM_SOURCES_P)))
        sounding[k, rng.choice(num_objects, count, replace=False)] = True
    return sounding


class SemiRealGenerator:
    """Writes sr-Music clips of one split from an asset tree.

    Args:
        asset_root (str): The folder holding ``index.json``.
        split (str): One of ``SPLITS``.
        assets (dict): This split's entry of :func:`split_assets`.
        size (tuple[int, int]): Frame ``(H, W)``.
        num_frames (int): ``T``, frames (= seconds) per clip.
        sample_rate (int): Audio rate of the written wavs.
        mask_mode (str): ``'binary'`` (0/255) or ``'semantic'`` (class
            index + 1).
    """

    def __init__(self, asset_root: str, split: str, assets: dict,
                 size: Tuple[int, int], num_frames: int, sample_rate: int,
                 mask_mode: str):
        self.asset_root = asset_root
        self.split = split
        self.assets = assets
        self.size = size
        self.num_frames = num_frames
        self.sample_rate = sample_rate
        self.mask_mode = mask_mode
        self.classes = [c for c in SR_MUSIC_CLASSES if assets['pictures'][c]]
        # test_real: only classes with a held-out recording can sound
        self.sound_classes = [c for c in self.classes if assets['sounds'][c]]

    def _path(self, rel: str) -> str:
        return osp.join(self.asset_root, rel)

    def draw_objects(self, rng: np.random.Generator) -> List[dict]:
        """2-4 objects of distinct classes, at least one of which can
        sound; ``class``, ``picture``, ``style``, ``box``, ``flip`` and
        ``sound`` (asset path, or None for a class that cannot sound)."""
        num = int(rng.integers(2, 5))
        first = self.sound_classes[int(rng.integers(len(self.sound_classes)))]
        others = [c for c in self.classes if c != first]
        classes = [first] + [
            others[i] for i in rng.choice(len(others), num - 1, replace=False)
        ]
        objects = []
        for cls in classes:
            pics = self.assets['pictures'][cls]
            pic = pics[int(rng.integers(len(pics)))]
            sounds = self.assets['sounds'][cls]
            sound = sounds[int(rng.integers(len(sounds)))][0] if sounds \
                else None
            objects.append(
                dict(
                    **{'class': cls},
                    picture=pic['path'],
                    style=pic['style'],
                    sound=sound,
                    flip=bool(rng.random() < 0.5)))
        aspects = [
            _read_picture(self._path(o['picture'])).shape[1] /
            _read_picture(self._path(o['picture'])).shape[0] for o in objects
        ]
        for obj, box in zip(objects,
                            place_objects(rng, num, self.size, aspects)):
            obj['box'] = [int(v) for v in box]
        return objects

    def _second(self, rng: np.random.Generator, sources: List[dict]):
        """One second of audio: a loud one-second window of each source's
        sound at a random gain, plus faint noise; ``[sample_rate]``."""
        audio = rng.normal(0, 1e-3, self.sample_rate).astype(np.float32)
        for obj in sources:
            samples, starts = _read_sound(
                self._path(obj['sound']), self.sample_rate)
            start = starts[int(rng.integers(len(starts)))]
            window = samples[start:start + self.sample_rate]
            rms = np.sqrt(np.mean(window**2))
            audio += rng.uniform(0.08, 0.16) * window / rms
        return np.clip(audio, -1, 1)

    def make_clip(self, rng: np.random.Generator, clip_id: str,
                  out_dir: str) -> dict:
        """Render and write one clip; returns its annotation entry, which
        also records ``objects`` (class, picture, sound, box, flip, paint
        order) and per frame the ``sounding`` object indices."""
        h, w = self.size
        objects = self.draw_objects(rng)
        sounding = sounding_schedule(rng, self.num_frames, len(objects))
        sounding &= np.array([o['sound'] is not None for o in objects])
        photos = self.assets['backgrounds']
        photo = photos[int(rng.integers(len(photos)))]
        background = _background(rng, _read_background(self._path(photo)),
                                 self.size)
        for sub in ('frames', 'masks'):
            os.makedirs(osp.join(out_dir, sub, clip_id), exist_ok=True)
        img, visible = compose(background, objects, self.asset_root)
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        frames, audio = [], []
        for k in range(self.num_frames):
            mask = np.zeros((h, w), np.uint8)
            for j in np.flatnonzero(sounding[k]):
                cls_index = SR_MUSIC_CLASSES.index(objects[j]['class'])
                mask[visible == j] = (255 if self.mask_mode == 'binary' else
                                      cls_index + 1)
            on = [objects[j] for j in np.flatnonzero(sounding[k])]
            audio.append(self._second(rng, on))
            image_rel = f'frames/{clip_id}/{k}.jpg'
            mask_rel = f'masks/{clip_id}/{k}.png'
            cv2.imwrite(
                osp.join(out_dir, image_rel), img,
                [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(out_dir, mask_rel), mask)
            frames.append(
                dict(
                    image=image_rel,
                    mask=mask_rel,
                    caption=semireal_caption(on, self.size),
                    categories=sorted({o['class'] for o in on}),
                    sounding=[int(j) for j in np.flatnonzero(sounding[k])]))
        audio_rel = f'audio/{clip_id}.wav'
        write_wav(osp.join(out_dir, audio_rel), np.concatenate(audio),
                  self.sample_rate)
        heard = {objects[j]['class'] for j in np.flatnonzero(sounding.any(0))}
        return dict(
            clip_id=clip_id,
            categories=[c for c in SR_MUSIC_CLASSES if c in heard],
            audio=audio_rel,
            frames=frames,
            background=photo,
            objects=objects)


def write_wav(path: str, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono float samples in [-1, 1] as 16-bit PCM."""
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype('<i2')
    with wave.open(path, 'wb') as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())


def _sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_attribution(asset_root: str, out_dir: str,
                      used: Dict[str, set]) -> str:
    """Write ``out_dir/assets.json``: every asset file each split used and
    its manifest entry (package, licence, SHA-256), checked against the
    files on disk.

    Returns:
        str: The written path.
    """
    with open(osp.join(asset_root, 'manifest.json')) as f:
        manifest = json.load(f)
    entries = {e['path']: e for e in manifest['files']}
    files = {}
    for path in sorted(set().union(*used.values())):
        if path not in entries:
            raise KeyError(f'{asset_root}/manifest.json has no entry for '
                           f'{path}')
        if _sha256(osp.join(asset_root, path)) != entries[path]['sha256']:
            raise ValueError(f'{asset_root}/{path}: SHA-256 differs from '
                             'manifest.json')
        files[path] = entries[path]
    out = osp.join(out_dir, 'assets.json')
    with open(out, 'w') as f:
        json.dump(
            dict(
                packages=manifest.get('packages', {}),
                splits={s: sorted(p)
                        for s, p in used.items()},
                files=files),
            f,
            indent=1)
    return out


def make_semireal_dataset(asset_root: str,
                          out_dir: str,
                          num_clips: Optional[Sequence[int]] = None,
                          num_frames: int = 5,
                          size: Tuple[int, int] = (96, 96),
                          seed: int = 0,
                          sample_rate: int = 16000,
                          mask_mode: str = 'binary',
                          progress: bool = True) -> Dict[str, str]:
    """Write sr-Music to ``out_dir`` in the SSU format.

    Args:
        asset_root (str): The asset tree (``index.json``, ``manifest.json``).
        out_dir (str): Output root (``annotations/``, ``frames/``,
            ``masks/``, ``audio/`` and ``assets.json`` are written in it).
        num_clips (Sequence[int], optional): Clips of ``train``, ``val``,
            ``test``, ``test_real``; defaults to ``DEFAULT_NUM_CLIPS``.
        num_frames (int): ``T``, frames (= seconds) per clip.
        size (tuple[int, int]): Frame ``(H, W)``.
        seed (int): Random seed; the output is a function of all arguments
            and the asset tree.
        sample_rate (int): Audio rate of the written wavs.
        mask_mode (str): ``'binary'`` (0/255) or ``'semantic'``.
        progress (bool): Show a progress bar.

    Returns:
        dict[str, str]: Split name -> annotation file path.
    """
    from tqdm import tqdm
    if mask_mode not in ('binary', 'semantic'):
        raise ValueError(f'unknown mask_mode {mask_mode!r}')
    if num_frames < 1 or min(size) < 32:
        raise ValueError('need num_frames >= 1 and frames of >= 32x32')
    num_clips = DEFAULT_NUM_CLIPS if num_clips is None else num_clips
    with open(osp.join(asset_root, 'index.json')) as f:
        index = json.load(f)
    missing = [c for c in SR_MUSIC_CLASSES if c not in index['classes']]
    if missing:
        raise KeyError(f'{asset_root}/index.json lacks classes {missing}')
    assets = split_assets(index)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'audio'), exist_ok=True)
    ann_files, used = {}, {}
    bar = tqdm(total=sum(num_clips), desc='sr-Music clips',
               disable=not progress)
    for split_idx, (split, count) in enumerate(zip(SPLITS, num_clips)):
        generator = SemiRealGenerator(asset_root, split, assets[split],
                                      tuple(size), num_frames, sample_rate,
                                      mask_mode)
        clips = []
        for i in range(count):
            rng = np.random.default_rng([seed, split_idx, i])
            clips.append(
                generator.make_clip(rng, f'{split}_{i:05d}', out_dir))
            bar.update()
        used[split] = {
            p
            for clip in clips
            for p in [clip['background']] +
            [o['picture'] for o in clip['objects']] +
            [o['sound'] for o in clip['objects']] if p is not None
        }
        ann_files[split] = osp.join(out_dir, 'annotations', f'{split}.json')
        with open(ann_files[split], 'w') as f:
            json.dump(dict(metainfo=SR_MUSIC_METAINFO, clips=clips), f,
                      indent=1)
    bar.close()
    write_attribution(asset_root, out_dir, used)
    return ann_files
