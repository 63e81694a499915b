# A few minutes on 2 CPU cores: the tiny demo model on data/demo.
# 600 iterations of 8 clips (the demo dataset config) on one process are
# 40 epochs of the 120 training clips; N processes see N times as many.
optim_wrapper = dict(
    type='OptimWrapper',
    # foreach=True: multi-tensor kernels, any device and torch version; the
    # same update as the default loop (tests/test_configs/test_schedules.py)
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4, foreach=True),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=50,
        end=600,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # best_ssu_score_*.pth: masks and captions together (docs/model.md)
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=300,
        max_keep_ckpts=1,
        save_best='ssu_score',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # --show-dir paints every clip of the small demo test split
    visualization=dict(type='SSUVisualizationHook', interval=1))
# learning rates for a total batch of 8 clips; `--cfg-options
# auto_scale_lr.enable=True` scales them for other totals
auto_scale_lr = dict(enable=False, base_batch_size=8)
