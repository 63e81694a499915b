"""SSUDataset, FMusicDataset, FLifesceneDataset: loading and bad input."""
import json
import logging
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from mmseg.registry import DATASETS
from rassu_mm.datasets import (ClipDataError, FLifesceneDataset,
                               FMusicDataset, SSUDataset)
from rassu_mm.datasets.synthetic import make_synthetic_dataset

CONTRACT_KEYS = {
    'clip_id', 'categories', 'audio_path', 'frame_paths', 'mask_paths',
    'captions', 'fps', 'dataset_name', 'seg_mode', 'label_map',
    'reduce_zero_label'
}
PIPELINE = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks'),
    dict(type='LoadClipAudio'),
    dict(type='LoadClipCaptions'),
    dict(type='PackSSUInputs'),
]


@pytest.fixture(scope='module')
def demo_src(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('demo'))
    make_synthetic_dataset(
        root, num_clips=(4, 2, 2), num_frames=3, size=(32, 48),
        progress=False)
    return root


@pytest.fixture
def demo(demo_src, tmp_path):
    """A private, editable copy of the small demo set."""
    root = str(tmp_path / 'demo')
    shutil.copytree(demo_src, root)
    return root


def load_ann(root, split='train'):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def save_ann(root, ann, split='train'):
    with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
        json.dump(ann, f)


def build(root, split='train', **kwargs):
    return SSUDataset(
        ann_file=f'annotations/{split}.json', data_root=root, **kwargs)


def test_paper_metainfo():
    music, life = FMusicDataset.METAINFO, FLifesceneDataset.METAINFO
    assert len(music['classes']) == 22 and len(set(music['classes'])) == 22
    assert {k: len(v) for k, v in music['super_categories'].items()} == {
        'String': 9, 'Percussion': 3, 'Keyboard': 2, 'Wind': 8}
    assert len(life['classes']) == 61 and len(set(life['classes'])) == 61
    assert {k: len(v) for k, v in life['super_categories'].items()} == {
        'Human': 13, 'Vehicle': 13, 'Animal': 10, 'Sport': 2, 'Tool': 14,
        'Nature': 3, 'Other': 6}
    for meta in (music, life):
        assert len(meta['palette']) == len(meta['classes'])
        assert len({tuple(c) for c in meta['palette']}) == len(
            meta['palette'])
        assert all(0 <= v <= 255 for c in meta['palette'] for v in c)
    assert music['classes'][:3] == ('violin', 'cello', 'guitar')
    assert 'horse clip-clop' in life['classes']
    for name in ('SSUDataset', 'FMusicDataset', 'FLifesceneDataset'):
        assert DATASETS.get(name) is not None


def test_load_data_list_follows_contract(demo):
    ds = build(demo)
    assert len(ds) == 4
    info = ds.get_data_info(0)
    assert CONTRACT_KEYS <= set(info)
    assert info['clip_id'] == 'train_0000'
    assert len(info['frame_paths']) == len(info['mask_paths']) == \
        len(info['captions']) == 3
    assert all(osp.isfile(p) for p in info['frame_paths'] +
               info['mask_paths'] + [info['audio_path']])
    assert info['seg_mode'] == 'binary' and info['fps'] == 1
    assert info['dataset_name'] == 'SSU-Demo'
    meta = ds.metainfo
    assert meta['classes'] == ('red triangle', 'blue circle',
                               'green square', 'yellow diamond')
    assert meta['super_categories']['Triangle'] == ['red triangle']
    assert len(meta['palette']) == 4
    # serialised, as BaseDataset does for shared worker memory
    assert ds.serialize_data and len(ds.data_address) == 4


def test_lazy_init(demo):
    ds = build(demo, lazy_init=True)
    assert not ds._fully_initialized
    ds.full_init()
    assert len(ds) == 4 and ds.metainfo['classes'][0] == 'red triangle'


def test_pipeline_output(demo):
    item = build(demo, pipeline=PIPELINE)[1]
    frames, audio = item['inputs']['frames'], item['inputs']['audio']
    assert tuple(frames.shape) == (3, 3, 32, 48)
    assert tuple(audio.shape) == (3, 1, 96, 64)
    sample = item['data_samples']
    assert tuple(sample.gt_sem_seg.data.shape) == (3, 32, 48)
    assert sample.clip_id == 'train_0001' and len(sample.gt_captions) == 3


def test_semantic_mode_and_label_map(demo_src, tmp_path):
    root = str(tmp_path / 'sem')
    make_synthetic_dataset(
        root, num_clips=(3, 0, 0), num_frames=2, size=(32, 32),
        num_classes=3, mask_mode='semantic', progress=False)
    ds = build(root, seg_mode='semantic', pipeline=PIPELINE)
    assert ds.label_map is None
    labels = np.unique(np.concatenate(
        [ds[i]['data_samples'].gt_sem_seg.data.numpy().ravel()
         for i in range(3)]))
    assert set(labels.tolist()) <= {0, 1, 2, 3}
    # the dataset orders classes differently: masks are remapped
    classes = ['green square', 'red triangle', 'blue circle']
    ds2 = build(root, seg_mode='semantic', pipeline=PIPELINE,
                metainfo=dict(classes=classes))
    assert ds2.label_map == {1: 2, 2: 3, 3: 1}
    for i in range(3):
        a = ds[i]['data_samples'].gt_sem_seg.data
        b = ds2[i]['data_samples'].gt_sem_seg.data
        for old, new in ds2.label_map.items():
            assert ((a == old) == (b == new)).all()


def test_f_music_dataset(demo, tmp_path):
    ann = load_ann(demo)
    ann['metainfo'] = dict(dataset_name='f-Music', classes=['violin'])
    for clip in ann['clips']:
        clip['categories'] = ['violin']
    save_ann(demo, ann)
    ds = FMusicDataset(ann_file='annotations/train.json', data_root=demo)
    assert len(ds.metainfo['classes']) == 22
    assert ds.get_cat_ids(0) == [0]
    assert ds.label_map == {1: 1}


# ---------------------------------------------------------------------------
# names from the annotation never leave the dataset root (the other bad
# inputs are the rows of tests/test_datasets/test_bad_inputs.py)


def expect_error(match_clip, match_path, fn):
    with pytest.raises(ClipDataError) as info:
        fn()
    msg = str(info.value)
    assert match_clip in msg and match_path in msg, msg
    return info.value


@pytest.mark.parametrize(
    'clip_id', ['../x', '/abs', 'a/b', 'a\\b', 'x\0y', '..', '.', 'c:x'])
def test_unsafe_clip_id_refused(demo, clip_id):
    ann = load_ann(demo)
    ann['clips'][1]['clip_id'] = clip_id
    save_ann(demo, ann)
    err = expect_error(repr(clip_id), 'train.json', lambda: build(demo))
    assert 'unsafe clip id' in str(err) and err.clip_id == clip_id
    # skip_bad_clips skips it like any other bad clip
    ds = build(demo, skip_bad_clips=True)
    assert len(ds) == 3 and [e.clip_id for e in ds.bad_clips] == [clip_id]


@pytest.mark.parametrize('kind,rel', [
    ('image', '../../etc/passwd'),
    ('image', 'frames/../../x.jpg'),
    ('mask', '/etc/passwd'),
    ('mask', 'masks\\..\\..\\x.png'),
    ('audio', 'c:/audio.wav'),
])
def test_path_leaving_root_refused(demo, kind, rel):
    ann = load_ann(demo)
    if kind == 'audio':
        ann['clips'][1]['audio'] = rel
    else:
        ann['clips'][1]['frames'][0][kind] = rel
    save_ann(demo, ann)
    err = expect_error('train_0001', 'train.json', lambda: build(demo))
    assert 'leaves the dataset root' in str(err) and repr(rel) in str(err)
    # refused before any file check: also with check_files=False
    expect_error('train_0001', 'train.json',
                 lambda: build(demo, check_files=False))


def test_symlinks(demo, tmp_path):
    ann = load_ann(demo)
    rel = ann['clips'][1]['frames'][0]['image']
    outside = str(tmp_path / 'outside.jpg')
    shutil.move(osp.join(demo, rel), outside)
    os.symlink(outside, osp.join(demo, rel))
    expect_error('train_0001', 'train.json', lambda: build(demo))
    # allowed explicitly (e.g. avsbench_to_ssu.py --link)
    ds = build(demo, allow_external_symlinks=True, pipeline=PIPELINE)
    assert ds[1]['data_samples'].clip_id == 'train_0001'
    # a link that stays inside the root is fine
    os.remove(osp.join(demo, rel))
    os.symlink(osp.abspath(osp.join(demo, ann['clips'][0]['frames'][0][
        'image'])), osp.join(demo, rel))
    assert len(build(demo)) == 4
    # and so is a symlinked data_root
    link = str(tmp_path / 'linked_root')
    os.symlink(demo, link)
    ds = build(link)
    assert len(ds) == 4
    assert ds.get_data_info(0)['audio_path'].startswith(link)


def test_missing_mask_or_caption_allowed_only_at_test_time(demo):
    ann = load_ann(demo)
    del ann['clips'][0]['frames'][1]['mask']
    del ann['clips'][1]['frames'][0]['caption']
    save_ann(demo, ann)
    expect_error('train_0000', 'train.json', lambda: build(demo))
    ds = build(demo, test_mode=True, pipeline=PIPELINE)
    sample = ds[0]['data_samples']
    assert (sample.gt_sem_seg.data[1] == 255).all()
    assert ds[1]['data_samples'].gt_captions[0] is None
    ds = build(demo, allow_missing_masks=True, allow_missing_captions=True)
    assert len(ds) == 4


def test_skip_bad_clips_at_load(demo):
    ann = load_ann(demo)
    os.remove(osp.join(demo, ann['clips'][1]['frames'][0]['image']))
    ann['clips'][3]['categories'] = ['nope']
    save_ann(demo, ann)
    ds = build(demo, skip_bad_clips=True)
    assert len(ds) == 2 and len(ds.bad_clips) == 2
    assert {e.clip_id for e in ds.bad_clips} == {'train_0001', 'train_0003'}


def corrupt_truncated(path):
    size = osp.getsize(path)
    with open(path, 'r+b') as f:
        f.truncate(size // 2)


def test_skip_bad_clips_in_training_pipeline(demo, caplog):
    ann = load_ann(demo)
    corrupt_truncated(osp.join(demo, ann['clips'][0]['audio']))
    ds = build(demo, pipeline=PIPELINE, skip_bad_clips=True)
    with caplog.at_level(logging.WARNING):
        item = ds[0]
    assert item['data_samples'].clip_id != 'train_0000'
    assert ds.num_pipeline_skips >= 1
    # test-mode pipelines never skip silently
    ds = build(demo, pipeline=PIPELINE, skip_bad_clips=True, test_mode=True)
    expect_error('train_0000', ann['clips'][0]['audio'], lambda: ds[0])
