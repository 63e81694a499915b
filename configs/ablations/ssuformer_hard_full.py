# Ablation row "full" (docs/ablation.md): the baseline with every component
# on, as in the paper config: masked-frame MCM, MoHE (4 experts, per-frame
# hierarchical prompts), the CLIP consistency and RCC losses, plus temporal
# interaction in MMI.
_base_ = ['./ssuformer_hard_baseline.py']
model = dict(
    class_hierarchy='SSU-Synthetic-Hard',
    fusion=dict(temporal=True),
    mask_collaboration=dict(_delete_=True, **_base_.mcm),
    caption_head=dict(
        num_experts=4,
        top_k=2,
        loss_clip=dict(
            _delete_=True,
            type='CLIPConsistencyLoss',
            **_base_.clip_text_loss),
        loss_rcc=dict(
            _delete_=True,
            type='RegionCaptionConsistencyLoss',
            **_base_.clip_text_loss)))
