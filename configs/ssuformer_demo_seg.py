# A tiny SSUFormer that trains on the synthetic demo set (data/demo: 64 px
# frames, 5 frames per clip) in a few minutes on 2 CPU cores: the base model
# (_base_/models/ssuformer_r50.py) with every size turned down, a small CNN
# instead of VGGish and an FPN instead of the deformable pixel decoder.
# Audio ablation: --cfg-options model.zero_audio=True
# val/test evaluator: SSUMetric, from the dataset base.
_base_ = [
    './_base_/models/ssuformer_r50.py', './_base_/datasets/ssu_demo.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_demo.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size_divisor=16),
    embed_dims=64,
    num_queries=8,
    backbone=dict(
        depth=18,
        num_stages=3,
        stem_channels=16,
        base_channels=16,
        out_indices=(0, 1, 2),
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        norm_cfg=norm_cfg,
        init_cfg=None),
    audio_encoder=dict(
        _delete_=True, type='AudioCNN', embed_dims=64, channels=(16, 32, 32)),
    pixel_decoder=dict(
        _delete_=True,
        type='FPNPixelDecoder',
        in_channels=[16, 32, 64],
        num_outs=2,
        norm_cfg=dict(type='GN', num_groups=8)),
    fusion=dict(num_layers=1, num_heads=4, feedforward_channels=128),
    decode_head=dict(
        transformer_decoder=dict(
            num_layers=2,
            layer_cfg=dict(
                self_attn_cfg=dict(num_heads=4),
                cross_attn_cfg=dict(num_heads=4),
                ffn_cfg=dict(feedforward_channels=128))),
        train_cfg=dict(num_points=256)))
