# Caption ablation, row 1: no MCM, no MoHE. The caption head reads the fused
# audio-visual memory only (no mask collaboration) and is a plain dense
# transformer decoder (one expert, no hierarchical prompts): row 2
# (ssuformer_demo_mcm.py) without MCM.
_base_ = ['./ssuformer_demo_mcm.py']
model = dict(mask_collaboration=None)
