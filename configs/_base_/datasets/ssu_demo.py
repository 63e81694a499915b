# The synthetic demo set (`make demo`, or
# tools/dataset_converters/make_synthetic.py --out-dir data/demo):
# 64x64 frames, 5 frames per clip, 120/24/24 clips. Which objects are masked
# is decided by the audio alone.
# clip length and sampling rate (frames per second); the inferencer uses
# them to cut videos into windows
num_frames = 5
fps = 1
dataset_type = 'SSUDataset'
data_root = 'data/demo'
img_scale = (64, 64)  # (w, h); a no-op for the default generator size
audio_cache_dir = 'data/demo/audio_cache'

train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks'),
    # silent audio is likely a broken file in training; val/test/inference
    # accept it ("nothing is sounding")
    dict(type='LoadClipAudio', cache_dir=audio_cache_dir, reject_silence=True),
    dict(type='LoadClipCaptions'),
    dict(type='ClipResize', scale=img_scale, keep_ratio=False),
    dict(type='ClipRandomFlip', prob=0.5),
    dict(type='PackSSUInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='ClipResize', scale=img_scale, keep_ratio=False),
    dict(type='LoadClipMasks'),
    dict(type='LoadClipAudio', cache_dir=audio_cache_dir),
    dict(type='LoadClipCaptions'),
    dict(type='PackSSUInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'], ann_file='annotations/test.json'))
val_evaluator = dict(type='SSUMetric')
test_evaluator = val_evaluator
