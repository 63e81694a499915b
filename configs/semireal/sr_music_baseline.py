# sr-Music ablation row "baseline" (docs/semireal.md): no MCM (the caption
# head reads the fused memory), no MoHE (one dense FFN, no hierarchical
# prompts), no region losses (CLIP consistency, RCC).
_base_ = ['./ssuformer_sr_music.py']
model = dict(
    class_hierarchy=None,
    mask_collaboration=None,
    caption_head=dict(num_experts=1, top_k=1, loss_clip=None, loss_rcc=None))
