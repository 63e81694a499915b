# Ablation row "baseline" (docs/ablation.md): no MCM (the caption head reads
# the fused memory), no MoHE (one dense FFN, no hierarchical prompts), no
# region losses (CLIP consistency, RCC), no temporal interaction.
_base_ = ['./ssuformer_hard_full.py']
model = dict(
    class_hierarchy=None,
    fusion=dict(temporal=False),
    mask_collaboration=None,
    caption_head=dict(num_experts=1, top_k=1, loss_clip=None, loss_rcc=None))
