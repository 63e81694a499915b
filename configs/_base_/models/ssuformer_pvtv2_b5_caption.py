# The full paper model: the PVT-v2-b5 segmentation path plus the caption
# branch: MCM with a frozen CLIP ViT-B/16 (hub name or local folder), MoHE
# caption head, RCC loss against the frozen CLIP text tower. The model
# configs name the class hierarchy (`class_hierarchy`) and the tokenizer
# (tools/build_tokenizer.py).
_base_ = './ssuformer_pvtv2_b5.py'
clip_name = 'openai/clip-vit-base-patch16'
model = dict(
    # embed_dims, mean and std come from the segmentor and the preprocessor
    mask_collaboration=dict(
        type='MaskCollaborationModule',
        pretrained=clip_name,
        gt_mask_schedule=dict(start_prob=1.0, end_iter=2000)),
    caption_head=dict(
        type='MoHECaptionHead',
        embed_dims=512,
        num_layers=3,
        num_heads=8,
        feedforward_channels=2048,
        num_experts=4,
        top_k=2,
        max_train_length=40,
        loss_rcc=dict(
            type='RegionCaptionConsistencyLoss',
            pretrained=clip_name,
            loss_weight=0.1),
        generation=dict(strategy='beam', beam_size=3, max_length=40)))
# experts not chosen in a step get no gradient
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
