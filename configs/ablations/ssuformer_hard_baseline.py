# Component ablation on the hard synthetic set (docs/ablation.md,
# tools/analysis_tools/ablation.py), row "baseline": the demo SSUFormer of
# configs/ssuformer_demo.py on data/synthetic_hard
# (tools/dataset_converters/make_synthetic.py --preset hard) without MCM
# (the caption head reads the fused memory), MoHE (one dense FFN, no
# hierarchical prompts), region losses (CLIP consistency, RCC) and temporal
# interaction. Every other ssuformer_hard_*.py row inherits this file (or
# "+MCM (masked frame)") and switches components on.
_base_ = ['../ssuformer_demo.py']
data_root = 'data/synthetic_hard'
tokenizer = data_root + '/tokenizer'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
# MCM of the rows that switch it on: the demo's, CLIP encoding the masked
# frame (the paper's mode)
mcm = dict(_base_.model.mask_collaboration, mode='masked_image')
# the region losses of the rows that switch them on: a tiny random CLIP text
# tower (the paper config loads ViT-B/16's), shared by both; the caption
# tokenizer's ids (BOS 2, EOS 3)
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
clip_text_loss = dict(clip=clip_text, tokenizer=tokenizer, loss_weight=0.1)
model = dict(
    class_hierarchy=None,
    mask_collaboration=None,
    caption_head=dict(
        tokenizer=tokenizer,
        num_experts=1,
        top_k=1,
        loss_clip=None,
        loss_rcc=None,
        # two sources: up to 24 words
        generation=dict(max_length=32)))
