# Caption ablation, row 2: MCM, no MoHE (one expert, no hierarchical
# prompts). Row 3 (MCM + MoHE) is configs/ssuformer_demo.py itself; row 1
# (ssuformer_demo_caption_baseline.py) is this row without MCM.
_base_ = ['../ssuformer_demo.py']
model = dict(class_hierarchy=None, caption_head=dict(num_experts=1, top_k=1))
