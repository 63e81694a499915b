"""ytvis_to_ssu.py and cvat_to_ssu.py on small exports written by hand from
each format's documented schema; masks checked pixel by pixel against
masks drawn here with numpy."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import soundfile
from matplotlib.path import Path

from rassu_mm.datasets import ClipDataError, SSUDataset
from rassu_mm.datasets.converters import run_cli
from rassu_mm.testing import load_tool
from tests.test_datasets.test_ssu_dataset import PIPELINE  # with captions
from .test_dataset_converters import read_json, write_video


def read_mask(root, rel):
    return cv2.imread(osp.join(root, rel), cv2.IMREAD_UNCHANGED)


def rect(size, rows, cols):
    mask = np.zeros(size, bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def runs(flat):
    """Run lengths of a 0/1 sequence, starting with a run of zeros."""
    counts, value, count = [], 0, 0
    for v in flat:
        if v == value:
            count += 1
        else:
            counts.append(count)
            value, count = v, 1
    return counts + [count]


def write_ramp_wav(path, seconds, rate=16000):
    """Sample value 0.05 * t: the cut of the audio can be read back."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    soundfile.write(path, 0.05 * np.arange(seconds * rate) / rate, rate,
                    subtype='PCM_16')


def write_frame(path, value, size):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.zeros(size + (3, ), np.uint8)
    img[..., 0], img[..., 1] = value, np.arange(size[1])[None] * 3
    cv2.imwrite(path, img)


def same_bytes(a, b):
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        return fa.read() == fb.read()


# ------------------------------------------------------------- YouTube-VIS
YT_SIZE = (32, 40)
YT_CATEGORIES = [
    dict(id=1, name='violin', supercategory='String'),
    dict(id=2, name='cello', supercategory='String'),
    dict(id=3, name='person', supercategory='Human'),
]


def yt_violin(i):
    return rect(YT_SIZE, (2, 10), (i, i + 8))


YT_CELLO = [20, 4, 36, 4, 36, 10, 26, 10, 26, 20, 20, 20]  # an L
YT_CELLO_MASK = rect(YT_SIZE, (4, 10), (20, 36)) | rect(YT_SIZE, (4, 20),
                                                        (20, 26))
YT_PERSON = rect(YT_SIZE, (22, 30), (2, 12))


def ytvis_export(tmp_path, annotations=True):
    """Two videos in the YouTube-VIS 2019 layout: ``vid_a`` (12 frames at
    4 fps: a violin as uncompressed RLE, a cello as a polygon on frames
    0-7, a person as compressed RLE) and ``vid_b`` (8 frames, a person)."""
    frames = tmp_path / 'JPEGImages'
    videos, anns = [], []
    for vid, (name, num) in enumerate([('vid_a', 12), ('vid_b', 8)], 1):
        names = [f'{name}/{5 * i:05d}.png' for i in range(num)]
        for i, n in enumerate(names):
            write_frame(str(frames / n), 10 * i + vid, YT_SIZE)
        videos.append(dict(id=vid, width=YT_SIZE[1], height=YT_SIZE[0],
                           length=num, file_names=names))
    # uncompressed RLE, column-major as COCO (written without pycocotools)
    anns.append(dict(
        id=1, video_id=1, category_id=1, iscrowd=0,
        attributes={'sounding': False},
        segmentations=[dict(size=list(YT_SIZE),
                            counts=runs(yt_violin(i).T.ravel()))
                       for i in range(12)],
        areas=[64] * 12, bboxes=[[i, 2, 8, 8] for i in range(12)]))
    anns.append(dict(
        id=2, video_id=1, category_id=2, iscrowd=0,
        segmentations=[[YT_CELLO] if i < 8 else None for i in range(12)],
        areas=[None] * 12, bboxes=[None] * 12))
    person = mask_utils.encode(np.asfortranarray(YT_PERSON.astype(np.uint8)))
    person['counts'] = person['counts'].decode()
    anns.append(dict(
        id=3, video_id=1, category_id=3, iscrowd=0,
        attributes={'sounding': True}, segmentations=[person] * 12,
        areas=[80] * 12, bboxes=[[2, 22, 10, 8]] * 12))
    anns.append(dict(
        id=4, video_id=2, category_id=3, iscrowd=0,
        segmentations=[person] * 8, areas=[80] * 8, bboxes=[None] * 8))
    export = dict(info={}, licenses=[], videos=videos,
                  categories=YT_CATEGORIES)
    if annotations:
        export['annotations'] = anns
    ann_file = tmp_path / 'train.json'
    ann_file.write_text(json.dumps(export))
    write_ramp_wav(str(tmp_path / 'audio' / 'vid_a.wav'), 5)
    write_video(str(tmp_path / 'audio' / 'vid_b.mp4'), seconds=3)
    captions = tmp_path / 'captions.json'
    captions.write_text(json.dumps({
        'vid_a': ['Frame zero.', 'Frame one.', 'Frame two.'],
        'vid_b': ['B zero.', 'B one.']}))
    return [str(ann_file), str(frames)]


def ytvis_args(tmp_path, out, *extra):
    return ytvis_export(tmp_path) + [
        out, '--audio-dir', str(tmp_path / 'audio'), '--video-fps', '4',
        '--captions', str(tmp_path / 'captions.json'), *extra]


def test_ytvis_to_ssu(tmp_path):
    out = str(tmp_path / 'ssu')
    tool = load_tool('tools/dataset_converters/ytvis_to_ssu.py')
    tool.main(ytvis_args(tmp_path, out, '--sounding-label', 'violin',
                         '--sounding-label', 'cello'))
    ann = read_json(osp.join(out, 'annotations', 'train.json'))
    assert ann['metainfo'] == dict(
        dataset_name='custom', classes=['violin', 'cello', 'person'],
        super_categories={'String': ['violin', 'cello'],
                          'Human': ['person']}, fps=1.0)
    a, b = ann['clips']
    assert a['clip_id'] == 'vid_a' and b['clip_id'] == 'vid_b'
    assert a['categories'] == ['violin', 'cello'] and b['categories'] == []
    # 3 s at 4 listed frames per second: the frames shown at 0.5, 1.5, 2.5 s
    chosen = [2, 6, 10]
    assert len(a['frames']) == 3 and len(b['frames']) == 2
    frames_dir = tmp_path / 'JPEGImages' / 'vid_a'
    for k, (i, frame) in enumerate(zip(chosen, a['frames'])):
        assert same_bytes(osp.join(out, frame['image']),
                          str(frames_dir / f'{5 * i:05d}.png'))
        ref = yt_violin(i) | (YT_CELLO_MASK if i < 8 else False)
        np.testing.assert_array_equal(read_mask(out, frame['mask']),
                                      ref.astype(np.uint8) * 255)
    assert [f['caption'] for f in a['frames']] == [
        'Frame zero.', 'Frame one.', 'Frame two.']
    for frame in b['frames']:
        assert not read_mask(out, frame['mask']).any()
    # audio cut to the clip: 3 s of the 5 s wav, 2 s of the 3 s mp4
    wave, rate = soundfile.read(osp.join(out, a['audio']))
    assert rate == 16000 and len(wave) == 3 * 16000
    np.testing.assert_allclose(wave[-1], 0.05 * 3, atol=1e-3)
    wave, rate = soundfile.read(osp.join(out, b['audio']))
    assert len(wave) == 2 * 16000 and np.abs(wave).max() > 0.1
    # the result loads through the real pipeline, masks and captions alike
    ds = SSUDataset(ann_file='annotations/train.json', data_root=out,
                    pipeline=PIPELINE)
    sample = ds[0]['data_samples']
    np.testing.assert_array_equal(
        sample.gt_sem_seg.data.numpy(),
        np.stack([yt_violin(2) | YT_CELLO_MASK, yt_violin(6) | YT_CELLO_MASK,
                  yt_violin(10)]))
    assert sample.gt_captions[1] == 'Frame one.'
    assert tuple(ds[1]['inputs']['audio'].shape) == (2, 1, 96, 64)


def test_ytvis_sounding_attribute(tmp_path):
    out = str(tmp_path / 'ssu')
    tool = load_tool('tools/dataset_converters/ytvis_to_ssu.py')
    tool.main(ytvis_args(tmp_path, out, '--sounding-attribute',
                         'sounding=true', '--split', 'val'))
    a, b = read_json(osp.join(out, 'annotations', 'val.json'))['clips']
    # only vid_a's person says sounding=true (the violin says false)
    assert a['categories'] == ['person'] and b['categories'] == []
    for frame in a['frames']:
        np.testing.assert_array_equal(read_mask(out, frame['mask']),
                                      YT_PERSON.astype(np.uint8) * 255)


def test_ytvis_without_annotations(tmp_path):
    """A test-split file (no 'annotations'): frames without masks."""
    out = str(tmp_path / 'ssu')
    args = ytvis_export(tmp_path, annotations=False) + [
        out, '--audio-dir', str(tmp_path / 'audio'), '--video-fps', '4',
        '--all-sounding', '--split', 'test']
    load_tool('tools/dataset_converters/ytvis_to_ssu.py').main(args)
    ann = read_json(osp.join(out, 'annotations', 'test.json'))
    assert all('mask' not in f and 'caption' not in f
               for clip in ann['clips'] for f in clip['frames'])
    ds = SSUDataset(ann_file='annotations/test.json', data_root=out,
                    test_mode=True, pipeline=PIPELINE)
    assert tuple(ds[0]['inputs']['frames'].shape) == (3, 3) + YT_SIZE


def test_ytvis_bad_input(tmp_path):
    tool = load_tool('tools/dataset_converters/ytvis_to_ssu.py')
    out = str(tmp_path / 'ssu')
    args = ytvis_args(tmp_path, out, '--sounding-label', 'violin')
    missing = tmp_path / 'JPEGImages' / 'vid_a' / '00030.png'  # frame 6
    missing.unlink()
    with pytest.raises(ClipDataError,
                       match=r"'vid_a': frame file not found .*00030\.png"):
        tool.main(args)
    # on the command line: one line naming the file and the clip
    with pytest.raises(SystemExit) as exc:
        run_cli(lambda: tool.main(args))
    assert str(exc.value) == (f"error: {missing}: clip 'vid_a': "
                              'frame file not found')
    tool.main(args + ['--skip-bad'])
    clips = read_json(osp.join(out, 'annotations', 'train.json'))['clips']
    assert [c['clip_id'] for c in clips] == ['vid_b']

    ann_file = tmp_path / 'train.json'
    with pytest.raises(ClipDataError, match=r"'\?'.*not among the "
                       r'categories.*train\.json'):
        tool.main(args[:-1] + ['violn'])
    with pytest.raises(ClipDataError, match=r"'\?': no annotation has the "
                       r"attributes \['sondng'\].*train\.json"):
        tool.main(args[:-2] + ['--sounding-attribute', 'sondng=true'])
    captions = tmp_path / 'captions.json'
    captions.write_text('{"vid_a": ["one"]}')
    with pytest.raises(ClipDataError, match=r"'vid_a': 1 captions for 3 "
                       r'frames .*captions\.json'):
        tool.main(args)
    export = read_json(str(ann_file))
    export['annotations'][0]['category_id'] = 9
    ann_file.write_text(json.dumps(export))
    with pytest.raises(ClipDataError, match=r"'vid_a'.*category_id 9 .*"
                       r'train\.json'):
        tool.main(args)
    ann_file.write_text('{"videos": [')
    with pytest.raises(ClipDataError, match=r'malformed JSON.*train\.json'):
        tool.main(args)
    with pytest.raises(SystemExit):  # no sounding rule: a usage error
        tool.parse_args(args[:-2])


# --------------------------------------------------------------------- CVAT
CV_SIZE = (36, 48)
CV_FRAMES = list(range(4, 24, 2))  # start_frame 4, step=2, size 10

CVAT_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
"""
CVAT_META = CVAT_HEAD + """      <id>7</id>
      <name>concert task</name>
      <size>10</size>
      <mode>interpolation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <flipped>False</flipped>
      <start_frame>4</start_frame>
      <stop_frame>22</stop_frame>
      <frame_filter>step=2</frame_filter>
      <labels>
        <label>
          <name>violin</name>
          <type>any</type>
          <attributes>
            <attribute>
              <name>sounding</name>
              <mutable>True</mutable>
              <input_type>checkbox</input_type>
              <default_value>false</default_value>
              <values>false</values>
            </attribute>
            <attribute>
              <name>caption</name>
              <mutable>True</mutable>
              <input_type>text</input_type>
              <default_value></default_value>
              <values></values>
            </attribute>
          </attributes>
        </label>
        <label><name>person</name><type>any</type></label>
        <label><name>cello</name><type>mask</type></label>
        <label><name>drum</name><type>rectangle</type></label>
        <label><name>caption</name><type>tag</type></label>
      </labels>
      <segments>
        <segment><id>7</id><start>4</start><stop>22</stop><url></url></segment>
      </segments>
      <owner><username>annotator</username><email></email></owner>
      <original_size><width>48</width><height>36</height></original_size>
      <source>concert.mp4</source>
    </task>
    <dumped>2024-01-01 00:00:00.000000+00:00</dumped>
  </meta>
"""


def attrs(sounding, caption):
    return (f'<attribute name="sounding">{sounding}</attribute>'
            f'<attribute name="caption">{caption}</attribute>')


def cv_violin_poly(f):
    x0, x1 = f // 2, f // 2 + 10
    return f'{x0:.2f},2.00;{x1:.2f},2.00;{x1:.2f},12.00;{x0:.2f},12.00'


def cv_violin(f):
    return rect(CV_SIZE, (2, 12), (f // 2, f // 2 + 10))


# the cello: a disc with a corner block in an 8x10 box at (2, 20), as a
# CVAT <mask>
_yy, _xx = np.mgrid[:10, :8]
CV_CELLO_BOX = (_yy - 4.5)**2 + (_xx - 3.5)**2 < 14
CV_CELLO_BOX[:2, :3] = True
CV_CELLO = np.zeros(CV_SIZE, bool)
CV_CELLO[20:30, 2:10] = CV_CELLO_BOX
CV_PERSON = rect(CV_SIZE, (20, 30), (30, 40))
CV_DRUM = rect(CV_SIZE, (17, 27), (13, 17))  # a 10x4 box turned 90 degrees


def cvat_video_xml(tracks=None):
    """The tracks as CVAT's video export writes them: an element on every
    frame a track is visible, ``outside="1"`` where it disappears."""
    if tracks is None:
        violin = ''.join(
            f'<polygon frame="{f}" keyframe="{int(f == 4)}" outside="0" '
            f'occluded="0" points="{cv_violin_poly(f)}" z_order="0">'
            + attrs('true', 'The violin plays.' if f < 12 else
                    'The violin rests.') + '</polygon>' for f in CV_FRAMES)
        person = ''.join(
            f'<box frame="{f}" keyframe="{int(f in (4, 14))}" '
            f'outside="{int(f == 14)}" occluded="1" xtl="30.00" '
            f'ytl="20.00" xbr="40.00" ybr="30.00" z_order="0">'
            + attrs('true', '') + '</box>' for f in range(4, 16, 2))
        rle = ', '.join(map(str, runs(CV_CELLO_BOX.ravel())))
        cello = ''.join(
            f'<mask frame="{f}" keyframe="1" outside="{int(f == 20)}" '
            f'occluded="0" rle="{rle}" left="2" top="20" width="8" '
            f'height="10" z_order="0">' + attrs('true', 'A cello.') +
            '</mask>' for f in (4, 20))
        drum = ''.join(
            f'<box frame="{f}" keyframe="{int(f == 14)}" outside="0" '
            f'occluded="0" xtl="10.00" ytl="20.00" xbr="20.00" ybr="24.00" '
            f'rotation="90.00" z_order="0">' + attrs('false', '') + '</box>'
            for f in range(14, 24, 2))
        tracks = (f'<track id="0" label="violin" source="manual">{violin}'
                  f'</track><track id="1" label="person" source="manual">'
                  f'{person}</track><track id="2" label="cello" '
                  f'source="manual">{cello}</track><track id="3" '
                  f'label="drum" source="manual">{drum}</track>')
    tags = ''.join(
        f'<tag frame="{f}" label="caption" source="manual"><attribute '
        f'name="text">{text}</attribute></tag>'
        for f, text in ((6, 'A violin and a cello.'), (16, 'Only the cello.'),
                        (18, 'Only the cello.')))
    return CVAT_META + tracks + tags + '</annotations>\n'


def cvat_export(tmp_path, xml=None):
    """An unzipped "CVAT for video 1.1" export and the video's audio."""
    export = tmp_path / 'task_7'
    for f in CV_FRAMES:
        write_frame(str(export / 'images' / f'frame_{f:06d}.png'), 10 * f,
                    CV_SIZE)
    (export / 'annotations.xml').write_text(xml or cvat_video_xml())
    write_ramp_wav(str(tmp_path / 'videos' / 'concert.wav'), 4)
    return export


def test_cvat_video_to_ssu(tmp_path):
    export, out = cvat_export(tmp_path), str(tmp_path / 'ssu')
    tool = load_tool('tools/dataset_converters/cvat_to_ssu.py')
    common = [str(export), out, '--audio-dir', str(tmp_path / 'videos'),
              '--video-fps', '10']
    tool.main(common + ['--sounding-label', 'violin', '--sounding-label',
                        'cello', '--sounding-label', 'drum',
                        '--caption-attribute', 'caption'])
    ann = read_json(osp.join(out, 'annotations', 'train.json'))
    assert ann['metainfo']['classes'] == ['violin', 'person', 'cello',
                                          'drum']
    (clip, ) = ann['clips']
    assert clip['clip_id'] == 'concert'
    assert clip['categories'] == ['violin', 'cello', 'drum']
    # frames 4..22 step 2 at 10 fps = 2 s; SSU frames at 0.5 s and 1.5 s
    # after frame 4: video frames 9 and 19, i.e. the annotated 8 and 18
    assert len(clip['frames']) == 2
    for frame, f in zip(clip['frames'], (8, 18)):
        assert same_bytes(osp.join(out, frame['image']),
                          str(export / 'images' / f'frame_{f:06d}.png'))
    # frame 8: violin + cello (the person is no sounding label); frame 18:
    # the cello mask of frame 4 holds until its outside at 20, the drum box
    # is turned
    refs = [cv_violin(8) | CV_CELLO, cv_violin(18) | CV_CELLO | CV_DRUM]
    for frame, ref in zip(clip['frames'], refs):
        np.testing.assert_array_equal(read_mask(out, frame['mask']),
                                      ref.astype(np.uint8) * 255)
    assert [f['caption'] for f in clip['frames']] == [
        'The violin plays. A cello.', 'The violin rests. A cello.']
    # the audio from the first annotated frame (0.4 s) on, 2 s long
    wave, rate = soundfile.read(osp.join(out, clip['audio']))
    assert len(wave) == 2 * 16000
    np.testing.assert_allclose(wave[0], 0.05 * 0.4, atol=1e-3)
    ds = SSUDataset(ann_file='annotations/train.json', data_root=out,
                    pipeline=PIPELINE)
    sample = ds[0]['data_samples']
    np.testing.assert_array_equal(sample.gt_sem_seg.data.numpy(),
                                  np.stack(refs))
    assert sample.gt_captions[0] == 'The violin plays. A cello.'

    # the same export, sounding by attribute (now the person sounds and the
    # drum does not) and captions from the tags
    tool.main(common + ['--sounding-attribute', 'sounding=true',
                        '--caption-tag-label', 'caption', '--split', 'val'])
    (clip, ) = read_json(osp.join(out, 'annotations', 'val.json'))['clips']
    assert clip['categories'] == ['violin', 'person', 'cello']
    refs = [cv_violin(8) | CV_CELLO | CV_PERSON, cv_violin(18) | CV_CELLO]
    for frame, ref in zip(clip['frames'], refs):
        np.testing.assert_array_equal(read_mask(out, frame['mask']),
                                      ref.astype(np.uint8) * 255)
    assert [f['caption'] for f in clip['frames']] == [
        'A violin and a cello.', 'Only the cello.']


CVAT_IMAGES = CVAT_HEAD + """      <id>3</id>
      <name>street</name>
      <size>6</size>
      <mode>annotation</mode>
      <labels>
        <label><name>car</name></label>
        <label><name>bird</name></label>
        <label><name>caption</name><type>tag</type></label>
      </labels>
    </task>
  </meta>
  <image id="0" name="a.png" width="48" height="36">
    <tag label="caption" source="manual">
      <attribute name="text">A car passes.</attribute>
    </tag>
  </image>
  <image id="1" name="b.png" width="48" height="36">
    <polygon label="car" source="manual" occluded="0"
      points="4.00,30.00;20.00,6.00;31.00,33.00" z_order="0"/>
    <box label="bird" source="manual" occluded="0" xtl="36.50" ytl="2.00"
      xbr="44.00" ybr="9.50" z_order="0"/>
  </image>
  <image id="2" name="c.png" width="48" height="36"/>
  <image id="3" name="d.png" width="48" height="36">
    <mask label="car" source="manual" occluded="0" rle="5, 3, 1, 3, 4"
      left="40" top="30" width="4" height="4" z_order="0"/>
    <box label="car" source="manual" occluded="0" xtl="1.00" ytl="1.00"
      xbr="5.00" ybr="3.00" z_order="0"/>
  </image>
  <image id="4" name="e.png" width="48" height="36"/>
  <image id="5" name="f.png" width="48" height="36">
    <ellipse label="car" source="manual" occluded="0" cx="24.00" cy="18.00"
      rx="12.00" ry="5.00" rotation="30.00" z_order="0"/>
    <polyline label="car" source="manual" occluded="0"
      points="0.00,0.00;47.00,35.00" z_order="0"/>
  </image>
</annotations>
"""


def pixel_centres(size):
    yy, xx = np.mgrid[:size[0], :size[1]]
    return xx + 0.5, yy + 0.5


def assert_rasterised(mask, inside):
    """``mask`` is ``inside`` (the pixels whose centre is inside the shape)
    up to the pixels along its outline."""
    kernel = np.ones((3, 3), np.uint8)
    core = cv2.erode(inside.astype(np.uint8), kernel).astype(bool)
    hull = cv2.dilate(inside.astype(np.uint8), kernel).astype(bool)
    assert (mask >= core).all() and (mask <= hull).all()
    assert abs(int(mask.sum()) - int(inside.sum())) < 10


def test_cvat_images_to_ssu(tmp_path):
    """A "CVAT for images 1.1" export: shapes and tags inside <image>."""
    export, out = tmp_path / 'street', str(tmp_path / 'ssu')
    for i, name in enumerate('abcdef'):
        write_frame(str(export / 'images' / f'{name}.png'), 50 * i, CV_SIZE)
    (export / 'annotations.xml').write_text(CVAT_IMAGES)
    write_ramp_wav(str(tmp_path / 'audio' / 'street.wav'), 2)
    tool = load_tool('tools/dataset_converters/cvat_to_ssu.py')
    tool.main([str(export / 'annotations.xml'), out, '--audio-dir',
               str(tmp_path / 'audio'), '--video-fps', '2',
               '--sounding-label', 'car', '--caption-tag-label', 'caption',
               '--split', 'test'])
    ann = read_json(osp.join(out, 'annotations', 'test.json'))
    assert ann['metainfo']['classes'] == ['car', 'bird']
    (clip, ) = ann['clips']
    assert clip['clip_id'] == 'street' and clip['categories'] == ['car']
    # images 1, 3 and 5: shown at 0.5, 1.5 and 2.5 s
    first, second, third = clip['frames']
    assert same_bytes(osp.join(out, first['image']),
                      str(export / 'images' / 'b.png'))
    # a triangle: pycocotools' rasterisation equals the pixels whose centre
    # is inside, up to the pixels its edges cross
    x, y = pixel_centres(CV_SIZE)
    inside = Path([(4, 30), (20, 6), (31, 33)]).contains_points(
        np.stack([x.ravel(), y.ravel()], 1)).reshape(CV_SIZE)
    mask = read_mask(out, first['mask']) == 255
    assert_rasterised(mask, inside)
    assert not mask[:, 36:].any()  # the bird does not sound
    # the 4x4 mask at (40, 30): runs 5 bg, 3 fg, 1 bg, 3 fg, 4 bg
    ref = rect(CV_SIZE, (1, 3), (1, 5))
    ref[30:34, 40:44] = np.array([0] * 5 + [1] * 3 + [0] + [1] * 3 +
                                 [0] * 4).reshape(4, 4)
    np.testing.assert_array_equal(read_mask(out, second['mask']),
                                  ref.astype(np.uint8) * 255)
    # an ellipse turned 30 degrees clockwise; the polyline has no area
    turn = np.radians(30)
    u = (x - 24) * np.cos(turn) + (y - 18) * np.sin(turn)
    v = -(x - 24) * np.sin(turn) + (y - 18) * np.cos(turn)
    assert_rasterised(read_mask(out, third['mask']) == 255,
                      (u / 12)**2 + (v / 5)**2 < 1)
    # the tag of image 0 lies in the first 1 s window, none in the others
    assert first['caption'] == 'A car passes.'
    assert 'caption' not in second and 'caption' not in third


def test_cvat_bad_input(tmp_path):
    tool = load_tool('tools/dataset_converters/cvat_to_ssu.py')
    export, out = cvat_export(tmp_path), str(tmp_path / 'ssu')
    xml = export / 'annotations.xml'
    args = [str(export), out, '--audio-dir', str(tmp_path / 'videos'),
            '--video-fps', '10', '--all-sounding']

    missing = export / 'images' / 'frame_000018.png'
    missing.unlink()
    with pytest.raises(ClipDataError, match=r"'concert': frame file not "
                       r'found .*frame_000018\.png'):
        tool.main(args)
    tool.main(args + ['--skip-bad'])
    assert read_json(osp.join(out, 'annotations', 'train.json'))[
        'clips'] == []

    xml.write_text(cvat_video_xml()[:-40])
    with pytest.raises(SystemExit) as exc:
        run_cli(lambda: tool.main(args))
    message = str(exc.value)
    assert message.startswith(f"error: {xml}: clip '?': malformed XML: ")
    assert '\n' not in message

    xml.write_text(cvat_video_xml(
        '<track id="5" label="tuba" source="manual"><box frame="4" '
        'outside="0" occluded="0" keyframe="1" xtl="1" ytl="1" xbr="5" '
        'ybr="5" z_order="0"/></track>'))
    with pytest.raises(ClipDataError, match=r"'concert': track 5 has label "
                       r"'tuba', not among the export's labels.*"
                       r'annotations\.xml'):
        tool.main(args)

    xml.write_text(cvat_video_xml(
        '<track id="0" label="cello" source="manual"><mask frame="4" '
        'outside="0" occluded="0" keyframe="1" rle="3, 4" left="0" '
        'top="0" width="3" height="3" z_order="0"/></track>'))
    with pytest.raises(ClipDataError, match=r"'concert': 'cello' on SSU "
                       r'frame 0: mask rle counts sum to 7, not its box '
                       r'3 x 3 .*annotations\.xml'):
        tool.main(args)
    xml.write_text(cvat_video_xml())
    with pytest.raises(ClipDataError, match=r"'concert': no object has the "
                       r"attributes \['captoin'\].*annotations\.xml"):
        tool.main(args + ['--caption-attribute', 'captoin'])
    with pytest.raises(ClipDataError, match=r"'concert': --caption-tag-label"
                       r" has label 'captoin', not among"):
        tool.main(args + ['--caption-tag-label', 'captoin'])
    with pytest.raises(SystemExit):  # CVAT does not record the frame rate
        tool.parse_args(args[:4] + ['--all-sounding'])
