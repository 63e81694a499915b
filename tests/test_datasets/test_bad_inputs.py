"""The bad-input matrix of ``docs/data.md`` section 5, one case per row.

Each case builds its bad input in a temporary folder and runs the dataset,
pipeline, converter or writer on it. ``test_bad_input`` checks the error
type and message fragment that the table documents for the row, and that
the message names the clip and the file (or, for a row documented as
accepted, that the input loads). ``test_table_matches_cases`` keeps the
table and the cases in sync: the parameter ids are the table's row ids.
"""
import json
import os
import os.path as osp
import re
import shutil
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import cv2
import numpy as np
import pytest
import soundfile
import torch
from mmengine.config import Config
from mmengine.structures import PixelData

from rassu_mm.datasets import ClipDataError, SSUDataset
from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.evaluation import SSUMetric
from rassu_mm.structures import SSUDataSample
from rassu_mm.testing import load_tool, repo_path
from rassu_mm.utils import UnsafePathError
from rassu_mm.visualization import SSULocalVisualizer
from tests.test_datasets.test_ssu_dataset import PIPELINE
from tests.test_tools.test_dataset_converters import fake_v1, write_video

DOC = repo_path('docs', 'data.md')
T, SIZE = 2, 32


@dataclass
class Case:
    """A bad input, ready to run.

    Args:
        run: Runs the component on the bad input.
        error: The exception type it must raise; None if the input is
            accepted.
        clip: Text of the clip id the message must contain.
        file: Text of the file name the message must contain.
        outside: A path that must not exist afterwards (a writer was
            asked to write there).
    """
    run: Callable[[], object]
    error: Optional[type]
    clip: str = ''
    file: str = ''
    outside: Optional[str] = None


CASES = {}


def case(row):
    """Register a case builder ``fn(root, tmp_path) -> Case`` for a row of
    the table; ``root`` is a private copy of a 3-clip demo set."""

    def register(fn):
        assert row not in CASES, row
        CASES[row] = fn
        return fn

    return register


def config_pipeline(name):
    """A pipeline of the demo dataset config, without the audio cache."""
    cfg = Config.fromfile(
        repo_path('configs', '_base_', 'datasets', 'ssu_demo.py'))
    pipeline = cfg[name]
    for step in pipeline:
        if step['type'] == 'LoadClipAudio':
            step['cache_dir'] = None
    return pipeline


def build(root, **kwargs):
    return SSUDataset(
        ann_file='annotations/train.json', data_root=root, **kwargs)


def edit_ann(root, fn):
    """Apply ``fn`` to the annotation dict of the train split."""
    path = osp.join(root, 'annotations', 'train.json')
    with open(path) as f:
        ann = json.load(f)
    fn(ann)
    with open(path, 'w') as f:
        json.dump(ann, f)


def clip(root, index):
    with open(osp.join(root, 'annotations', 'train.json')) as f:
        return json.load(f)['clips'][index]


def ann_case(root, fn, clip_id):
    """A bad annotation, refused when the dataset is built."""
    edit_ann(root, fn)
    return Case(lambda: build(root), ClipDataError, clip_id, 'train.json')


def load_case(root, index, rel, **kwargs):
    """A bad file of clip ``index``, refused when its pipeline runs."""
    ds = build(root, pipeline=kwargs.pop('pipeline', PIPELINE), **kwargs)
    return Case(lambda: ds[index], ClipDataError, f'train_{index:04d}', rel)


def write_garbage(path):
    with open(path, 'wb') as f:
        f.write(b'\x00 definitely not an image or a sound \xff' * 4)


# ---------------------------------------------------------------- annotation
@case('ann-file-missing')
def case_ann_file_missing(root, tmp):
    os.remove(osp.join(root, 'annotations', 'train.json'))
    return Case(lambda: build(root), ClipDataError, "'?'", 'train.json')


@case('malformed-json')
def case_malformed_json(root, tmp):
    with open(osp.join(root, 'annotations', 'train.json'), 'w') as f:
        f.write('{"clips": [')
    return Case(lambda: build(root), ClipDataError, "'?'", 'train.json')


@case('wrong-structure')
def case_wrong_structure(root, tmp):
    return ann_case(root, lambda a: a.update(clips={}), "'?'")


@case('clip-id-missing')
def case_clip_id_missing(root, tmp):
    return ann_case(root, lambda a: a['clips'][1].pop('clip_id'), '#1')


@case('unsafe-clip-id')
def case_unsafe_clip_id(root, tmp):
    return ann_case(root, lambda a: a['clips'][1].update(clip_id='../x'),
                    '../x')


@case('duplicate-clip-id')
def case_duplicate_clip_id(root, tmp):
    return ann_case(
        root, lambda a: a['clips'][2].update(clip_id='train_0000'),
        'train_0000')


@case('no-frames')
def case_no_frames(root, tmp):
    return ann_case(root, lambda a: a['clips'][1].update(frames=[]),
                    'train_0001')


@case('no-audio-entry')
def case_no_audio_entry(root, tmp):
    return ann_case(root, lambda a: a['clips'][1].pop('audio'), 'train_0001')


@case('unknown-category')
def case_unknown_category(root, tmp):
    return ann_case(
        root, lambda a: a['clips'][1].update(categories=['purple hexagon']),
        'train_0001')


@case('missing-mask-entry')
def case_missing_mask_entry(root, tmp):
    return ann_case(root, lambda a: a['clips'][1]['frames'][1].pop('mask'),
                    'train_0001')


@case('missing-caption-entry')
def case_missing_caption_entry(root, tmp):
    return ann_case(root,
                    lambda a: a['clips'][1]['frames'][0].pop('caption'),
                    'train_0001')


@case('caption-not-string')
def case_caption_not_string(root, tmp):
    return ann_case(
        root, lambda a: a['clips'][1]['frames'][0].update(caption=3),
        'train_0001')


@case('path-leaves-root')
def case_path_leaves_root(root, tmp):
    return ann_case(
        root,
        lambda a: a['clips'][1]['frames'][0].update(image='../../etc/passwd'),
        'train_0001')


@case('absolute-path')
def case_absolute_path(root, tmp):
    # even an absolute path to the clip's real audio file is refused
    audio = osp.abspath(osp.join(root, clip(root, 1)['audio']))
    return ann_case(root, lambda a: a['clips'][1].update(audio=audio),
                    'train_0001')


@case('symlink-leaves-root')
def case_symlink_leaves_root(root, tmp):
    rel = clip(root, 1)['frames'][0]['image']
    outside = str(tmp / 'outside.jpg')
    shutil.move(osp.join(root, rel), outside)
    os.symlink(outside, osp.join(root, rel))
    return Case(lambda: build(root), ClipDataError, 'train_0001',
                'train.json')


def missing_file_case(root, tmp, kind):
    entry = clip(root, 2)
    rel = entry['audio'] if kind == 'audio' else entry['frames'][1][kind]
    os.remove(osp.join(root, rel))
    return Case(lambda: build(root), ClipDataError, 'train_0002', rel)


case('missing-frame-file')(partial(missing_file_case, kind='image'))
case('missing-mask-file')(partial(missing_file_case, kind='mask'))
case('missing-audio-file')(partial(missing_file_case, kind='audio'))


# ----------------------------------------------------------------- pipeline
@case('missing-file-at-load')
def case_missing_file_at_load(root, tmp):
    rel = clip(root, 2)['frames'][1]['image']
    os.remove(osp.join(root, rel))
    return load_case(root, 2, rel, check_files=False)


def image_case(root, tmp, kind, image):
    """Frame 1 of clip 2 (``kind`` ``'image'`` or ``'mask'``) replaced by
    ``image`` (an array, or None for bytes that are no image)."""
    rel = clip(root, 2)['frames'][1][kind]
    if image is None:
        write_garbage(osp.join(root, rel))
    else:
        cv2.imwrite(osp.join(root, rel), image)
    return load_case(root, 2, rel)


def red(shape):
    """A BGR image whose channels differ."""
    image = np.zeros((*shape, 3), np.uint8)
    image[..., 2] = 255
    return image


case('unreadable-frame')(partial(image_case, kind='image', image=None))
case('frame-size-differs')(
    partial(image_case, kind='image', image=red((SIZE, SIZE + 8))))
case('unreadable-mask')(partial(image_case, kind='mask', image=None))
case('multichannel-mask')(
    partial(image_case, kind='mask', image=red((SIZE, SIZE))))
case('mask-size-differs')(
    partial(image_case, kind='mask', image=np.zeros((10, 10), np.uint8)))


@case('unknown-mask-class')
def case_unknown_mask_class(root, tmp):
    rel = clip(root, 1)['frames'][0]['mask']
    cv2.imwrite(osp.join(root, rel), np.full((SIZE, SIZE), 7, np.uint8))
    pipeline = [PIPELINE[0], dict(type='LoadClipMasks', num_classes=4)]
    return load_case(root, 1, rel, seg_mode='semantic', pipeline=pipeline)


def audio_case(root, tmp, corrupt, train=False):
    """Clip 2's audio corrupted; ``train``: the demo config's training
    pipeline."""
    rel = clip(root, 2)['audio']
    corrupt(osp.join(root, rel))
    pipeline = config_pipeline('train_pipeline') if train else PIPELINE
    return load_case(root, 2, rel, pipeline=pipeline)


def write_wav(path, data, subtype='PCM_16'):
    soundfile.write(path, data, 16000, subtype=subtype)


def truncate(path):
    with open(path, 'r+b') as f:
        f.truncate(osp.getsize(path) // 2)


def silence(path):
    write_wav(path, np.zeros(16000 * T, np.float32))


def empty(path):
    write_wav(path, np.zeros(0, np.float32))


def with_nan(path):
    data = np.random.default_rng(0).normal(0, 0.1, 16000 * T)
    data[100] = np.nan
    write_wav(path, data.astype(np.float32), subtype='FLOAT')


case('truncated-wav')(partial(audio_case, corrupt=truncate))
case('not-a-wav')(partial(audio_case, corrupt=write_garbage))
case('empty-audio')(partial(audio_case, corrupt=empty))
case('nan-audio')(partial(audio_case, corrupt=with_nan))
case('silent-audio-train')(partial(audio_case, corrupt=silence, train=True))


@case('silent-audio-test')
def case_silent_audio_test(root, tmp):
    silence(osp.join(root, clip(root, 2)['audio']))
    ds = build(root, test_mode=True,
               pipeline=config_pipeline('test_pipeline'))

    def run():
        audio = ds[2]['inputs']['audio']
        # silence is all-zero input: every log-mel bin is log(0.01)
        torch.testing.assert_close(
            audio, torch.full_like(audio, float(np.log(0.01))), rtol=0,
            atol=1e-6)

    return Case(run, None)


# --------------------------------------------------------------- converters
def videos_case(tmp, names, *extra, audio=True):
    """videos_to_ssu on short videos named ``names`` (+ CLI ``extra``)."""
    videos = tmp / 'videos'
    videos.mkdir()
    for name in names:
        write_video(str(videos / name), seconds=2, audio=audio)
    tool = load_tool('tools/dataset_converters/videos_to_ssu.py')
    return lambda: tool.main([str(videos), str(tmp / 'out'), *extra])


@case('video-unreadable')
def case_video_unreadable(root, tmp):
    run = videos_case(tmp, [])
    write_garbage(str(tmp / 'videos' / 'broken.mp4'))
    return Case(run, ClipDataError, 'broken', 'broken.mp4')


@case('video-without-audio')
def case_video_without_audio(root, tmp):
    return Case(videos_case(tmp, ['mute.mp4'], audio=False), ClipDataError,
                'mute', 'mute.mp4')


@case('video-unsafe-name')
def case_video_unsafe_name(root, tmp):
    return Case(videos_case(tmp, ['c:clip.mp4']), ClipDataError, 'c:clip',
                'c:clip.mp4')


def clip_info(tmp, info):
    path = tmp / 'info.json'
    path.write_text(json.dumps(info))
    return ['--clip-info', str(path), '--dataset', 'f-music']


@case('video-caption-count')
def case_video_caption_count(root, tmp):
    extra = clip_info(tmp, {'good': {'captions': ['only one']}})
    return Case(videos_case(tmp, ['good.mp4'], *extra), ClipDataError,
                'good', 'info.json')


@case('video-unknown-category')
def case_video_unknown_category(root, tmp):
    extra = clip_info(tmp, {'good': {'categories': ['kazoo']}})
    return Case(videos_case(tmp, ['good.mp4'], *extra), ClipDataError,
                'good', 'info.json')


@case('video-mask-size-differs')
def case_video_mask_size_differs(root, tmp):
    masks = tmp / 'masks' / 'good'
    masks.mkdir(parents=True)
    for k in range(2):
        cv2.imwrite(str(masks / f'{k}.png'), np.zeros((8, 8), np.uint8))
    run = videos_case(tmp, ['good.mp4'], '--mask-dir', str(tmp / 'masks'))
    return Case(run, ClipDataError, 'good', osp.join('good', '0.png'))


def avsbench_case(tmp, edit=lambda root: None):
    root = str(tmp / 'avs')
    os.makedirs(root)
    fake_v1(root, 's4')
    edit(root)
    tool = load_tool('tools/dataset_converters/avsbench_to_ssu.py')
    return lambda: tool.main(['s4', root, str(tmp / 'ssu')])


@case('avsbench-csv-missing')
def case_avsbench_csv_missing(root, tmp):
    run = avsbench_case(
        tmp, lambda r: os.remove(osp.join(r, 's4_meta_data.csv')))
    return Case(run, ClipDataError, "'?'", 's4_meta_data.csv')


@case('avsbench-file-missing')
def case_avsbench_file_missing(root, tmp):
    rel = 's4_data/visual_frames/test/helicopter/vid_b/vid_b_3.png'
    run = avsbench_case(tmp, lambda r: os.remove(osp.join(r, rel)))
    return Case(run, ClipDataError, 'vid_b', 'vid_b_3.png')


@case('avsbench-mask-size-differs')
def case_avsbench_mask_size_differs(root, tmp):
    rel = 's4_data/gt_masks/test/helicopter/vid_b/vid_b_2.png'
    run = avsbench_case(tmp, lambda r: cv2.imwrite(
        osp.join(r, rel), np.zeros((8, 8), np.uint8)))
    return Case(run, ClipDataError, 'vid_b', 'vid_b_2.png')


@case('avsbench-unsafe-clip-id')
def case_avsbench_unsafe_clip_id(root, tmp):
    def rename(avs):
        path = osp.join(avs, 's4_meta_data.csv')
        with open(path) as f:
            text = f.read()
        with open(path, 'w') as f:
            f.write(text.replace('vid_a,', '../../escaped,'))

    return Case(avsbench_case(tmp, rename), ClipDataError, '../../escaped',
                's4_meta_data.csv', outside=str(tmp / 'escaped'))


# ------------------------------------------------------------------ writers
def crafted_sample():
    sample = SSUDataSample(
        metainfo=dict(clip_id='../../escaped', num_frames=T))
    sample.pred_sem_seg = PixelData(data=torch.ones(T, 4, 4).long())
    return sample


@case('metric-unsafe-clip-id')
def case_metric_unsafe_clip_id(root, tmp):
    out = tmp / 'a' / 'b' / 'out'
    metric = SSUMetric(output_dir=str(out))
    metric.dataset_meta = dict(seg_mode='binary')
    return Case(lambda: metric.process({}, [crafted_sample().to_dict()]),
                UnsafePathError, '../../escaped', str(out),
                outside=str(tmp / 'a' / 'escaped'))


@case('visualizer-unsafe-clip-id')
def case_visualizer_unsafe_clip_id(root, tmp):
    # LocalVisBackend would write <save_dir>/vis_image/<name>_<step>.png
    vis = SSULocalVisualizer(
        name=f'bad_input_{tmp.name}',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp / 'a' / 'show'))
    frames = [np.zeros((4, 4, 3), np.uint8)] * T
    return Case(
        lambda: vis.add_datasample('../../escaped', frames, crafted_sample()),
        UnsafePathError, '../../escaped', 'image',
        outside=str(tmp / 'a' / 'escaped_0.png'))


# -------------------------------------------------------------------- tests
def table_rows():
    """``{row id: error column}`` of the bad-input table in docs/data.md.

    The error column is ``accepted ...`` or ```Type`: `fragment```, the
    exception type and a fragment of its message.
    """
    with open(DOC) as f:
        section = f.read().split('## 5. Bad input')[1].split('\n## ')[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('| `') and len(cells) == 4:
            rows[cells[0].strip('`')] = cells[-1]
    return rows


def documented_error(row):
    """``(type name, message fragment)`` of a row; None if accepted."""
    error = table_rows()[row]
    if error.startswith('accepted'):
        return None
    name, fragment = re.findall(r'`([^`]+)`', error)[:2]
    return name, fragment


def test_table_matches_cases():
    rows = table_rows()
    assert sorted(rows) == sorted(CASES)
    for row in rows:
        doc = documented_error(row)
        assert doc is None or doc[0] in ('ClipDataError', 'UnsafePathError')


@pytest.fixture(scope='module')
def demo_src(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('bad_inputs_demo'))
    make_synthetic_dataset(
        root, num_clips=(3, 0, 0), num_frames=T, size=(SIZE, SIZE),
        progress=False)
    return root


@pytest.mark.parametrize('row', sorted(CASES))
def test_bad_input(row, demo_src, tmp_path):
    root = str(tmp_path / 'demo')
    shutil.copytree(demo_src, root)
    bad = CASES[row](root, tmp_path)
    documented = documented_error(row)
    if bad.error is None:
        assert documented is None
        bad.run()
    else:
        assert documented[0] == bad.error.__name__
        with pytest.raises(bad.error) as info:
            bad.run()
        assert type(info.value) is bad.error
        message = str(info.value)
        assert documented[1] in message, message
        assert bad.clip in message and bad.file in message, message
    if bad.outside is not None:
        assert not osp.lexists(bad.outside)
