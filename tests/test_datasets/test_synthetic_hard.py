"""The hard synthetic preset (``make_synthetic_dataset(preset='hard')``)."""
import hashlib
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import soundfile

from rassu_mm.datasets import SSUDataset
from rassu_mm.datasets.synthetic import (COLOURS, GRID_POSITIONS,
                                         HARD_HIERARCHY, hard_layout,
                                         hard_metainfo, hierarchy_sound,
                                         make_synthetic_dataset)
from rassu_mm.testing import load_tool

SIZE = (64, 64)
# "the <size> <texture> <class> at the <row> <column> <verb>"
PART = re.compile(r'[Tt]he (small|big) (plain|striped) ([a-z ]+?) '
                  r'(at the (?:top|bottom) (?:left|right)) (is [a-z]+)')


@pytest.fixture(scope='module')
def hard_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('hard'))
    make_synthetic_dataset(
        root, num_clips=(12, 2, 2), num_frames=4, size=SIZE,
        mask_mode='semantic', progress=False, preset='hard')
    return root


def load(root, split='train'):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def tree_digest(root):
    digest = {}
    for folder, _, files in os.walk(root):
        for name in files:
            with open(osp.join(folder, name), 'rb') as f:
                digest[osp.relpath(osp.join(folder, name), root)] = \
                    hashlib.md5(f.read()).hexdigest()
    return digest


def test_hard_deterministic_by_seed(tmp_path):
    kwargs = dict(num_clips=(3, 1, 1), num_frames=3, size=SIZE,
                  progress=False, preset='hard')
    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        make_synthetic_dataset(str(tmp_path / name), seed=seed, **kwargs)
    a, b, c = (tree_digest(str(tmp_path / n)) for n in 'abc')
    assert a == b
    assert set(a) == set(c) and a != c


def test_hard_metainfo_hierarchy():
    meta = hard_metainfo()
    supers = meta['super_categories']
    assert len(meta['classes']) == 12 and len(supers) == 4
    # every class in exactly one super-category, in the class order
    assert [c for members in supers.values() for c in members] == \
        meta['classes']
    assert set(meta['verbs']) == set(supers)
    assert len(set(meta['verbs'].values())) == 4


@pytest.mark.parametrize('seed', range(20))
def test_hard_layout_distractor(seed):
    objects = hard_layout(np.random.default_rng(seed), SIZE)
    sources = [o for o in objects if o['source']]
    (distractor, ) = [o for o in objects if not o['source']]
    assert len(sources) == 2
    assert len({o['cls'] for o in objects}) == 3
    assert len({o['cell'] for o in objects}) == 3
    assert sources[0]['colour'] != sources[1]['colour']
    # the distractor has one source's colour, and the other size and texture
    (twin, ) = [o for o in sources if o['colour'] == distractor['colour']]
    assert distractor['rgb'] == COLOURS[twin['colour']][1]
    assert distractor['size'] != twin['size']
    assert distractor['texture'] != twin['texture']


def test_hard_objects_do_not_overlap():
    """Each object (with the per-frame jitter) stays inside its cell."""
    for seed in range(20):
        for obj in hard_layout(np.random.default_rng(seed), SIZE):
            col, row = obj['cell'] % 2, obj['cell'] // 2
            x, y = obj['centre']
            reach = obj['radius'] + 0.03 * SIZE[1]
            assert col * 32 <= x - reach and x + reach <= (col + 1) * 32
            assert row * 32 <= y - reach and y + reach <= (row + 1) * 32


def test_hard_captions_follow_hierarchy_and_masks(hard_root):
    meta = hard_metainfo()
    super_of = {c: s for s, members in meta['super_categories'].items()
                for c in members}
    changes = 0
    for split in ('train', 'val', 'test'):
        ann = load(hard_root, split)
        assert ann['metainfo'] == meta
        for clip in ann['clips']:
            wave, rate = soundfile.read(osp.join(hard_root, clip['audio']))
            heard = set()
            for k, frame in enumerate(clip['frames']):
                parts = PART.findall(frame['caption'])
                names = [p[2] for p in parts]
                assert names == frame['categories']
                for size, texture, name, where, verb in parts:
                    assert verb == meta['verbs'][super_of[name]]
                    assert where in GRID_POSITIONS
                if not parts:
                    assert frame['caption'] == 'Nothing is sounding.'
                # semantic mask values are exactly the named classes
                mask = cv2.imread(osp.join(hard_root, frame['mask']), 0)
                assert set(np.unique(mask).tolist()) - {0} == {
                    meta['classes'].index(n) + 1 for n in names}
                rms = np.sqrt(np.mean(wave[k * rate:(k + 1) * rate]**2))
                assert (rms > 0.02) == bool(names)
                heard |= set(names)
                changes += k > 0 and names != clip['frames'][k - 1][
                    'categories']
            assert set(clip['categories']) == heard
    assert changes > 0


def test_hard_sounds_distinct_pitches():
    peaks = [
        int(np.abs(np.fft.rfft(hierarchy_sound(s, j, 1.0, 16000))).argmax())
        for s, (_, _, members) in enumerate(HARD_HIERARCHY)
        for j in range(len(members))
    ]
    assert len(set(peaks)) == 12


def test_hard_set_loads(hard_root):
    ds = SSUDataset(
        ann_file='annotations/val.json', data_root=hard_root,
        seg_mode='semantic',
        pipeline=[
            dict(type='LoadClipFrames'),
            dict(type='LoadClipMasks'),
            dict(type='LoadClipCaptions')
        ])
    assert ds.metainfo['classes'] == tuple(hard_metainfo()['classes'])
    results = ds[0]
    assert len(results['gt_masks']) == 4
    assert all(isinstance(c, str) for c in results['gt_captions'])


def test_hard_preset_fixed_classes(tmp_path):
    with pytest.raises(ValueError, match='12 classes'):
        make_synthetic_dataset(str(tmp_path), num_clips=(1, 1, 1),
                               num_classes=4, progress=False, preset='hard')
    with pytest.raises(ValueError, match='preset'):
        make_synthetic_dataset(str(tmp_path), preset='easy', progress=False)


def test_make_synthetic_cli_hard(tmp_path):
    tool = load_tool('tools/dataset_converters/make_synthetic.py')
    out = str(tmp_path / 'hard')
    tool.main(['--preset', 'hard', '--out-dir', out, '--num-train', '2',
               '--num-val', '1', '--num-test', '1', '--num-frames', '2',
               '--no-progress'])
    assert [len(load(out, s)['clips']) for s in ('train', 'val', 'test')] \
        == [2, 1, 1]
    assert load(out)['metainfo'] == hard_metainfo()
    with pytest.raises(SystemExit):
        tool.main(['--preset', 'hard', '--num-classes', '4'])
