"""A tiny sr-Music asset tree for tests: the layout of
``tools/dataset_converters/semireal_assets.py``'s output, with generated
pictures and pure tones instead of package files."""
import hashlib
import json
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

TONE_RATE = 16000


def _sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _picture(rng: np.random.Generator, style_index: int) -> np.ndarray:
    """``[h, w, 4]`` BGRA: an ellipse (style 0) or a rectangle (style 1)
    of a random colour on transparent pixels."""
    h, w = int(rng.integers(24, 40)), int(rng.integers(16, 40))
    img = np.zeros((h, w, 4), np.uint8)
    colour = tuple(int(c) for c in rng.integers(40, 255, 3)) + (255, )
    if style_index == 0:
        cv2.ellipse(img, (w // 2, h // 2), (w // 2 - 1, h // 2 - 1), 0, 0,
                    360, colour, -1)
    else:
        cv2.rectangle(img, (1, 1), (w - 2, h - 2), colour, -1)
    return img


def write_tiny_semireal_assets(root: str, classes, seed: int = 0) -> Dict[
        str, float]:
    """Write ``index.json``, ``manifest.json`` and the files they list.

    Per class: 4 pictures (2 styles x 2), 2 renders per soundfont and 3
    recordings; 4 backgrounds. Every sound file is a pure tone of its own
    integer frequency, so a second of generated audio shows by its
    spectrum which files were mixed into it.

    Args:
        root (str): Output folder.
        classes (Sequence[str]): Class names.

    Returns:
        dict[str, float]: sound path (relative to ``root``) -> frequency.
    """
    from rassu_mm.datasets.semireal import write_wav
    rng = np.random.default_rng(seed)
    index = dict(classes={}, backgrounds=[], excluded_classes={})
    frequencies: Dict[str, float] = {}
    files = []

    def add(rel: str, source: str) -> None:
        files.append(
            dict(
                path=rel,
                package='test-assets',
                package_version='0',
                licence='CC0-1.0',
                source_file=source,
                sha256_source=_sha256(osp.join(root, rel)),
                sha256=_sha256(osp.join(root, rel))))

    def tone(rel: str) -> str:
        os.makedirs(osp.dirname(osp.join(root, rel)), exist_ok=True)
        freq = 200 + 40 * len(frequencies)
        t = np.arange(2 * TONE_RATE) / TONE_RATE
        write_wav(
            osp.join(root, rel), 0.5 * np.sin(2 * np.pi * freq * t),
            TONE_RATE)
        frequencies[rel] = float(freq)
        add(rel, 'generated tone')
        return rel

    for c, cls in enumerate(classes):
        name = cls.replace(' ', '_')
        os.makedirs(osp.join(root, 'pictures', name), exist_ok=True)
        pictures = []
        for style_index, style in enumerate(('photo', 'drawing')):
            for k in range(2):
                rel = f'pictures/{name}/{style}_{k}.png'
                cv2.imwrite(osp.join(root, rel), _picture(rng, style_index))
                add(rel, 'generated picture')
                pictures.append(dict(path=rel, style=style, source='test'))
        renders = {
            sf: [tone(f'renders/{sf}/{name}/{k}.wav') for k in range(2)]
            for sf in ('fluidr3', 'timgm6mb', 'musescore')
        }
        recordings = [
            dict(path=tone(f'recordings/{name}/rec_{k}.wav'), source='test')
            for k in range(3)
        ]
        index['classes'][cls] = dict(
            pictures=pictures, renders=renders, recordings=recordings)
    os.makedirs(osp.join(root, 'backgrounds'), exist_ok=True)
    for k in range(4):
        rel = f'backgrounds/photo_{k}.jpg'
        img = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, rel), cv2.GaussianBlur(img, (9, 9), 3))
        add(rel, 'generated photo')
        index['backgrounds'].append(dict(path=rel, source='test'))
    with open(osp.join(root, 'index.json'), 'w') as f:
        json.dump(index, f, indent=1)
    with open(osp.join(root, 'manifest.json'), 'w') as f:
        json.dump(
            dict(
                packages={
                    'test-assets': dict(version='0', licence='CC0-1.0')
                },
                files=files),
            f,
            indent=1)
    return frequencies


def write_tiny_semireal_set(root: str, num_clips, num_frames: int,
                            size) -> tuple:
    """A tiny asset tree (:func:`write_tiny_semireal_assets`, every
    sr-Music class) at ``root/assets`` and an sr-Music set generated from it
    at ``root/data`` (``num_clips``: train, val, test, test_real);
    returns ``(assets, data)``."""
    from rassu_mm.datasets.semireal import (SR_MUSIC_CLASSES,
                                            make_semireal_dataset)
    assets, data = osp.join(root, 'assets'), osp.join(root, 'data')
    write_tiny_semireal_assets(assets, SR_MUSIC_CLASSES)
    make_semireal_dataset(assets, data, num_clips=num_clips,
                          num_frames=num_frames, size=size, progress=False)
    return assets, data
