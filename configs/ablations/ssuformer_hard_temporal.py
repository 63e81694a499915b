# Ablation row "+temporal" (docs/ablation.md): the baseline plus
# self-attention over the query tokens of all frames of a clip in MMI.
_base_ = ['./ssuformer_hard_full.py']
model = dict(
    class_hierarchy=None,
    mask_collaboration=None,
    caption_head=dict(num_experts=1, top_k=1, loss_clip=None, loss_rcc=None))
