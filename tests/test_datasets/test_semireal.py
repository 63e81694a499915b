"""sr-Music generator (rassu_mm/datasets/semireal.py) on a tiny asset tree
the test writes itself (rassu_mm.testing.write_tiny_semireal_assets)."""
import filecmp
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from rassu_mm.datasets import semireal
from rassu_mm.datasets.semireal import (SPLITS, SR_MUSIC_CLASSES,
                                        make_semireal_dataset, read_wav)
from rassu_mm.testing import write_tiny_semireal_assets

NUM_CLIPS = (8, 2, 4, 4)
SIZE = (48, 64)
RATE = 16000


@pytest.fixture(scope='module')
def assets(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('assets'))
    frequencies = write_tiny_semireal_assets(root, SR_MUSIC_CLASSES)
    return root, frequencies


@pytest.fixture(scope='module')
def dataset(assets, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('sr_music'))
    make_semireal_dataset(
        assets[0], out, num_clips=NUM_CLIPS, num_frames=3, size=SIZE,
        seed=3, progress=False)
    return out


def _clips(root, split):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)['clips']


def _all_files(root):
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, files in os.walk(root)
        for f in files)


def test_deterministic_per_seed(assets, dataset, tmp_path):
    again = str(tmp_path / 'again')
    make_semireal_dataset(
        assets[0], again, num_clips=NUM_CLIPS, num_frames=3, size=SIZE,
        seed=3, progress=False)
    files = _all_files(dataset)
    assert files == _all_files(again)
    _, mismatch, errors = filecmp.cmpfiles(dataset, again, files,
                                           shallow=False)
    assert mismatch == [] and errors == []
    other = str(tmp_path / 'other_seed')
    make_semireal_dataset(
        assets[0], other, num_clips=(2, 0, 0, 0), num_frames=3, size=SIZE,
        seed=4, progress=False)
    assert _clips(other, 'train')[0]['objects'] != _clips(
        dataset, 'train')[0]['objects']


def test_splits_disjoint_by_asset_file(dataset):
    with open(osp.join(dataset, 'assets.json')) as f:
        attribution = json.load(f)
    used = {s: set(p) for s, p in attribution['splits'].items()}
    training = used['train'] | used['val']
    testing = used['test'] | used['test_real']
    assert training and testing and not training & testing
    # each clip's files are recorded under its split, with a manifest entry
    for split in SPLITS:
        for clip in _clips(dataset, split):
            paths = {clip['background']} | {
                p
                for o in clip['objects'] for p in (o['picture'], o['sound'])
                if p is not None
            }
            assert paths <= used[split]
            assert paths <= set(attribution['files'])
            for obj in clip['objects']:
                sound = obj['sound']
                if split == 'test_real':
                    assert sound is None or sound.startswith('recordings/')
                elif split == 'test':
                    assert sound is None or not re.match(
                        r'renders/(fluidr3|timgm6mb)/', sound)
                elif sound is not None:
                    assert not sound.startswith('renders/musescore/')


def _expected_mask(assets_root, clip, sounding):
    """The pasted alpha (>= 0.5) of the sounding objects, minus what the
    objects painted after them cover."""
    h, w = SIZE
    top = np.full((h, w), -1)
    for j, obj in enumerate(clip['objects']):
        x0, y0, bw, bh = obj['box']
        pic = cv2.imread(osp.join(assets_root, obj['picture']),
                         cv2.IMREAD_UNCHANGED)
        alpha = cv2.resize(pic, (bw, bh), interpolation=cv2.INTER_AREA)[...,
                                                                          3]
        if obj['flip']:
            alpha = alpha[:, ::-1]
        window = top[y0:y0 + bh, x0:x0 + bw]
        window[alpha >= 128] = j
    return np.isin(top, sounding) * 255


def test_masks_are_the_visible_alpha_of_sounding_objects(assets, dataset):
    checked = 0
    for split in SPLITS:
        for clip in _clips(dataset, split):
            assert 2 <= len(clip['objects']) <= 4
            for frame in clip['frames']:
                mask = cv2.imread(osp.join(dataset, frame['mask']),
                                  cv2.IMREAD_UNCHANGED)
                expected = _expected_mask(assets[0], clip, frame['sounding'])
                np.testing.assert_array_equal(mask, expected)
                checked += bool(frame['sounding'])
    assert checked > 0


def test_captions_name_exactly_the_sounding_classes(dataset):
    for split in SPLITS:
        for clip in _clips(dataset, split):
            for frame in clip['frames']:
                words = set(re.findall(r'[a-z]+', frame['caption'].lower()))
                named = {c for c in SR_MUSIC_CLASSES if c in words}
                heard = {clip['objects'][j]['class'] for j in frame['sounding']}
                assert named == heard == set(frame['categories'])
                if not heard:
                    assert frame['caption'] == 'Nothing is sounding.'
            assert set(clip['categories']) == {
                c
                for f in clip['frames'] for c in f['categories']
            }


def test_audio_energy_only_from_sounding_sources(assets, dataset):
    _, frequencies = assets
    for split in SPLITS:
        for clip in _clips(dataset, split):
            samples, rate = read_wav(osp.join(dataset, clip['audio']))
            assert rate == RATE and len(samples) == 3 * RATE
            for k, frame in enumerate(clip['frames']):
                # a 1 s window of an integer-Hz tone is one FFT bin
                spectrum = np.abs(np.fft.rfft(
                    samples[k * RATE:(k + 1) * RATE])) / (RATE / 2)
                for j, obj in enumerate(clip['objects']):
                    if obj['sound'] is None:
                        continue
                    level = spectrum[int(frequencies[obj['sound']])]
                    if j in frame['sounding']:
                        assert level > 0.05
                    else:
                        assert level < 0.005


def test_every_split_has_silent_distractors_and_changing_sources(dataset):
    clips = [c for s in SPLITS for c in _clips(dataset, s)]
    frames = [f for c in clips for f in c['frames']]
    assert all(len(f['sounding']) <= 2 for f in frames)
    silent = sum(
        len(c['objects']) - len(f['sounding']) for c in clips
        for f in c['frames'])
    assert silent > 0


def test_loads_through_the_clip_pipeline(dataset):
    from rassu_mm.datasets import SSUDataset
    ds = SSUDataset(
        data_root=dataset,
        ann_file='annotations/test_real.json',
        pipeline=[
            dict(type='LoadClipFrames'),
            dict(type='LoadClipMasks'),
            dict(type='LoadClipAudio'),
            dict(type='LoadClipCaptions'),
            dict(type='PackSSUInputs')
        ])
    assert len(ds) == NUM_CLIPS[3]
    assert ds.metainfo['dataset_name'] == 'sr-Music'
    sample = ds[0]['data_samples']
    assert tuple(sample.gt_sem_seg.data.shape[-2:]) == SIZE
    assert len(sample.gt_captions) == 3


def test_missing_class_and_bad_manifest_are_named(assets, tmp_path):
    root = str(tmp_path / 'assets')
    write_tiny_semireal_assets(root, SR_MUSIC_CLASSES[:-1])
    with pytest.raises(KeyError, match="lacks classes \\['saxophone'\\]"):
        make_semireal_dataset(root, str(tmp_path / 'out'), (1, 0, 0, 0),
                              progress=False)
    root = str(tmp_path / 'assets2')
    write_tiny_semireal_assets(root, SR_MUSIC_CLASSES)
    for k in range(4):
        with open(osp.join(root, 'backgrounds', f'photo_{k}.jpg'), 'ab') as f:
            f.write(b'changed')
    with pytest.raises(ValueError, match='photo_.\\.jpg: SHA-256 differs'):
        make_semireal_dataset(root, str(tmp_path / 'out2'), (2, 0, 4, 0),
                              num_frames=1, size=SIZE, progress=False)


def test_position_words():
    size = (90, 90)
    assert semireal.position_words((0, 30, 30, 30), size) == 'on the left'
    assert semireal.position_words((30, 30, 30, 30), size) == 'in the middle'
    assert semireal.position_words((60, 0, 30, 30),
                                   size) == 'at the top right'
    assert semireal.position_words((30, 60, 30, 30), size) == 'at the bottom'
