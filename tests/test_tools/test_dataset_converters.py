"""make_synthetic.py, videos_to_ssu.py and avsbench_to_ssu.py."""
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import soundfile
from PIL import Image

from rassu_mm.datasets import ClipDataError, SSUDataset
from rassu_mm.datasets.synthetic import (class_sound, demo_classes,
                                         make_synthetic_dataset)
from rassu_mm.testing import load_tool, repo_path

PIPELINE = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks'),
    dict(type='LoadClipAudio'),
    dict(type='PackSSUInputs'),
]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def tree_digest(root):
    digest = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                digest[osp.relpath(path, root)] = hashlib.md5(
                    f.read()).hexdigest()
    return digest


# ---------------------------------------------------------------- synthetic
def test_synthetic_deterministic_by_seed(tmp_path):
    kwargs = dict(num_clips=(3, 1, 1), num_frames=3, size=(32, 32),
                  progress=False)
    make_synthetic_dataset(str(tmp_path / 'a'), seed=5, **kwargs)
    make_synthetic_dataset(str(tmp_path / 'b'), seed=5, **kwargs)
    make_synthetic_dataset(str(tmp_path / 'c'), seed=6, **kwargs)
    a, b, c = (tree_digest(str(tmp_path / n)) for n in 'abc')
    assert a == b
    assert set(a) == set(c) and a != c
    assert len([k for k in a if k.endswith('.wav')]) == 5


def test_synthetic_content(tmp_path):
    root = str(tmp_path)
    make_synthetic_dataset(
        root, num_clips=(12, 0, 0), num_frames=4, size=(48, 96),
        num_classes=4, progress=False)
    ann = read_json(osp.join(root, 'annotations', 'train.json'))
    assert ann['metainfo']['classes'] == [c[0] for c in demo_classes(4)]
    counts = {0: 0, 1: 0, 2: 0}
    for clip in ann['clips']:
        wave, rate = soundfile.read(osp.join(root, clip['audio']))
        assert rate == 16000 and wave.ndim == 1 and len(wave) == 4 * rate
        named = set()
        for k, frame in enumerate(clip['frames']):
            mask = cv2.imread(osp.join(root, frame['mask']), 0)
            img = cv2.imread(osp.join(root, frame['image']))
            assert img.shape == (48, 96, 3) and mask.shape == (48, 96)
            assert set(np.unique(mask).tolist()) <= {0, 255}
            caption = frame['caption']
            rms = np.sqrt(np.mean(wave[k * rate:(k + 1) * rate]**2))
            if caption == 'Nothing is sounding.':
                assert mask.max() == 0 and rms < 0.01
                counts[0] += 1
                continue
            assert caption.endswith(' sounding.') and mask.max() == 255
            assert rms > 0.05
            names = [c for c in ann['metainfo']['classes'] if c in caption]
            named |= set(names)
            if len(names) == 1:
                counts[1] += 1
                # position word matches the mask's side of the frame
                xs = np.nonzero(mask)[1].mean()
                if 'on the left' in caption:
                    assert xs < 48
                elif 'on the right' in caption:
                    assert xs > 48
                assert caption.endswith(' is sounding.')
            else:
                counts[2] += 1
                assert ' and the ' in caption
                assert caption.endswith(' are sounding.')
        assert set(clip['categories']) == named
    assert all(v > 0 for v in counts.values()), counts


def test_class_sounds_are_distinct():
    peaks = []
    for i in range(8):
        spectrum = np.abs(np.fft.rfft(class_sound(i, 1.0, 16000)))
        peaks.append(int(spectrum.argmax()))
    assert len(set(peaks)) == 8


def test_make_synthetic_cli(tmp_path):
    out = str(tmp_path / 'demo')
    load_tool('tools/dataset_converters/make_synthetic.py').main([
        '--out-dir', out, '--num-train', '2', '--num-val', '1',
        '--num-test', '1', '--num-frames', '2', '--size', '32', '48',
        '--num-classes', '3', '--mask-mode', 'semantic', '--no-progress'
    ])
    ds = SSUDataset(ann_file='annotations/val.json', data_root=out,
                    seg_mode='semantic', pipeline=PIPELINE)
    sample = ds[0]['data_samples']
    assert tuple(sample.gt_sem_seg.data.shape) == (2, 32, 48)
    assert sample.gt_sem_seg.data.max() <= 3
    assert len(ds.metainfo['classes']) == 3


def test_make_synthetic_runs_without_the_package(tmp_path):
    """The tool loads the generator and its class tables from their files:
    neither the package nor torch is imported."""
    tool = repo_path('tools', 'dataset_converters', 'make_synthetic.py')
    argv = ['make_synthetic.py', '--out-dir', str(tmp_path), '--num-train',
            '1', '--num-val', '1', '--num-test', '1', '--no-progress']
    check = '\n'.join([
        'import runpy, sys',
        f'sys.argv = {argv!r}',
        f'runpy.run_path({tool!r}, run_name="__main__")',
        'heavy = {"torch", "rassu_mm", "rassu_mm.utils"} & set(sys.modules)',
        'assert not heavy, heavy',
    ])
    subprocess.run([sys.executable, '-c', check], check=True, cwd=tmp_path)
    assert osp.isfile(tmp_path / 'annotations' / 'test.json')


# ------------------------------------------------------------ videos_to_ssu
def write_video(path, seconds=3, fps=10, size=(48, 64), audio=True):
    """mpeg4 + aac video; frame i is flat grey 8 * i; 440 Hz stereo tone."""
    import av
    h, w = size
    with av.open(path, 'w') as out:
        video = out.add_stream('mpeg4', rate=fps)
        video.width, video.height, video.pix_fmt = w, h, 'yuv420p'
        video.options = {'qscale': '2'}
        if audio:
            sound = out.add_stream('aac', rate=44100)
            sound.layout = 'stereo'
        for i in range(seconds * fps):
            img = np.full((h, w, 3), 8 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format='bgr24')
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio:
            t = np.arange(seconds * 44100) / 44100
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            wave = np.stack([wave, wave])
            for start in range(0, wave.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(wave[:, start:start + 1024]),
                    format='fltp', layout='stereo')
                frame.sample_rate = 44100
                frame.pts = start
                out.mux(sound.encode(frame))
            out.mux(sound.encode())


def test_videos_to_ssu(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    write_video(str(videos / 'clip_a.mp4'))
    write_video(str(videos / 'clip_b.mp4'), seconds=2)
    masks = tmp_path / 'masks' / 'clip_a'
    masks.mkdir(parents=True)
    for k in range(3):
        mask = np.zeros((48, 64), np.uint8)
        mask[:, :10 * (k + 1)] = 255
        cv2.imwrite(str(masks / f'{k}.png'), mask)
    info = tmp_path / 'info.json'
    info.write_text(json.dumps({'clip_a': {
        'captions': ['The violin on the left is playing.'] * 3,
        'categories': ['violin']}}))
    out = str(tmp_path / 'ssu')
    tool = load_tool('tools/dataset_converters/videos_to_ssu.py')
    tool.main([str(videos), out, '--split', 'train', '--mask-dir',
               str(tmp_path / 'masks'), '--clip-info', str(info),
               '--dataset', 'f-music'])
    ann = read_json(osp.join(out, 'annotations', 'train.json'))
    assert ann['metainfo']['dataset_name'] == 'f-Music'
    assert len(ann['metainfo']['classes']) == 22
    a, b = ann['clips']
    assert a['clip_id'] == 'clip_a' and len(a['frames']) == 3
    assert len(b['frames']) == 2 and 'mask' not in b['frames'][0]
    assert 'caption' not in b['frames'][0] and a['categories'] == ['violin']
    for k, frame in enumerate(a['frames']):
        img = cv2.imread(osp.join(out, frame['image']))
        assert img.shape == (48, 64, 3)
        # the frame shown at k + 0.5 s is video frame 10 k + 5
        assert abs(float(np.median(img)) - 8 * (10 * k + 5)) <= 4
        assert frame['caption'].startswith('The violin')
    wave, rate = soundfile.read(osp.join(out, a['audio']))
    assert rate == 16000 and wave.ndim == 1
    assert abs(len(wave) / rate - 3) < 0.1
    # the result is a loadable dataset (clip_b only at test time)
    ds = SSUDataset(ann_file='annotations/train.json', data_root=out,
                    test_mode=True, pipeline=PIPELINE)
    sample = ds[0]['data_samples']
    assert tuple(sample.gt_sem_seg.data.shape) == (3, 48, 64)
    assert sample.gt_sem_seg.data[2, :, :30].all()
    assert tuple(ds[1]['inputs']['audio'].shape) == (2, 1, 96, 64)


def test_videos_to_ssu_bad_input(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    write_video(str(videos / 'good.mp4'), seconds=2)
    write_video(str(videos / 'mute.mp4'), seconds=2, audio=False)
    info = tmp_path / 'info.json'
    info.write_text(json.dumps({'good': {'captions': ['only one']}}))
    tool = load_tool('tools/dataset_converters/videos_to_ssu.py')
    out = str(tmp_path / 'out')
    with pytest.raises(ClipDataError, match=r"'good'.*info\.json"):
        tool.main([str(videos), out, '--clip-info', str(info)])
    with pytest.raises(ClipDataError, match=r"'mute'.*no audio.*mute\.mp4"):
        tool.main([str(videos), out])
    tool.main([str(videos), out, '--skip-bad'])
    ann = read_json(osp.join(out, 'annotations', 'test.json'))
    assert [c['clip_id'] for c in ann['clips']] == ['good']


# ---------------------------------------------------------- avsbench_to_ssu
def write_png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def write_wav(path, seconds=5):
    os.makedirs(osp.dirname(path), exist_ok=True)
    t = np.arange(seconds * 16000) / 16000
    soundfile.write(path, 0.2 * np.sin(2 * np.pi * 500 * t), 16000)


def fake_v1(root, subset):
    """S4 or MS3 layout: train clip (first mask only) and test clip."""
    rows = [('vid_a', 'train', 'dog_barking'), ('vid_b', 'test', 'helicopter')]
    data = osp.join(root, f'{subset}_data')
    with open(osp.join(root, f'{subset}_meta_data.csv'), 'w') as f:
        if subset == 's4':
            f.write('name,start,category,split\n')
            f.writelines(f'{n},0,{c},{s}\n' for n, s, c in rows)
        else:
            f.write('video_id,split\n')
            f.writelines(f'{n},{s}\n' for n, s, _ in rows)
    for name, split, cat in rows:
        sub = (split, cat) if subset == 's4' else (split, )
        frame_dir = (osp.join(data, 'visual_frames', *sub, name)
                     if subset == 's4' else
                     osp.join(data, 'visual_frames', name))
        fmt = '{}_{}.png' if subset == 's4' else '{}.mp4_{}.png'
        num_masks = 1 if split == 'train' else 5
        for i in range(1, 6):
            write_png(osp.join(frame_dir, fmt.format(name, i)),
                      np.full((24, 32, 3), 20 * i, np.uint8))
            if i <= num_masks:
                mask = np.zeros((24, 32), np.uint8)
                mask[:, :4 * i] = 255
                write_png(osp.join(data, 'gt_masks', *sub, name,
                                   f'{name}_{i}.png'), mask)
        write_wav(osp.join(data, 'audio_wav', *sub, name + '.wav'))


@pytest.mark.parametrize('subset', ['s4', 'ms3'])
def test_avsbench_v1(tmp_path, subset):
    root, out = str(tmp_path / 'avs'), str(tmp_path / 'ssu')
    os.makedirs(root)
    fake_v1(root, subset)
    load_tool('tools/dataset_converters/avsbench_to_ssu.py').main(
        [subset, root, out])
    train = read_json(osp.join(out, 'annotations', 'train.json'))
    clip = train['clips'][0]
    assert clip['clip_id'] == 'vid_a' and len(clip['frames']) == 5
    assert 'mask' in clip['frames'][0] and 'mask' not in clip['frames'][1]
    if subset == 's4':
        assert train['metainfo']['classes'] == ['dog_barking', 'helicopter']
        assert clip['categories'] == ['dog_barking']
    # training needs allow_missing_masks: unannotated frames are ignored
    with pytest.raises(ClipDataError, match="'vid_a'.*no mask"):
        SSUDataset(ann_file='annotations/train.json', data_root=out,
                   allow_missing_captions=True)
    ds = SSUDataset(ann_file='annotations/train.json', data_root=out,
                    allow_missing_masks=True, allow_missing_captions=True,
                    pipeline=PIPELINE)
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert seg[0, :, :4].eq(1).all() and seg[0, :, 4:].eq(0).all()
    assert seg[1:].eq(255).all()
    test = SSUDataset(ann_file='annotations/test.json', data_root=out,
                      allow_missing_captions=True, pipeline=PIPELINE)
    seg = test[0]['data_samples'].gt_sem_seg.data
    assert [int(seg[k].sum()) for k in range(5)] == [
        24 * 4 * (k + 1) for k in range(5)]


def test_avsbench_avss(tmp_path):
    tool = load_tool('tools/dataset_converters/avsbench_to_ssu.py')
    root, out = tmp_path / 'avss', str(tmp_path / 'ssu')
    root.mkdir()
    (root / 'label2idx.json').write_text(
        json.dumps({'background': 0, 'dog': 1, 'cat': 2}))
    (root / 'metadata.csv').write_text(
        'vid,uid,s_min,s_sec,a_obj,split,label\n'
        'x,uid_1,0,0,dog,train,v2\nx,uid_2,0,0,cat,val,v1m\n')
    palette = tool.avsbench_palette(3)
    for uid, label, num in (('uid_1', 'v2', 10), ('uid_2', 'v1m', 5)):
        base = str(root / label / uid)
        os.makedirs(osp.join(base, 'frames'))
        for k in range(num):
            cv2.imwrite(osp.join(base, 'frames', f'{k}.jpg'),
                        np.full((24, 32, 3), 90, np.uint8))
            colour = np.zeros((24, 32, 3), np.uint8)
            colour[:, :8] = palette[1]
            colour[:, 8:16] = palette[2] if k % 2 else 0
            write_png(osp.join(base, 'labels_rgb', f'{k}.png'), colour)
        write_wav(osp.join(base, 'audio.wav'), seconds=num)
    tool.main(['avss', str(root), out])
    train = read_json(osp.join(out, 'annotations', 'train.json'))
    assert train['metainfo']['classes'] == ['dog', 'cat']
    assert train['clips'][0]['categories'] == ['dog', 'cat']
    ds = SSUDataset(ann_file='annotations/train.json', data_root=out,
                    seg_mode='semantic', allow_missing_captions=True,
                    pipeline=PIPELINE)
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert tuple(seg.shape) == (10, 24, 32)
    assert seg[:, :, :8].eq(1).all() and seg[1, :, 8:16].eq(2).all()
    assert seg[0, :, 8:].eq(0).all()


def test_avsbench_missing_frame(tmp_path):
    root, out = str(tmp_path / 'avs'), str(tmp_path / 'ssu')
    os.makedirs(root)
    fake_v1(root, 's4')
    missing = osp.join(root, 's4_data', 'visual_frames', 'test', 'helicopter',
                       'vid_b', 'vid_b_3.png')
    os.remove(missing)
    tool = load_tool('tools/dataset_converters/avsbench_to_ssu.py')
    with pytest.raises(ClipDataError, match="'vid_b'.*vid_b_3.png"):
        tool.main(['s4', root, out])
    tool.main(['s4', root, out, '--skip-bad'])
    test = read_json(osp.join(out, 'annotations', 'test.json'))
    assert test['clips'] == []


def test_avsbench_link(tmp_path):
    root, out = str(tmp_path / 'avs'), str(tmp_path / 'ssu')
    os.makedirs(root)
    fake_v1(root, 's4')
    tool = load_tool('tools/dataset_converters/avsbench_to_ssu.py')
    tool.main(['s4', root, out, '--link'])
    # a second run replaces the links instead of writing through them
    tool.main(['s4', root, out, '--link'])
    frame = osp.join(out, 'frames', 'vid_b', '0.png')
    assert osp.islink(frame) and osp.realpath(frame).startswith(root)
    # the links lead out of the dataset root: allowed only explicitly
    with pytest.raises(ClipDataError,
                       match="'vid_b'.*leaves the dataset root.*test.json"):
        SSUDataset(ann_file='annotations/test.json', data_root=out,
                   allow_missing_captions=True)
    ds = SSUDataset(ann_file='annotations/test.json', data_root=out,
                    allow_missing_captions=True, allow_external_symlinks=True,
                    pipeline=PIPELINE)
    assert tuple(ds[0]['inputs']['frames'].shape) == (5, 3, 24, 32)
