# SSUFormer segmentation path on AVSBench-semantic (AVSS): 70 classes +
# background, 10 frames at 224x224 (convert with --pad-frames 10).
# 128k iterations x 2 clips on 1 GPU = 256k clips: 30 epochs of about 8.5k
# training clips (AVSegFormer: 30 epochs at batch 2; the converter prints
# the split sizes). On N GPUs it is N times as many epochs.
_base_ = [
    '../_base_/models/ssuformer_pvtv2_b5.py',
    '../_base_/datasets/avsbench_avss.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
max_iters = 128000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='PolyLR', power=0.9, begin=500, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000, save_best='mIoU'))
# the learning rates are meant for this config's 2 clips per iteration
auto_scale_lr = dict(base_batch_size=2)
# semantic: background + 70 classes (mask head classes include background)
model = dict(decode_head=dict(num_classes=71))
