# Ablation row "+CLIP consistency" (docs/ablation.md): the CLIP consistency
# loss (the paper's L2) needs the region embeddings of MCM, so this row is
# "+MCM (masked frame)" plus that loss (without the RCC loss); compare it
# with that row.
_base_ = ['./ssuformer_hard_full.py']
model = dict(
    class_hierarchy=None,
    fusion=dict(temporal=False),
    caption_head=dict(num_experts=1, top_k=1, loss_rcc=None))
