"""Clip transforms: shapes, dtypes, clip-consistent randomness, audio."""
import os.path as osp

import numpy as np
import pytest
import soundfile
import torch
from mmengine.registry import init_default_scope

from mmseg.registry import TRANSFORMS
from rassu_mm.datasets import AudioFeatureCache, ClipDataError, SSUDataset
from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.datasets.transforms import loading
from rassu_mm.datasets.transforms import (ClipPhotoMetricDistortion,
                                          ClipRandomCrop, ClipRandomFlip,
                                          ClipResize, LoadClipAudio,
                                          LoadClipCaptions, LoadClipFrames,
                                          LoadClipMasks, PackSSUInputs,
                                          swap_position_words)

T, H, W = 4, 40, 56


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('demo'))
    make_synthetic_dataset(
        root, num_clips=(3, 0, 0), num_frames=T, size=(H, W), progress=False)
    return SSUDataset(ann_file='annotations/train.json', data_root=root)


def loaded(demo, idx=0):
    results = demo.get_data_info(idx)
    for t in (LoadClipFrames(), LoadClipMasks(), LoadClipAudio(),
              LoadClipCaptions()):
        results = t(results)
    return results


def fake_clip(seed=0):
    """Frames whose pixels encode their (y, x); masks = a moving blob."""
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
              for _ in range(T)]
    masks = [(f[..., 0] > 128).astype(np.uint8) for f in frames]
    return dict(
        frames=frames, gt_masks=masks, img_shape=(H, W),
        gt_captions=['The cat on the left is sounding.', None,
                     'Left: dog; right: bird.',
                     'A bright light on the upper right.'])


def test_registered():
    for name in ('LoadClipFrames', 'LoadClipMasks', 'LoadClipAudio',
                 'LoadClipCaptions', 'ClipResize', 'ClipRandomCrop',
                 'ClipRandomFlip', 'ClipPhotoMetricDistortion',
                 'PackSSUInputs'):
        assert TRANSFORMS.get(name) is not None, name


def test_loading_shapes_and_dtypes(demo):
    r = loaded(demo)
    assert len(r['frames']) == T and r['num_frames'] == T
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8
               for f in r['frames'])
    assert r['ori_shape'] == r['img_shape'] == (H, W)
    assert all(m.shape == (H, W) and m.dtype == np.uint8
               for m in r['gt_masks'])
    assert set(np.unique(np.stack(r['gt_masks'])).tolist()) <= {0, 1}
    assert r['audio'].shape == (T, 1, 96, 64)
    assert r['audio'].dtype == np.float32
    assert len(r['gt_captions']) == T
    # empty mask <=> "Nothing is sounding."
    for m, c in zip(r['gt_masks'], r['gt_captions']):
        assert (m.sum() == 0) == (c == 'Nothing is sounding.')


def test_captions_whitespace_and_count():
    r = LoadClipCaptions()(dict(
        clip_id='c', frame_paths=['x/0.jpg', 'x/1.jpg'],
        captions=['  A  dog\n barks. ', None]))
    assert r['gt_captions'] == ['A dog barks.', None]
    with pytest.raises(ClipDataError, match="'c'.*x"):
        LoadClipCaptions()(dict(
            clip_id='c', frame_paths=['x/0.jpg', 'x/1.jpg'],
            captions=['only one']))


def tone(freq, seconds, rate, channels=1, start=0.0, stop=None, noise=1e-3):
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    stop = seconds if stop is None else stop
    wave[(t < start) | (t >= stop)] = 0
    wave += noise * np.random.default_rng(0).normal(size=wave.shape)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def audio_results(path, num):
    return dict(clip_id='a', audio_path=path,
                frame_paths=[f'{k}.jpg' for k in range(num)], fps=1)


def test_audio_resampling_and_mixing(tmp_path):
    mono = str(tmp_path / 'mono.wav')
    stereo = str(tmp_path / 'stereo.wav')
    soundfile.write(mono, tone(1000, 3, 16000, noise=0), 16000)
    soundfile.write(stereo, tone(1000, 3, 44100, channels=2, noise=0),
                    44100)
    a = LoadClipAudio()(audio_results(mono, 3))['audio']
    b = LoadClipAudio()(audio_results(stereo, 3))['audio']
    assert a.shape == b.shape == (3, 1, 96, 64)
    band = a[0, 0].mean(0).argmax()
    assert band == b[0, 0].mean(0).argmax()
    # the 1 kHz band matches the HTK mel scale over 125..7500 Hz
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    edges = np.linspace(mel(125), mel(7500), 66)
    assert abs(band - np.searchsorted(edges, mel(1000)) + 1) <= 1
    assert np.abs(a - b).mean() < 0.5


def test_audio_window_alignment_and_padding(tmp_path):
    path = str(tmp_path / 'a.wav')
    # 3 s of audio, tone only during second 1, clip of 5 frames
    soundfile.write(path, tone(700, 3, 16000, start=1, stop=2), 16000)
    feats = LoadClipAudio()(audio_results(path, 5))['audio']
    energy = feats.reshape(5, -1).mean(1)
    assert energy.argmax() == 1
    # frames 3 and 4 lie past the end: zero padding -> log(0.01)
    assert np.allclose(feats[3:], np.log(0.01))
    assert feats[2].mean() > np.log(0.01) + 1  # background noise present


def test_audio_feature_cache(tmp_path, monkeypatch):
    path = str(tmp_path / 'a.wav')
    soundfile.write(path, tone(440, 2, 22050), 22050)
    cache_dir = str(tmp_path / 'cache')
    load = LoadClipAudio(cache_dir=cache_dir)
    first = load(audio_results(path, 2))['audio']

    def no_decoding(*args, **kwargs):
        raise AssertionError('decoded although cached')

    monkeypatch.setattr(loading, 'load_waveform', no_decoding)
    second = load(audio_results(path, 2))['audio']
    np.testing.assert_array_equal(first, second)
    # the key depends on content and parameters
    params = dict(LoadClipAudio().params.to_dict(), num_frames=2, fps=1)
    key = AudioFeatureCache.make_key(path, params)
    assert key != AudioFeatureCache.make_key(path, dict(params, fps=2))
    soundfile.write(path, tone(880, 2, 22050), 22050)
    assert key != AudioFeatureCache.make_key(path, params)
    with pytest.raises(AssertionError, match='decoded'):
        load(audio_results(path, 2))


def test_clip_resize():
    r = ClipResize(scale=(28, 20), keep_ratio=False)(fake_clip())
    assert all(f.shape == (20, 28, 3) for f in r['frames'])
    assert all(m.shape == (20, 28) for m in r['gt_masks'])
    assert set(np.unique(np.stack(r['gt_masks'])).tolist()) <= {0, 1}
    assert r['img_shape'] == (20, 28)
    r = ClipResize(scale=(112, 112), keep_ratio=True)(fake_clip())
    assert r['frames'][0].shape[:2] == (80, 112)
    # as the resize_type of mmcv's RandomResize: one scale for the clip
    init_default_scope('mmseg')
    resize = TRANSFORMS.build(
        dict(type='RandomResize', scale=(W, H), ratio_range=(0.5, 2.0),
             keep_ratio=True, resize_type='ClipResize'))
    r = resize(fake_clip())
    assert len({f.shape for f in r['frames']}) == 1
    assert r['gt_masks'][0].shape == r['frames'][0].shape[:2] == \
        r['img_shape']


def test_clip_random_crop_one_box():
    clip = fake_clip()
    r = ClipRandomCrop(crop_size=(16, 24))(fake_clip())
    # locate the crop in frame 0; all frames and masks use the same box
    f0 = r['frames'][0]
    hits = [(y, x) for y in range(H - 15) for x in range(W - 23)
            if np.array_equal(clip['frames'][0][y:y + 16, x:x + 24], f0)]
    assert len(hits) == 1
    y, x = hits[0]
    for t in range(T):
        np.testing.assert_array_equal(
            r['frames'][t], clip['frames'][t][y:y + 16, x:x + 24])
        np.testing.assert_array_equal(
            r['gt_masks'][t], clip['gt_masks'][t][y:y + 16, x:x + 24])
    assert r['img_shape'] == (16, 24)


def test_swap_position_words():
    assert swap_position_words(
        'The red triangle on the left and the blue circle on the right '
        'are sounding.', 'horizontal') == (
            'The red triangle on the right and the blue circle on the left '
            'are sounding.')
    assert swap_position_words('Left, RIGHT, leftmost, bright, lefty.',
                               'horizontal') == \
        'Right, LEFT, rightmost, bright, lefty.'
    assert swap_position_words('the top left one', 'vertical') == \
        'the bottom left one'
    assert swap_position_words('the top left one', 'diagonal') == \
        'the bottom right one'


def test_clip_random_flip_one_decision():
    flips = []
    for seed in range(16):
        np.random.seed(seed)
        clip = fake_clip()
        r = ClipRandomFlip(prob=0.5)(fake_clip())
        flipped = [np.array_equal(r['frames'][t], clip['frames'][t][:, ::-1])
                   for t in range(T)]
        kept = [np.array_equal(r['frames'][t], clip['frames'][t])
                for t in range(T)]
        assert all(flipped) or all(kept)
        assert all(flipped) == r['flip']
        assert all(
            np.array_equal(r['gt_masks'][t],
                           clip['gt_masks'][t][:, ::-1] if r['flip'] else
                           clip['gt_masks'][t]) for t in range(T))
        expected = clip['gt_captions']
        if r['flip']:
            assert r['flip_direction'] == 'horizontal'
            expected = ['The cat on the right is sounding.', None,
                        'Right: dog; left: bird.',
                        'A bright light on the upper left.']
        assert r['gt_captions'] == expected
        flips.append(r['flip'])
    assert 0 < sum(flips) < 16


def test_photometric_distortion_same_draws_and_seeded():
    base = fake_clip()['frames'][0]
    clip = dict(frames=[base.copy() for _ in range(T)])
    changed = 0
    for seed in range(6):
        np.random.seed(seed)
        out = ClipPhotoMetricDistortion()(dict(frames=list(clip['frames'])))
        assert all(np.array_equal(out['frames'][0], f)
                   for f in out['frames'])
        assert out['frames'][0].dtype == np.uint8
        np.random.seed(seed)
        again = ClipPhotoMetricDistortion()(dict(frames=list(clip['frames'])))
        np.testing.assert_array_equal(out['frames'][0], again['frames'][0])
        changed += not np.array_equal(out['frames'][0], base)
    assert changed > 0


def test_pack_inputs(demo):
    r = ClipRandomFlip(prob=1.0)(loaded(demo, 2))
    packed = PackSSUInputs()(r)
    frames, audio = packed['inputs']['frames'], packed['inputs']['audio']
    assert frames.dtype == torch.uint8 and tuple(frames.shape) == (T, 3, H, W)
    assert audio.dtype == torch.float32
    assert tuple(audio.shape) == (T, 1, 96, 64)
    np.testing.assert_array_equal(frames[1].permute(1, 2, 0).numpy(),
                                  r['frames'][1])
    sample = packed['data_samples']
    seg = sample.gt_sem_seg.data
    assert seg.dtype == torch.int64 and tuple(seg.shape) == (T, H, W)
    assert sample.gt_captions == r['gt_captions']
    assert sample.categories == r['categories']
    for key in ('clip_id', 'num_frames', 'frame_paths', 'ori_shape',
                'img_shape', 'flip', 'flip_direction', 'dataset_name'):
        assert key in sample.metainfo, key
    assert sample.flip and sample.num_frames == T


def test_full_pipeline_deterministic_by_seed(demo):
    pipeline = [
        dict(type='LoadClipFrames'), dict(type='LoadClipMasks'),
        dict(type='LoadClipAudio'), dict(type='LoadClipCaptions'),
        dict(type='ClipResize', scale=(32, 32)),
        dict(type='ClipRandomCrop', crop_size=(24, 24)),
        dict(type='ClipRandomFlip', prob=0.5),
        dict(type='ClipPhotoMetricDistortion'), dict(type='PackSSUInputs')
    ]
    ds = SSUDataset(ann_file=demo.ann_file,
                    data_root=osp.dirname(osp.dirname(demo.ann_file)),
                    pipeline=pipeline)
    outs = []
    for _ in range(2):
        np.random.seed(3)
        outs.append([ds[i] for i in range(len(ds))])
    for a, b in zip(*outs):
        assert torch.equal(a['inputs']['frames'], b['inputs']['frames'])
        assert torch.equal(a['data_samples'].gt_sem_seg.data,
                           b['data_samples'].gt_sem_seg.data)
        assert a['data_samples'].gt_captions == b['data_samples'].gt_captions


def test_silent_audio_rejected_only_when_asked(tmp_path):
    path = str(tmp_path / 'silent.wav')
    soundfile.write(path, np.zeros(2 * 16000, np.float32), 16000)
    # test/inference default: silence is "nothing is sounding"
    feats = LoadClipAudio()(audio_results(path, 2))['audio']
    np.testing.assert_allclose(feats, np.log(0.01), rtol=0, atol=1e-6)
    # training pipelines refuse it (likely a broken file)
    with pytest.raises(ClipDataError, match=r"'a'.*audio is silent.*silent"):
        LoadClipAudio(reject_silence=True)(audio_results(path, 2))
    # just above the threshold is not silent
    soundfile.write(path, np.full(2 * 16000, 2e-4, np.float32), 16000,
                    subtype='FLOAT')
    LoadClipAudio(reject_silence=True)(audio_results(path, 2))


def test_cache_does_not_bypass_silence_check(tmp_path):
    path = str(tmp_path / 'silent.wav')
    soundfile.write(path, np.zeros(16000, np.float32), 16000)
    cache_dir = str(tmp_path / 'cache')
    LoadClipAudio(cache_dir=cache_dir)(audio_results(path, 1))
    with pytest.raises(ClipDataError, match='silent'):
        LoadClipAudio(cache_dir=cache_dir, reject_silence=True)(
            audio_results(path, 1))
