# Ablation row "+RCC" (docs/ablation.md): the RCC loss needs the region
# embeddings of MCM, so this row is "+MCM (masked frame)" plus the RCC
# loss; compare it with that row.
_base_ = ['./ssuformer_hard_mcm_masked.py']
model = dict(
    caption_head=dict(
        loss_rcc=dict(
            _delete_=True,
            type='RegionCaptionConsistencyLoss',
            **_base_.clip_text_loss)))
