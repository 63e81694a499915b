# SSUFormer (segmentation path) with an ImageNet ResNet-50-V1c backbone and
# a frozen VGGish audio encoder (convert the torchvggish weights with
# tools/model_converters/vggish2mmseg.py).
norm_cfg = dict(type='SyncBN', requires_grad=True)
embed_dims = 256
num_queries = 100
num_classes = 2  # binary: 0 silent, 1 sounding (semantic: C + 1)
data_preprocessor = dict(
    type='SSUDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size_divisor=32,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='SSUFormer',
    data_preprocessor=data_preprocessor,
    embed_dims=embed_dims,
    num_queries=num_queries,
    zero_audio=False,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    audio_encoder=dict(
        type='VGGish',
        frozen=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='pretrain/vggish_mmseg.pth')),
    pixel_decoder=dict(
        type='MSDeformAttnPixelDecoder',  # mmdet's, with a with_cp switch
        in_channels=[256, 512, 1024, 2048],
        num_outs=3,
        norm_cfg=dict(type='GN', num_groups=32),
        act_cfg=dict(type='ReLU'),
        encoder=dict(
            num_layers=6,
            layer_cfg=dict(
                self_attn_cfg=dict(
                    embed_dims=embed_dims,
                    num_heads=8,
                    num_levels=3,
                    num_points=4,
                    im2col_step=64,
                    dropout=0.0,
                    batch_first=True,
                    norm_cfg=None,
                    init_cfg=None),
                ffn_cfg=dict(
                    embed_dims=embed_dims,
                    feedforward_channels=1024,
                    num_fcs=2,
                    ffn_drop=0.0,
                    act_cfg=dict(type='ReLU', inplace=True))),
            init_cfg=None),
        positional_encoding=dict(num_feats=embed_dims // 2, normalize=True),
        init_cfg=None),
    query_generator=dict(type='AudioQueryGenerator'),
    # fuses all 3 pixel decoder levels; the 1/32 level is the caption memory
    fusion=dict(
        type='MultiModalityIntegration',
        num_layers=3,
        num_heads=8,
        feedforward_channels=1024,
        memory_levels=1,
        temporal=False),
    # Mask2Former's decoder at its paper size (9 layers); the losses are
    # SSUMaskHead's defaults (Mask2Former's). train_cfg restates the head's
    # default because the head takes it whole: the demo model overrides
    # num_points alone.
    decode_head=dict(
        type='SSUMaskHead',
        num_classes=num_classes,
        transformer_decoder=dict(
            num_layers=9,
            layer_cfg=dict(
                self_attn_cfg=dict(
                    num_heads=8, dropout_layer=None, batch_first=True),
                cross_attn_cfg=dict(
                    num_heads=8, dropout_layer=None, batch_first=True),
                ffn_cfg=dict(feedforward_channels=2048))),
        train_cfg=dict(
            num_points=12544,
            oversample_ratio=3.0,
            importance_sample_ratio=0.75,
            assigner=dict(
                type='BatchedHungarianAssigner',
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
                ]))))
