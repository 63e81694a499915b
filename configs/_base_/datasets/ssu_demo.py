# The synthetic demo set (`make demo`, or
# tools/dataset_converters/make_synthetic.py --out-dir data/demo):
# 64x64 frames, 5 frames per clip, 120/24/24 clips. Which objects are masked
# is decided by the audio alone. Pipelines, loaders and evaluator of
# ssu_clips.py at this size, with larger batches.
_base_ = './ssu_clips.py'
# clip length and sampling rate (frames per second); the inferencer uses
# them to cut videos into windows
num_frames = 5
fps = 1
data_root = 'data/demo'
img_scale = (64, 64)  # (w, h); a no-op for the default generator size
audio_cache_dir = 'data/demo/audio_cache'
# the base pipelines with this size and cache
train_pipeline, test_pipeline = ([
    dict(t, scale=img_scale) if t.type == 'ClipResize' else
    dict(t, cache_dir=audio_cache_dir) if t.type == 'LoadClipAudio' else t
    for t in pipeline
] for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=4, dataset=dict(data_root=data_root, pipeline=test_pipeline))
