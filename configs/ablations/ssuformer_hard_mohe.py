# Ablation row "+MoHE" (docs/ablation.md): the baseline plus the mixture of
# hierarchical-prompted experts (4 experts, top-2, per-frame prompts of the
# 12 classes in 4 super-categories).
_base_ = ['./ssuformer_hard_full.py']
model = dict(
    fusion=dict(temporal=False),
    mask_collaboration=None,
    caption_head=dict(loss_clip=None, loss_rcc=None))
