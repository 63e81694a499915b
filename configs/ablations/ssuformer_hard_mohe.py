# Ablation row "+MoHE" (docs/ablation.md): the baseline plus the mixture of
# hierarchical-prompted experts (4 experts, top-2, per-frame prompts of the
# 12 classes in 4 super-categories).
_base_ = ['./ssuformer_hard_baseline.py']
model = dict(
    class_hierarchy='SSU-Synthetic-Hard',
    caption_head=dict(num_experts=4, top_k=2))
