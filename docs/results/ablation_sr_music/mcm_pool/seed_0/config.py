ablation = dict(
    flat_tol=0.01,
    splits=[
        dict(ann_file='annotations/test.json', name='test', zero_audio=False),
        dict(
            ann_file='annotations/test_real.json',
            name='test_real',
            zero_audio=False),
        dict(
            ann_file='annotations/test.json',
            name='test_zero_audio',
            zero_audio=True),
    ])
audio_cache_dir = 'data/sr_music/audio_cache'
auto_scale_lr = dict(base_batch_size=8, enable=False)
clip_pretrained = 'pretrain/sr_music/clip'
custom_hooks = [
    dict(isolate_val_rng=True, type='RNGStateHook'),
    dict(type='NonFiniteLossHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'rassu_mm',
    ])
data_preprocessor = dict(
    bgr_to_rgb=True,
    mean=[
        123.675,
        116.28,
        103.53,
    ],
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32,
    std=[
        58.395,
        57.12,
        57.375,
    ],
    type='SSUDataPreprocessor')
data_root = 'data/sr_music'
dataset_type = 'SSUDataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=1200,
        max_keep_ckpts=1,
        rule='greater',
        type='CheckpointHook'),
    logger=dict(interval=20, log_metric_by_epoch=False, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'),
    visualization=dict(interval=1, type='SSUVisualizationHook'))
default_scope = 'mmseg'
embed_dims = 256
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
fps = 1
img_scale = (
    96,
    96,
)
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False)
model = dict(
    audio_encoder=dict(
        channels=(
            16,
            32,
            32,
        ),
        embed_dims=64,
        frozen=True,
        init_cfg=dict(
            checkpoint='pretrain/sr_music/audio_cnn.pth', type='Pretrained'),
        type='AudioCNN'),
    backbone=dict(
        base_channels=16,
        contract_dilation=True,
        depth=18,
        dilations=(
            1,
            1,
            1,
        ),
        init_cfg=dict(
            checkpoint='pretrain/sr_music/backbone.pth', type='Pretrained'),
        norm_cfg=dict(requires_grad=True, type='BN'),
        norm_eval=False,
        num_stages=3,
        out_indices=(
            0,
            1,
            2,
        ),
        stem_channels=16,
        strides=(
            1,
            2,
            2,
        ),
        style='pytorch',
        type='StrictResNetV1c'),
    caption_head=dict(
        dropout=0.1,
        embed_dims=64,
        feedforward_channels=128,
        generation=dict(max_length=40, strategy='greedy'),
        loss_clip=None,
        loss_rcc=None,
        num_experts=1,
        num_heads=4,
        num_layers=2,
        tokenizer='data/sr_music/tokenizer',
        top_k=1,
        type='MoHECaptionHead'),
    class_hierarchy=None,
    data_preprocessor=dict(
        bgr_to_rgb=True,
        mean=[
            123.675,
            116.28,
            103.53,
        ],
        pad_val=0,
        seg_pad_val=255,
        size_divisor=16,
        std=[
            58.395,
            57.12,
            57.375,
        ],
        type='SSUDataPreprocessor'),
    decode_head=dict(
        num_classes=2,
        train_cfg=dict(
            assigner=dict(
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=2.0),
                    dict(
                        binary_input=True,
                        type='mmdet.FocalLossCost',
                        weight=20.0),
                    dict(
                        eps=1.0,
                        pred_act=True,
                        type='mmdet.DiceCost',
                        weight=5.0),
                ],
                type='BatchedHungarianAssigner'),
            importance_sample_ratio=0.75,
            num_points=256,
            oversample_ratio=3.0),
        transformer_decoder=dict(
            layer_cfg=dict(
                cross_attn_cfg=dict(
                    batch_first=True, dropout_layer=None, num_heads=4),
                ffn_cfg=dict(feedforward_channels=128),
                self_attn_cfg=dict(
                    batch_first=True, dropout_layer=None, num_heads=4)),
            num_layers=2),
        type='SSUMaskHead'),
    embed_dims=64,
    fusion=dict(
        feedforward_channels=128,
        memory_levels=1,
        num_heads=4,
        num_layers=1,
        temporal=False,
        type='MultiModalityIntegration'),
    mask_collaboration=dict(
        gt_mask_schedule=dict(end_iter=400, start_prob=1.0),
        mode='pool',
        pretrained='pretrain/sr_music/clip',
        type='MaskCollaborationModule'),
    num_queries=8,
    pixel_decoder=dict(
        in_channels=[
            16,
            32,
            64,
        ],
        norm_cfg=dict(num_groups=8, type='GN'),
        num_outs=2,
        type='FPNPixelDecoder'),
    query_generator=dict(type='AudioQueryGenerator'),
    type='SSUFormer',
    zero_audio=False)
norm_cfg = dict(requires_grad=True, type='BN')
num_classes = 2
num_frames = 5
num_queries = 100
optim_wrapper = dict(
    clip_grad=dict(max_norm=1.0, norm_type=2),
    optimizer=dict(foreach=True, lr=0.001, type='AdamW', weight_decay=0.0001),
    type='OptimWrapper')
param_scheduler = [
    dict(begin=0, by_epoch=False, end=100, start_factor=0.1, type='LinearLR'),
    dict(
        begin=100,
        by_epoch=False,
        end=1200,
        eta_min=1e-05,
        power=0.9,
        type='PolyLR'),
]
pretrain_dir = 'pretrain/sr_music'
randomness = dict(seed=0)
resume = False
seg_mode = 'binary'
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=4,
    dataset=dict(
        ann_file='annotations/test.json',
        data_root='data/sr_music',
        pipeline=[
            dict(type='LoadClipFrames'),
            dict(keep_ratio=False, scale=(
                96,
                96,
            ), type='ClipResize'),
            dict(type='LoadClipMasks'),
            dict(cache_dir='data/sr_music/audio_cache', type='LoadClipAudio'),
            dict(type='LoadClipCaptions'),
            dict(type='PackSSUInputs'),
        ],
        seg_mode='binary',
        test_mode=True,
        type='SSUDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(type='SSUMetric')
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(keep_ratio=False, scale=(
        96,
        96,
    ), type='ClipResize'),
    dict(type='LoadClipMasks'),
    dict(cache_dir='data/sr_music/audio_cache', type='LoadClipAudio'),
    dict(type='LoadClipCaptions'),
    dict(type='PackSSUInputs'),
]
tokenizer = 'data/sr_music/tokenizer'
train_cfg = dict(max_iters=1200, type='IterBasedTrainLoop', val_interval=100)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        ann_file='annotations/train.json',
        data_root='data/sr_music',
        pipeline=[
            dict(type='LoadClipFrames'),
            dict(type='LoadClipMasks'),
            dict(
                cache_dir='data/sr_music/audio_cache',
                reject_silence=True,
                type='LoadClipAudio'),
            dict(type='LoadClipCaptions'),
            dict(keep_ratio=False, scale=(
                96,
                96,
            ), type='ClipResize'),
            dict(prob=0.5, type='ClipRandomFlip'),
            dict(type='PackSSUInputs'),
        ],
        seg_mode='binary',
        type='SSUDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='InfiniteSampler'))
train_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks'),
    dict(
        cache_dir='data/sr_music/audio_cache',
        reject_silence=True,
        type='LoadClipAudio'),
    dict(type='LoadClipCaptions'),
    dict(keep_ratio=False, scale=(
        96,
        96,
    ), type='ClipResize'),
    dict(prob=0.5, type='ClipRandomFlip'),
    dict(type='PackSSUInputs'),
]
val_cfg = dict(type='ValLoop')
val_dataloader = dict(
    batch_size=4,
    dataset=dict(
        ann_file='annotations/val.json',
        data_root='data/sr_music',
        pipeline=[
            dict(type='LoadClipFrames'),
            dict(keep_ratio=False, scale=(
                96,
                96,
            ), type='ClipResize'),
            dict(type='LoadClipMasks'),
            dict(cache_dir='data/sr_music/audio_cache', type='LoadClipAudio'),
            dict(type='LoadClipCaptions'),
            dict(type='PackSSUInputs'),
        ],
        seg_mode='binary',
        test_mode=True,
        type='SSUDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(type='SSUMetric')
vis_backends = [
    dict(type='LocalVisBackend'),
]
visualizer = dict(
    name='visualizer',
    type='SSULocalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = 'work_dirs/ablation_sr_music/mcm_pool/seed_0'
