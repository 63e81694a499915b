# Ablation row "+CLIP consistency" (docs/ablation.md): the CLIP consistency
# loss (the paper's L2) needs the region embeddings of MCM, so this row is
# "+MCM (masked frame)" plus that loss; compare it with that row.
_base_ = ['./ssuformer_hard_mcm_masked.py']
model = dict(
    caption_head=dict(
        loss_clip=dict(
            _delete_=True,
            type='CLIPConsistencyLoss',
            **_base_.clip_text_loss)))
