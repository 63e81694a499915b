# A tiny SSUFormer that trains on the synthetic demo set (data/demo: 64 px
# frames, 5 frames per clip) in a few minutes on 2 CPU cores.
# Audio ablation: --cfg-options model.zero_audio=True
# val/test evaluator: SSUMetric, from the dataset base.
_base_ = [
    './_base_/datasets/ssu_demo.py', './_base_/default_runtime.py',
    './_base_/schedules/schedule_demo.py'
]
embed_dims = 64
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='SSUFormer',
    data_preprocessor=dict(
        type='SSUDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size_divisor=16),
    embed_dims=embed_dims,
    num_queries=8,
    zero_audio=False,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=3,
        stem_channels=16,
        base_channels=16,
        out_indices=(0, 1, 2),
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        norm_cfg=norm_cfg),
    audio_encoder=dict(type='AudioCNN', embed_dims=64, channels=(16, 32, 32)),
    query_generator=dict(type='AudioQueryGenerator'),
    fusion=dict(
        type='MultiModalityIntegration',
        num_layers=1,
        num_heads=4,
        feedforward_channels=128),
    decode_head=dict(
        type='SSUMaskHead',
        in_channels=[16, 32, 64],
        num_classes=2,
        num_transformer_feat_level=2,
        pixel_decoder=dict(
            type='FPNPixelDecoder',
            num_outs=2,
            norm_cfg=dict(type='GN', num_groups=8)),
        transformer_decoder=dict(
            num_layers=2,
            layer_cfg=dict(
                self_attn_cfg=dict(num_heads=4, batch_first=True),
                cross_attn_cfg=dict(num_heads=4, batch_first=True),
                ffn_cfg=dict(feedforward_channels=128))),
        train_cfg=dict(
            num_points=256,
            oversample_ratio=3.0,
            importance_sample_ratio=0.75,
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=2.0),
                    dict(
                        type='mmdet.FocalLossCost',
                        weight=20.0,
                        binary_input=True),
                    dict(
                        type='mmdet.DiceCost',
                        weight=5.0,
                        pred_act=True,
                        eps=1.0)
                ]),
            sampler=dict(type='mmdet.MaskPseudoSampler'))))
