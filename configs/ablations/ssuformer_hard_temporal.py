# Ablation row "+temporal" (docs/ablation.md): the baseline plus
# self-attention over the query tokens of all frames of a clip in MMI.
_base_ = ['./ssuformer_hard_baseline.py']
model = dict(fusion=dict(temporal=True))
