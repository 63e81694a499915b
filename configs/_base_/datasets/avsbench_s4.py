# AVSBench-object single-source (S4) in the SSU format, masks only:
#   python tools/dataset_converters/avsbench_to_ssu.py s4 \
#       data/AVSBench/Single-source data/avsbench_s4
# 23 categories, 3,452 / 740 / 740 clips, 5 frames of 224x224 per clip
# (one per second). Training clips annotate only their first frame; the
# other frames load as all-ignore masks (allow_missing_masks).
num_frames = 5
fps = 1
dataset_type = 'SSUDataset'
data_root = 'data/avsbench_s4'
seg_mode = 'binary'
img_scale = (224, 224)  # (w, h), AVSBench's input size
audio_cache_dir = 'work_dirs/audio_cache'

# no captions: segmentation only
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks'),
    dict(type='LoadClipAudio', cache_dir=audio_cache_dir, reject_silence=True),
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
        allow_missing_masks=True,
        allow_missing_captions=True,
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
        allow_missing_captions=True,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='annotations/test.json'))
# AVSBench's test script: mIoU and F-score averaged over batches of
# `avsbench_batch_size` clips (its --test_batch_size, 1), so the numbers
# compare with published AVS results
val_evaluator = dict(type='SSUMetric', avsbench_compat=True)
test_evaluator = val_evaluator
