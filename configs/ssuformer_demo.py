# The full SSUFormer on the synthetic demo set: the tiny segmentation model
# of ssuformer_demo_seg.py plus a tiny caption branch (MCM with a small
# randomly initialised CLIP vision encoder, MoHE caption head). `make demo`
# builds the tokenizer at data/demo/tokenizer from the training captions.
# The class hierarchy of the prompts is the demo generator's
# (rassu_mm/utils/class_names.py get_metainfo).
_base_ = ['./ssuformer_demo_seg.py']
model = dict(
    class_hierarchy='SSU-Demo',
    mask_collaboration=dict(
        type='MaskCollaborationModule',
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
        embed_dims=64,
        num_layers=2,
        num_heads=4,
        feedforward_channels=128,
        num_experts=4,
        top_k=2,
        dropout=0.1,
        generation=dict(strategy='greedy', max_length=24)))
