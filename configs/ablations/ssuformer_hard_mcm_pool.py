# Ablation row "+MCM (pool)" (docs/ablation.md): the baseline plus MCM in
# pool mode (CLIP sees the whole frame; its patch tokens are mask-pooled).
_base_ = ['./ssuformer_hard_full.py']
model = dict(
    class_hierarchy=None,
    fusion=dict(temporal=False),
    mask_collaboration=dict(mode='pool'),
    caption_head=dict(num_experts=1, top_k=1, loss_clip=None, loss_rcc=None))
