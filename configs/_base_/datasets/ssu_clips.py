# Pipelines, loaders and evaluator of a data set in the SSU format
# (docs/data.md): f_music.py, ssu_demo.py and avsbench_s4.py inherit them
# and set their data root, clip length and batch sizes. Values are read when
# a file is parsed: a config that changes `img_scale` or `audio_cache_dir`
# maps the pipelines of its `_base_` to them (ssu_demo.py).
dataset_type = 'SSUDataset'
data_root = 'data/ssu'
seg_mode = 'binary'  # or 'semantic' with class-index masks
img_scale = (224, 224)  # (w, h), as AVSBench
# log-mel features are cached by file content + parameters; any folder works
audio_cache_dir = 'work_dirs/audio_cache'

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
# masks are loaded after resizing: metrics compare at the original size
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='ClipResize', scale=img_scale, keep_ratio=False),
    dict(type='LoadClipMasks'),
    dict(type='LoadClipAudio', cache_dir=audio_cache_dir),
    dict(type='LoadClipCaptions'),
    dict(type='PackSSUInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        seg_mode=seg_mode,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        seg_mode=seg_mode,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='annotations/test.json'))
val_evaluator = dict(type='SSUMetric')
test_evaluator = val_evaluator
