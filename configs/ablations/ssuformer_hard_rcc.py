# Ablation row "+RCC" (docs/ablation.md): the RCC loss needs the region
# embeddings of MCM, so this row is "+MCM (masked frame)" plus the RCC loss
# (without the CLIP consistency loss); compare it with that row.
_base_ = ['./ssuformer_hard_full.py']
model = dict(
    class_hierarchy=None,
    fusion=dict(temporal=False),
    caption_head=dict(num_experts=1, top_k=1, loss_clip=None))
