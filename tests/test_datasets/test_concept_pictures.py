"""The stand-in CLIP's concept corpus on a tiny Iconify set built here:
which icons are concepts, the rendered files and their manifest, a
rebuild that keeps them, and pictures pasted with their masks."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from rassu_mm.datasets import concept_pictures as cp
from rassu_mm.datasets.semireal_assets import file_sha256
from rassu_mm.testing import load_tool


def build_icon_set(packages):
    """An Iconify npm package whose 16x16 icons fill known rectangles."""
    pkg = packages / '@iconify-json/twemoji'
    (pkg / 'package').mkdir(parents=True)
    icons = {
        'red-apple': '<path d="M2 4h8v8H2z" fill="#c00"/>',
        'tree': '<path d="M0 0h16v4H0z" fill="#0a0"/>',
        'violin': '<path d="M2 2h4v4H2z"/>',
        'woman-playing-drum': '<path d="M2 2h4v4H2z"/>',
        'thumbs-up-light-skin-tone': '<path d="M2 2h4v4H2z"/>',
        'flag-france': '<path d="M2 2h4v4H2z"/>',
        'empty': '<g/>',
    }
    (pkg / 'package/icons.json').write_text(json.dumps(dict(
        prefix='twemoji', width=16, height=16,
        icons={k: dict(body=v) for k, v in icons.items()},
        aliases={'apple': dict(parent='red-apple')})))
    (pkg / 'package/package.json').write_text(json.dumps(dict(
        name='@iconify-json/twemoji', license='CC-BY-4.0')))
    (pkg / '.version').write_text('1.2.5\n')


def test_concept_names_leave_out_instruments_and_variants():
    icon_set = dict(icons={n: {} for n in (
        'red-apple', 'violin', 'man-playing-guitar', 'musical-score',
        'ok-hand-medium-skin-tone', 'flag-japan', 'keycap-1', 'tree',
        'drumstick', 'bass-guitar')})
    assert cp.concept_names(icon_set) == ['drumstick', 'red-apple', 'tree']
    assert cp.concept_text('red-apple') == 'a red apple'


def test_concept_tree_files_manifest_and_rebuild(tmp_path):
    build_icon_set(tmp_path / 'packages')
    out = tmp_path / 'concepts'
    index = cp.build_concept_tree(str(tmp_path / 'packages'), str(out),
                                  log=lambda m: None)
    texts = [c['text'] for c in index['concepts']]
    assert texts == ['a red apple', 'a tree']
    apple = np.asarray(Image.open(out / 'pictures/twemoji/red-apple.png'))
    assert apple.shape == (cp.CONCEPT_SIZE, cp.CONCEPT_SIZE, 4)
    assert (apple[2:-2, 2:-2, 3] == 255).all()
    assert tuple(apple[32, 32, :3]) == (204, 0, 0)
    tree = np.asarray(Image.open(out / 'pictures/twemoji/tree.png'))
    assert tree.shape == (cp.CONCEPT_SIZE // 4, cp.CONCEPT_SIZE, 4)
    manifest = json.loads((out / 'manifest.json').read_text())
    files = {e['path']: e for e in manifest['files']}
    assert sorted(files) == ['pictures/twemoji/red-apple.png',
                             'pictures/twemoji/tree.png']
    for rel, entry in files.items():
        assert entry['sha256'] == file_sha256(str(out / rel))
        assert entry['licence'] == 'CC-BY-4.0'
        assert entry['package_version'] == '1.2.5'
    assert [s['source'] for s in manifest['skipped']] == [
        '@iconify-json/twemoji/package/icons.json#empty']
    before = {rel: (out / rel).read_bytes() for rel in files}
    (out / 'pictures/twemoji/stale.png').write_bytes(b'x')
    manifest['files'].append(dict(files['pictures/twemoji/tree.png'],
                                  path='pictures/twemoji/stale.png'))
    (out / 'manifest.json').write_text(json.dumps(manifest))
    again = cp.build_concept_tree(str(tmp_path / 'packages'), str(out),
                                  log=lambda m: None)
    assert again == index
    assert {rel: (out / rel).read_bytes() for rel in files} == before
    assert not (out / 'pictures/twemoji/stale.png').exists()
    pictures, texts = cp.load_concepts(str(out))
    assert texts == ['a red apple', 'a tree']
    assert np.array_equal(pictures[0], apple)


def test_load_concepts_names_the_missing_tree(tmp_path):
    with pytest.raises(FileNotFoundError, match='semireal_assets.py'):
        cp.load_concepts(str(tmp_path))


def test_pasted_masks_are_the_pictures_alpha():
    """Each picture lands whole inside the frame at a size within the
    scale range; its mask is the resized picture's alpha >= 128 and
    nothing is drawn outside it; the same generator repeats it."""
    import cv2
    rng = np.random.default_rng(0)
    pictures = []
    for h, w in ((30, 20), (10, 40), (64, 64)):
        rgba = rng.integers(100, 256, (h, w, 4), dtype=np.uint8)
        rgba[..., 3] = np.where(rng.random((h, w)) < 0.5, 255, 0)
        rgba[[0, -1], :, 3] = rgba[:, [0, -1], 3] = 255  # an opaque rim
        pictures.append(rgba)
    frames, masks = cp.paste_concepts(pictures, 48, 40,
                                      torch.Generator().manual_seed(0),
                                      scale=(0.5, 0.9))
    assert frames.shape == (3, 48, 40, 3) and masks.shape == (3, 48, 40)
    for frame, mask, pic in zip(frames, masks, pictures):
        drawn = frame.any(2)
        rows = np.flatnonzero(drawn.any(1))
        cols = np.flatnonzero(drawn.any(0))
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert 0.5 * 40 - 1 <= max(h, w) <= 0.9 * 40 + 1
        resized = cv2.resize(pic, (int(w), int(h)),
                             interpolation=cv2.INTER_AREA)
        expected = np.zeros_like(mask)
        expected[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = (
            resized[..., 3] >= 128)
        assert np.array_equal(mask, expected)
    again = cp.paste_concepts(pictures, 48, 40,
                              torch.Generator().manual_seed(0),
                              scale=(0.5, 0.9))
    assert np.array_equal(again[0], frames) and np.array_equal(
        again[1], masks)


def test_overlay_is_the_paste_inside_its_mask_and_the_frame_outside():
    """Inside each pasted mask the frame takes the picture's pixels and the
    label the given class; outside both stay as they were; the inputs are
    not changed."""
    rng = np.random.default_rng(1)
    pictures = [rng.integers(1, 256, (h, w, 4), dtype=np.uint8)
                for h, w in ((20, 12), (8, 30))]
    for pic in pictures:
        pic[..., 3] = np.where(rng.random(pic.shape[:2]) < 0.6, 255, 0)
    frames = torch.from_numpy(rng.integers(0, 256, (2, 32, 36, 3),
                                           dtype=np.uint8))
    labels = torch.from_numpy(rng.integers(0, 5, (2, 32, 36)))
    before = frames.clone(), labels.clone()
    out, out_labels = cp.overlay_concepts(
        frames, labels, pictures, 9, torch.Generator().manual_seed(3))
    pasted, masks = cp.paste_concepts(pictures, 32, 36,
                                      torch.Generator().manual_seed(3),
                                      scale=(0.3, 0.65))
    masks = torch.from_numpy(masks)
    assert masks.any(dim=(1, 2)).all()
    assert torch.equal(out[masks], torch.from_numpy(pasted)[masks])
    assert torch.equal(out[~masks], frames[~masks])
    assert (out_labels[masks] == 9).all()
    assert torch.equal(out_labels[~masks], labels[~masks])
    assert torch.equal(frames, before[0]) and torch.equal(labels, before[1])


def test_the_concept_sets_are_installed():
    tool = load_tool('tools/dataset_converters/semireal_assets.py')
    assert set(cp.CONCEPT_SETS) <= set(tool.NPM_PACKAGES)
