# AVSBench-object single-source (S4) in the SSU format, masks only:
#   python tools/dataset_converters/avsbench_to_ssu.py s4 \
#       data/AVSBench/Single-source data/avsbench_s4
# 23 categories, 3,452 / 740 / 740 clips, 5 frames of 224x224 per clip
# (one per second). Training clips annotate only their first frame; the
# other frames load as all-ignore masks (allow_missing_masks).
# Pipelines and loaders of ssu_clips.py without captions.
_base_ = './ssu_clips.py'
num_frames = 5
fps = 1
data_root = 'data/avsbench_s4'
train_pipeline = [
    t for t in _base_.train_pipeline if t.type != 'LoadClipCaptions'
]
test_pipeline = [
    t for t in _base_.test_pipeline if t.type != 'LoadClipCaptions'
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        allow_missing_masks=True,
        allow_missing_captions=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        allow_missing_captions=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        allow_missing_captions=True,
        pipeline=test_pipeline))
# AVSBench's test script: mIoU and F-score averaged over batches of
# `avsbench_batch_size` clips (its --test_batch_size, 1), so the numbers
# compare with published AVS results
val_evaluator = dict(avsbench_compat=True)
test_evaluator = val_evaluator
