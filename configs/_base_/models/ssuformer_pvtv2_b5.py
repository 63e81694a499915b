# SSUFormer with an ImageNet PVT-v2-b5 backbone (mmdet's implementation,
# loading its pretrained weights strictly: rassu_mm.models.backbones.PVTv2).
_base_ = './ssuformer_r50.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='PVTv2',
        embed_dims=64,
        num_layers=[3, 6, 40, 3],
        num_heads=[1, 2, 5, 8],
        mlp_ratios=[4, 4, 4, 4],
        out_indices=(0, 1, 2, 3),
        qkv_bias=True,
        drop_path_rate=0.1,
        # python tools/misc/download_pretrained.py pvt_v2_b5
        init_cfg=dict(type='Pretrained',
                      checkpoint='pretrain/pvt_v2_b5.pth')),
    pixel_decoder=dict(in_channels=[64, 128, 320, 512]))
