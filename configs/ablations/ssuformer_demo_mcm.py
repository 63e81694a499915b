# Caption ablation, row 2: MCM neck, no MoHE (one expert, no hierarchical
# prompts). Row 3 (MCM + MoHE) is configs/ssuformer_demo.py itself.
_base_ = ['../ssuformer_demo.py']
model = dict(
    caption_head=dict(
        num_experts=1,
        top_k=1,
        classes=None,
        super_categories=None,
        dataset_names=None))
