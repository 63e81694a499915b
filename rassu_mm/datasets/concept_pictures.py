"""A generic picture-text corpus for the stand-in CLIP: the icons of the
Iconify sets that sr-Music already downloads, minus every instrument.

The paper's CLIP learned what things look like from web-scale image-text
pairs before it met any instrument. The stand-in gets the closest thing
the packages hold: thousands of named pictures of everyday concepts, many
drawn by several artworks (the "red apple" of Twemoji, OpenMoji, Fluent,
Noto 1, EmojiOne 1, Firefox OS, Streamline and the game-icons
silhouette), so that a contrastive model can learn to match one concept
across drawing styles. No instrument, and nothing musical, is in it
(:data:`EXCLUDED_WORDS`), so no held-out sr-Music picture is seen::

    <out>/pictures/<set>/<icon>.png   RGBA, cropped to alpha, longest side 64
    <out>/index.json                  {"concepts": [{path, text, set}]}
    <out>/manifest.json               package, licence, SHA-256 per file

Deterministic: the same icon sets give byte-identical files.
"""
import json
import os
import os.path as osp
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch

from .semireal_assets import (ICONIFY_ICONS, AssetError, AssetWriter,
                              Licences, PackageTree, alpha_crop,
                              decode_picture, encode_png, fit_longest,
                              iconify_svg, render_svg, sha256, source_tag,
                              write_json)

CONCEPT_SIZE = 64  # longest side of a concept picture
# the emoji artworks and silhouettes among sr-Music's Iconify sets (mdi's
# user-interface glyphs are left out: few concepts shared with the others)
CONCEPT_SETS = ('@iconify-json/twemoji', '@iconify-json/openmoji',
                '@iconify-json/fluent-emoji',
                '@iconify-json/fluent-emoji-high-contrast',
                '@iconify-json/noto-v1', '@iconify-json/emojione-v1',
                '@iconify-json/fxemoji', '@iconify-json/streamline-emojis',
                '@iconify-json/game-icons')
# an icon whose name holds one of these words is left out: instruments,
# music, and people or things shown with one
EXCLUDED_WORDS = (
    'accordion', 'bagpipe', 'band', 'banjo', 'bass', 'bassoon', 'bell',
    'bongo', 'cello', 'clarinet', 'conga', 'drum', 'erhu', 'fiddle',
    'flute', 'guitar', 'guzheng', 'harp', 'horn', 'instrument', 'keyboard',
    'lyre', 'maracas', 'metronome', 'microphone', 'music', 'musical',
    'note', 'notes', 'orchestra', 'piano', 'pipa', 'rock', 'saxophone',
    'singer', 'sitar', 'suona', 'trombone', 'trumpet', 'tuba', 'ukulele',
    'violin', 'xylophone')
# variants that repeat a concept (skin tones, genders of one activity's
# person are kept) or are no object (flags, keycaps, regional letters)
VARIANT_PATTERN = re.compile(
    r'(skin-tone|-dark$|-light$|-medium|^flag|^regional-indicator|'
    r'^keycap|^letter-|^digit-|^number-|-\d+$)')


def concept_names(icon_set: dict) -> List[str]:
    """The icons of a parsed Iconify set fit as concepts, sorted: not an
    alias, no word of :data:`EXCLUDED_WORDS` and no
    :data:`VARIANT_PATTERN` variant."""
    excluded = set(EXCLUDED_WORDS)
    return sorted(
        name for name in icon_set['icons']
        if not excluded & set(name.split('-'))
        and not VARIANT_PATTERN.search(name))


def concept_text(name: str) -> str:
    """The phrase of an icon: ``'red-apple'`` -> ``'a red apple'``."""
    return 'a ' + name.replace('-', ' ')


def _try_render(svg: bytes, name: str, size: int):
    """PNG bytes of an icon's SVG (RGBA, cropped to its alpha, longest
    side ``size``), or the reason it failed as a string."""
    try:
        rgba = decode_picture(render_svg(svg, name, size=4 * size), name)
        return encode_png(fit_longest(alpha_crop(rgba), size))
    except (AssetError, ValueError) as e:
        return f'{name}: {e}'


def build_concept_tree(packages_dir: str, out_dir: str, *,
                       sets: Sequence[str] = CONCEPT_SETS,
                       size: int = CONCEPT_SIZE, workers: int = 2,
                       log: Callable[[str], None] = print) -> Dict:
    """Render the concept icons of ``sets`` (those unpacked in
    ``packages_dir``) into ``out_dir`` and write ``index.json`` and
    ``manifest.json``; an icon rendered by an earlier run from the same
    SVG is kept, files no longer produced are removed.

    Returns:
        dict: The index, ``{'concepts': [{'path', 'text', 'set'}]}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    tree = PackageTree(packages_dir)
    writer = AssetWriter(out_dir, tree, Licences(tree), log)
    concepts, skipped = [], []
    for package in sets:
        if not tree.has(package):
            log(f'  no {package}: its icons are left out')
            continue
        icon_set = tree.icon_set(package, ICONIFY_ICONS)
        svgs = {n: iconify_svg(icon_set, n, f'{package}#{n}')
                for n in concept_names(icon_set)}
        rels = {n: f'pictures/{source_tag(package)}/{n}.png' for n in svgs}
        todo = [n for n in svgs
                if not writer.reusable(rels[n], sha256(svgs[n]))]
        with ThreadPoolExecutor(max(1, workers)) as pool:
            rendered = dict(zip(todo, pool.map(
                lambda n: _try_render(svgs[n], n, size), todo)))
        for name, svg in svgs.items():
            source = f'{ICONIFY_ICONS}#{name}'
            if isinstance(rendered.get(name), str):
                skipped.append(dict(source=f'{package}/{source}',
                                    reason=rendered[name]))
                continue
            writer.add(rels[name], package, source, sha256(svg),
                       lambda n=name: rendered[n])
            concepts.append(dict(path=rels[name], text=concept_text(name),
                                 set=source_tag(package)))
        log(f'  {package}: {len(svgs)} concepts, {len(todo)} rendered')
    for rel in set(writer.previous) - set(writer.files):
        if osp.exists(osp.join(out_dir, rel)):
            os.remove(osp.join(out_dir, rel))
    index = dict(concepts=concepts)
    write_json(osp.join(out_dir, 'index.json'), index)
    used = sorted({e['package'] for e in writer.files.values()})
    write_json(
        osp.join(out_dir, 'manifest.json'),
        dict(packages={p: dict(version=tree.version(p),
                               licence=writer.licences.package(p))
                       for p in used},
             excluded_words=list(EXCLUDED_WORDS),
             skipped=skipped,
             files=[writer.files[k] for k in sorted(writer.files)]))
    return index


def load_concepts(root: str):
    """The pictures and phrases of a concept tree.

    Returns:
        tuple: ``[N]`` list of uint8 RGBA ``[h, w, 4]`` arrays and the
        ``[N]`` list of their phrases.
    """
    import cv2
    path = osp.join(root, 'index.json')
    if not osp.exists(path):
        raise FileNotFoundError(
            f'no concept pictures at {root} (no index.json): run python '
            'tools/dataset_converters/semireal_assets.py')
    with open(path) as f:
        concepts = json.load(f)['concepts']
    pictures = []
    for c in concepts:
        rgba = cv2.imread(osp.join(root, c['path']), cv2.IMREAD_UNCHANGED)
        if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
            raise AssetError(f'{root}: {c["path"]} is not an RGBA PNG')
        pictures.append(cv2.cvtColor(rgba, cv2.COLOR_BGRA2RGBA))
    return pictures, [c['text'] for c in concepts]


def paste_concepts(pictures: Sequence[np.ndarray], height: int, width: int,
                   gen: torch.Generator, scale=(0.35, 0.95)):
    """Each picture alone on a black ``height`` x ``width`` frame, its
    longest side a random share ``scale`` of the frame's shorter side, at
    a random place inside the frame.

    Returns:
        tuple: uint8 frames ``[B, height, width, 3]`` and bool masks
        ``[B, height, width]`` (alpha >= 128 of the pasted picture).
    """
    import cv2
    frames = np.zeros((len(pictures), height, width, 3), np.uint8)
    masks = np.zeros((len(pictures), height, width), bool)
    draws = torch.rand(len(pictures), 3, generator=gen).numpy()
    side = min(height, width)
    for i, (rgba, (s, u, v)) in enumerate(zip(pictures, draws)):
        longest = max(2, round(side * (scale[0] + s * (scale[1] - scale[0]))))
        k = longest / max(rgba.shape[:2])
        w = max(1, round(rgba.shape[1] * k))
        h = max(1, round(rgba.shape[0] * k))
        pic = cv2.resize(rgba, (w, h), interpolation=cv2.INTER_AREA)
        y, x = int(u * (height - h + 1)), int(v * (width - w + 1))
        alpha = pic[..., 3:].astype(np.float32) / 255
        frames[i, y:y + h, x:x + w] = (pic[..., :3] * alpha).round()
        masks[i, y:y + h, x:x + w] = pic[..., 3] >= 128
    return frames, masks


def overlay_concepts(frames: torch.Tensor, labels: torch.Tensor,
                     pictures: Sequence[np.ndarray], label: int,
                     gen: torch.Generator, scale=(0.3, 0.65)):
    """Paste one picture over each frame as an occluding object of class
    ``label``, placed and sized as in :func:`paste_concepts`.

    Args:
        frames (Tensor): uint8 RGB ``[B, H, W, 3]``, one per picture.
        labels (Tensor): int64 class maps ``[B, H, W]``.

    Returns:
        tuple: new frames and labels (the inputs are left as they were);
        inside each picture's mask (alpha >= 128) the picture's pixels and
        ``label``.
    """
    pasted, masks = paste_concepts(pictures, *frames.shape[1:3], gen, scale)
    masks = torch.from_numpy(masks)
    frames, labels = frames.clone(), labels.clone()
    frames[masks] = torch.from_numpy(pasted)[masks]
    labels[masks] = label
    return frames, labels
