# AVSBench-object multi-source (MS3) in the SSU format, masks only:
#   python tools/dataset_converters/avsbench_to_ssu.py ms3 \
#       data/AVSBench/Multi-sources data/avsbench_ms3
# 296 / 64 / 64 clips, 5 frames of 224x224 per clip, every frame annotated.
# Pipelines, loaders and the AVSBench-compatible metric are S4's.
_base_ = './avsbench_s4.py'
data_root = 'data/avsbench_ms3'
train_dataloader = dict(
    dataset=dict(data_root=data_root, allow_missing_masks=False))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
