# Ablation row "+MCM (pool)" (docs/ablation.md): the baseline plus MCM in
# pool mode (CLIP sees the whole frame; its patch tokens are mask-pooled),
# i.e. "+MCM (masked frame)" in the other mode.
_base_ = ['./ssuformer_hard_mcm_masked.py']
model = dict(mask_collaboration=dict(mode='pool'))
