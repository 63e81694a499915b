# Ablation row "+MCM (masked frame)" (docs/ablation.md): the baseline plus
# MCM in the paper's mode (CLIP encodes the frame with the non-sounding
# pixels masked out).
_base_ = ['./ssuformer_hard_full.py']
model = dict(
    class_hierarchy=None,
    fusion=dict(temporal=False),
    caption_head=dict(num_experts=1, top_k=1, loss_clip=None, loss_rcc=None))
