# The full SSUFormer on the synthetic demo set: the tiny segmentation model
# of ssuformer_demo_seg.py plus a tiny caption branch (MCM neck with a small
# randomly initialised CLIP vision encoder, MoHE caption head). `make demo`
# builds the tokenizer at data/demo/tokenizer from the training captions.
_base_ = ['./ssuformer_demo_seg.py']
embed_dims = 64
demo_classes = [
    'red triangle', 'blue circle', 'green square', 'yellow diamond'
]
model = dict(
    neck=dict(
        type='MaskCollaborationModule',
        embed_dims=embed_dims,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        # tiny random CLIP (the paper config loads pretrained ViT-B/16)
        clip=dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=64,
            patch_size=8,
            projection_dim=64),
        gt_mask_schedule=dict(start_prob=1.0, end_iter=200)),
    caption_head=dict(
        type='MoHECaptionHead',
        tokenizer='data/demo/tokenizer',
        in_channels=embed_dims,
        embed_dims=64,
        num_layers=2,
        num_heads=4,
        feedforward_channels=128,
        num_experts=4,
        top_k=2,
        dropout=0.1,
        classes=demo_classes,
        super_categories=dict(
            Triangle=['red triangle'],
            Circle=['blue circle'],
            Square=['green square'],
            Diamond=['yellow diamond']),
        dataset_names=['SSU-Demo'],
        generation=dict(strategy='greedy', max_length=24)))
# experts not chosen in a step get no gradient
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
