# Caption ablation, row 2: MCM, no MoHE (one expert, no hierarchical
# prompts). Row 3 (MCM + MoHE) is configs/ssuformer_demo.py itself.
_base_ = ['../ssuformer_demo.py']
model = dict(class_hierarchy=None, caption_head=dict(num_experts=1, top_k=1))
