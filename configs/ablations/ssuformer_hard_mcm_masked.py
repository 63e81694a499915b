# Ablation row "+MCM (masked frame)" (docs/ablation.md): the baseline plus
# MCM in the paper's mode (CLIP encodes the frame with the non-sounding
# pixels masked out).
_base_ = ['./ssuformer_hard_baseline.py']
model = dict(mask_collaboration=dict(_delete_=True, **_base_.mcm))
