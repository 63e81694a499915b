# SSUFormer segmentation path (PVT-v2-b5, frozen VGGish, MMI,
# Mask2Former-style head) on AVSBench S4, 5 frames at 224x224.
# 26k iterations x 4 clips on 1 GPU = 104k clips: 30 epochs of the 3,452
# training clips (AVSegFormer: 30 epochs at batch 4). On N GPUs it is N
# times as many epochs (auto_scale_lr: see the schedule).
_base_ = [
    '../_base_/models/ssuformer_pvtv2_b5.py',
    '../_base_/datasets/avsbench_s4.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
max_iters = 26000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='PolyLR', power=0.9, begin=500, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
# keep the checkpoint of the best validation mIoU, as AVS papers select
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
