# AdamW + poly decay, 20k iterations, Mask2Former's optimiser settings.
# One iteration takes `train_dataloader.batch_size` clips on every process:
# the dataset configs' 4 clips on 1 GPU make 80k clips in 20k iterations,
# about 29 epochs of 2,800 training clips (70 % of f-Music's 3,976; the
# split is not published); on N GPUs it is N times as many epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    # fused=True: one kernel per step for all tensors (CUDA; CPU needs
    # torch >= 2.4, else foreach=True); the same update as the default
    # loop within float rounding (tests/test_configs/test_schedules.py)
    optimizer=dict(
        type='AdamW',
        lr=1e-4,
        betas=(0.9, 0.999),
        weight_decay=0.05,
        fused=True),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=0.1, decay_mult=1.0),
            'query_feat': dict(lr_mult=1.0, decay_mult=0.0),
            'query_pos': dict(lr_mult=1.0, decay_mult=0.0),
            'level_embed': dict(lr_mult=1.0, decay_mult=0.0),
        },
        norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(
        type='PolyLR',
        eta_min=0,
        power=0.9,
        begin=500,
        end=20000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=3,
        # masks and captions together (SSUMetric's ssu_score, docs/model.md)
        save_best='ssu_score',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SSUVisualizationHook'))
# The learning rates above are for a total batch of 4 clips (1 GPU x 4).
# With more GPUs or clips per GPU, `--cfg-options auto_scale_lr.enable=True`
# scales them linearly by (GPUs x batch_size) / 4 (MMEngine's Runner).
auto_scale_lr = dict(enable=False, base_batch_size=4)
