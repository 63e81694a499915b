# Component ablation on the hard synthetic set (docs/ablation.md,
# tools/analysis_tools/ablation.py), row "full": the demo SSUFormer of
# configs/ssuformer_demo.py on data/synthetic_hard
# (tools/dataset_converters/make_synthetic.py --preset hard) with every
# component on, as in the paper config: masked-frame MCM, MoHE (4 experts,
# per-frame hierarchical prompts), the CLIP consistency and RCC losses, plus
# temporal interaction in MMI. The other ssuformer_hard_*.py rows inherit
# from this file and switch components off.
_base_ = ['../ssuformer_demo.py']
data_root = 'data/synthetic_hard'
tokenizer = data_root + '/tokenizer'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
# a tiny random CLIP text tower (the paper config loads ViT-B/16's), shared
# by both region losses; the caption tokenizer's ids (BOS 2, EOS 3)
clip_text = dict(
    vocab_size=512,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    max_position_embeddings=48,
    projection_dim=64,
    pad_token_id=0,
    bos_token_id=2,
    eos_token_id=3)
model = dict(
    class_hierarchy='SSU-Synthetic-Hard',
    fusion=dict(temporal=True),
    mask_collaboration=dict(mode='masked_image'),
    caption_head=dict(
        tokenizer=tokenizer,
        loss_clip=dict(
            type='CLIPConsistencyLoss',
            clip=clip_text,
            tokenizer=tokenizer,
            loss_weight=0.1),
        loss_rcc=dict(
            type='RegionCaptionConsistencyLoss',
            clip=clip_text,
            tokenizer=tokenizer,
            loss_weight=0.1),
        # two sources: up to 24 words
        generation=dict(max_length=32)))
