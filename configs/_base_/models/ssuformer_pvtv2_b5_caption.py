# The full paper model: the PVT-v2-b5 segmentation path plus the caption
# branch: MCM with a frozen CLIP ViT-B/16 (masked frames), MoHE caption head
# (per-frame prompts), CLIP consistency and RCC losses against the frozen
# CLIP text tower. The model configs name the class
# hierarchy (`class_hierarchy`) and the tokenizer (tools/build_tokenizer.py).
# Both CLIP towers are built offline from the ViT-B/16 sizes below; their
# weights are loaded in init_weights (training only) from `clip_pretrained`:
# a local folder (python tools/misc/download_pretrained.py clip) or a hub
# name such as 'openai/clip-vit-base-patch16' (docs/pretrained.md).
_base_ = './ssuformer_pvtv2_b5.py'
clip_pretrained = 'pretrain/clip-vit-base-patch16'
clip_vision = dict(  # CLIPVisionConfig of ViT-B/16
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    image_size=224,
    patch_size=16,
    projection_dim=512,
    hidden_act='quick_gelu')
clip_text = dict(  # CLIPTextConfig of ViT-B/16
    vocab_size=49408,
    hidden_size=512,
    intermediate_size=2048,
    num_hidden_layers=12,
    num_attention_heads=8,
    max_position_embeddings=77,
    projection_dim=512,
    hidden_act='quick_gelu')
# the frozen CLIP text tower of the region losses (training only)
clip_text_loss = dict(clip=clip_text, pretrained=clip_pretrained,
                      loss_weight=0.1)
model = dict(
    # embed_dims, mean and std come from the segmentor and the preprocessor
    mask_collaboration=dict(
        type='MaskCollaborationModule',
        # the paper's MCM: CLIP encodes the masked frame ('pool': cheaper)
        mode='masked_image',
        clip=clip_vision,
        pretrained=clip_pretrained,
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
        # the paper's CLIP consistency loss and RCC (our interpretation),
        # each switchable (None); they share one frozen CLIP text tower
        loss_clip=dict(type='CLIPConsistencyLoss', **clip_text_loss),
        loss_rcc=dict(type='RegionCaptionConsistencyLoss', **clip_text_loss),
        generation=dict(strategy='beam', beam_size=3, max_length=40)))
