# Caption ablation, row 1: no MCM, no MoHE. The caption head reads the fused
# audio-visual memory only (no mask collaboration) and is a plain dense
# transformer decoder (one expert, no hierarchical prompts).
_base_ = ['../ssuformer_demo.py']
model = dict(
    class_hierarchy=None,
    mask_collaboration=None,
    caption_head=dict(num_experts=1, top_k=1))
