# SSUFormer segmentation path on AVSBench MS3, 5 frames at 224x224.
# 5k iterations x 4 clips on 1 GPU = 20k clips: 68 epochs of the 296
# training clips (AVSegFormer: 60 epochs at batch 4). Validation every 500
# iterations keeps the best mIoU (save_best).
_base_ = [
    '../_base_/models/ssuformer_pvtv2_b5.py',
    '../_base_/datasets/avsbench_ms3.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
max_iters = 5000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='PolyLR', power=0.9, begin=500, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500, save_best='mIoU'))
