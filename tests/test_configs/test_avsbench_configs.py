"""``configs/avsbench/``: AVSBench S4 / MS3 / AVSS settings, and one training
iteration plus a validation pass of each config on generated data in the
AVSBench layout, converted with ``avsbench_to_ssu.py``.

Only the backbone (a tiny PVT-v2), the resolution (32x32, with the mask
head's sampled points scaled to it) and what needs files we do not have
(VGGish's pretrained weights) or writes large ones (the checkpoint hook) are
changed; everything else runs as configured.
"""
import json
import os
import os.path as osp

import numpy as np
import pytest
import soundfile
from mmengine.hooks import Hook
from mmengine.runner import Runner
from PIL import Image

from rassu_mm.testing import get_config, load_tool

CONFIGS = {
    's4': 'avsbench/ssuformer_pvtv2-b5_1xb4-26k_avsbench-s4-224x224.py',
    'ms3': 'avsbench/ssuformer_pvtv2-b5_1xb4-5k_avsbench-ms3-224x224.py',
    'avss': 'avsbench/ssuformer_pvtv2-b5_1xb2-128k_avsbench-avss-224x224.py',
}
#: a PVT-v2 with the stage layout of b5 at 1/8 of its width, one block each
TINY_PVT = dict(
    type='PVTv2',
    embed_dims=8,
    num_layers=[1, 1, 1, 1],
    num_heads=[1, 2, 5, 8],
    mlp_ratios=[2, 2, 2, 2],
    out_indices=(0, 1, 2, 3),
    qkv_bias=True)
TINY_SCALE = (32, 32)
#: the configs' 224x224 frames and the mask head's points per mask
#: (Mask2Former's 112 ** 2)
SCALE, NUM_POINTS = (224, 224), 12544
#: (name, split) of the generated clips; S4/MS3 train clips of 5 frames,
#: AVSS mixes 10-frame (v2) and 5-frame (v1m, v1s) clips
V1_CLIPS = [('vid_a', 'train'), ('vid_b', 'train'), ('vid_c', 'val'),
            ('vid_d', 'test')]
AVSS_CLIPS = [('uid_a', 'train', 'v2', 10), ('uid_b', 'train', 'v1m', 5),
              ('uid_c', 'val', 'v2', 10), ('uid_d', 'test', 'v1s', 5)]


def write_png(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def write_wav(path, seconds):
    os.makedirs(osp.dirname(path), exist_ok=True)
    t = np.arange(seconds * 16000) / 16000
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), 16000)


def frame(rng, shape=(24, 40)):
    return rng.integers(0, 255, (*shape, 3), dtype=np.uint8)


def fake_v1(root, subset, rng):
    """S4 / MS3 layout; S4 training clips annotate only their first frame."""
    data = osp.join(root, f'{subset}_data')
    with open(osp.join(root, f'{subset}_meta_data.csv'), 'w') as f:
        f.write('name,start,category,split\n' if subset ==
                's4' else 'video_id,split\n')
        for name, split in V1_CLIPS:
            f.write(f'{name},0,dog_barking,{split}\n' if subset ==
                    's4' else f'{name},{split}\n')
    for name, split in V1_CLIPS:
        sub = (split, 'dog_barking') if subset == 's4' else (split, )
        frames = osp.join(data, 'visual_frames', *(sub if subset == 's4'
                                                   else ()), name)
        fmt = '{}_{}.png' if subset == 's4' else '{}.mp4_{}.png'
        annotated = 1 if subset == 's4' and split == 'train' else 5
        for i in range(1, 6):
            write_png(osp.join(frames, fmt.format(name, i)), frame(rng))
            if i <= annotated:
                mask = np.zeros((24, 40), np.uint8)
                mask[4:20, 5 * i:5 * i + 16] = 255
                write_png(
                    osp.join(data, 'gt_masks', *sub, name, f'{name}_{i}.png'),
                    mask)
        write_wav(osp.join(data, 'audio_wav', *sub, name + '.wav'), 5)


def fake_avss(root, class_names, rng, palette):
    """AVSS layout with AVSBench's label2idx.json and colour masks."""
    labels = ['background', *class_names]
    with open(osp.join(root, 'label2idx.json'), 'w') as f:
        json.dump({name: i for i, name in enumerate(labels)}, f)
    with open(osp.join(root, 'metadata.csv'), 'w') as f:
        f.write('vid,uid,s_min,s_sec,a_obj,split,label\n')
        f.writelines(f'v,{uid},0,0,dog,{split},{label}\n'
                     for uid, split, label, _ in AVSS_CLIPS)
    for i, (uid, _, label, num) in enumerate(AVSS_CLIPS):
        base = osp.join(root, label, uid)
        for k in range(num):
            write_png(osp.join(base, 'frames', f'{k}.jpg'), frame(rng))
            colour = np.zeros((24, 40, 3), np.uint8)
            colour[4:20, 2 + k:18 + k] = palette[1 + 7 * i]  # some class
            write_png(osp.join(base, 'labels_rgb', f'{k}.png'), colour)
        write_wav(osp.join(base, 'audio.wav'), num)


def convert(subset, tmp_path, cfg):
    """Generate the AVSBench layout and convert it as docs/avsbench.md."""
    tool = load_tool('tools/dataset_converters/avsbench_to_ssu.py')
    root, out = str(tmp_path / 'avsbench'), str(tmp_path / subset)
    os.makedirs(root)
    rng = np.random.default_rng(0)
    if subset == 'avss':
        fake_avss(root, cfg.class_names, rng,
                  tool.avsbench_palette(len(cfg.class_names) + 1))
        tool.main(['avss', root, out, '--pad-frames', str(cfg.num_frames)])
    else:
        fake_v1(root, subset, rng)
        tool.main([subset, root, out])
    return out


def tiny_runner_cfg(cfg, data_root, work_dir):
    """The config with the tiny backbone and resolution, on ``data_root``."""
    cfg.model.backbone = TINY_PVT
    cfg.model.pixel_decoder.in_channels = [8, 16, 40, 64]
    cfg.model.audio_encoder.init_cfg = None  # no VGGish weights here
    # as many points per pixel as at 224x224: 12544 * (32 / 224) ** 2 = 256
    # (the matching costs and point losses scale with the points)
    head_cfg = cfg.model.decode_head.train_cfg
    assert head_cfg.num_points == NUM_POINTS
    head_cfg.num_points = NUM_POINTS * TINY_SCALE[0] * TINY_SCALE[1] // (
        SCALE[0] * SCALE[1])
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.data_root = data_root
        for transform in loader.dataset.pipeline:
            if transform.type == 'ClipResize':
                transform.scale = TINY_SCALE
            if transform.type == 'LoadClipAudio':
                transform.cache_dir = osp.join(work_dir, 'audio_cache')
    cfg.train_cfg.update(max_iters=1, val_interval=1)
    cfg.default_hooks.checkpoint = None  # would write the 72M-weight VGGish
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.mark.parametrize('subset', list(CONFIGS))
def test_avsbench_settings(subset):
    cfg = get_config(CONFIGS[subset])
    frames = 10 if subset == 'avss' else 5
    assert cfg.num_frames == frames and cfg.fps == 1
    assert cfg.img_scale == SCALE
    for loader in ('train', 'val', 'test'):
        pipeline = cfg[f'{loader}_dataloader'].dataset.pipeline
        assert [t.scale for t in pipeline if t.type == 'ClipResize'] == [
            SCALE
        ]
        assert 'LoadClipCaptions' not in [t.type for t in pipeline]
    assert cfg.model.backbone.type == 'PVTv2'
    assert cfg.model.get('caption_head') is None
    assert cfg.model.audio_encoder.type == 'VGGish'
    train = cfg.train_dataloader
    assert train.dataset.data_root == f'data/avsbench_{subset}'
    # S4 trains on clips whose later frames have no mask; MS3 has all
    assert train.dataset.allow_missing_masks == (subset != 'ms3')
    assert cfg.test_evaluator == cfg.val_evaluator
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert cfg.param_scheduler[-1].end == cfg.train_cfg.max_iters
    # the mode is the datasets' alone: the evaluator and the visualizer read
    # it from their metainfo
    modes = {cfg[f'{loader}_dataloader'].dataset.get('seg_mode', 'binary')
             for loader in ('train', 'val', 'test')}
    assert modes == {'semantic' if subset == 'avss' else 'binary'}
    assert 'seg_mode' not in cfg.val_evaluator
    assert 'seg_mode' not in cfg.visualizer
    if subset == 'avss':
        assert not cfg.val_evaluator.avsbench_compat
        assert len(cfg.class_names) == 70
        assert cfg.model.decode_head.num_classes == 71  # + background
        assert train.batch_size == 2
    else:
        assert cfg.val_evaluator.avsbench_compat
        assert cfg.model.decode_head.num_classes == 2
        assert train.batch_size == 4


def test_avss_conversion_pads_short_clips(tmp_path):
    cfg = get_config(CONFIGS['avss'])
    out = convert('avss', tmp_path, cfg)
    with open(osp.join(out, 'annotations', 'train.json')) as f:
        ann = json.load(f)
    assert ann['metainfo']['classes'] == cfg.class_names
    frames = {c['clip_id']: c['frames'] for c in ann['clips']}
    assert [len(f) for f in frames.values()] == [10, 10]
    short = frames['uid_b']  # a 5-frame v1m clip
    assert short[5:] == [dict(image=short[4]['image'])] * 5
    assert all('mask' in f for f in short[:5] + frames['uid_a'])


class RecordLosses(Hook):
    """Keeps the parsed losses of the last training iteration."""

    def __init__(self):
        self.losses = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses = {k: float(v.detach()) for k, v in outputs.items()}


@pytest.mark.slow
@pytest.mark.parametrize('subset', list(CONFIGS))
def test_avsbench_config_trains_one_iteration(subset, tmp_path):
    cfg = get_config(CONFIGS[subset])
    data_root = convert(subset, tmp_path, cfg)
    runner = Runner.from_cfg(
        tiny_runner_cfg(cfg, data_root, str(tmp_path / 'work')))
    record = RecordLosses()
    runner.register_hook(record)
    runner.train()  # one iteration, then the validation pass
    assert runner.iter == 1
    assert 'loss' in record.losses and all(
        np.isfinite(v) for v in record.losses.values())
    metrics = {
        key[len('val/'):]: buffer.current()
        for key, buffer in runner.message_hub.log_scalars.items()
        if key.startswith('val/')
    }
    assert 0 <= metrics['mIoU'] <= 1 and 0 <= metrics['F-score'] <= 1
    if subset == 'avss':
        assert {'mIoU-noBg', 'mIoU-binary', 'IoU.background'} <= set(metrics)
    # padded AVSS clips and 5-frame S4/MS3 clips: every clip has T frames
    batch = next(iter(runner.train_dataloader))
    assert [len(s.frame_paths) for s in batch['data_samples']
            ] == [cfg.num_frames] * cfg.train_dataloader.batch_size
