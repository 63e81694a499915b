# sr-Music ablation row "+CLIP consistency": "+MCM" plus the CLIP
# consistency loss (the paper's L2; it needs MCM's region embeddings).
_base_ = ['./sr_music_mcm.py']
model = dict(
    caption_head=dict(
        loss_clip=dict(
            _delete_=True,
            type='CLIPConsistencyLoss',
            pretrained='pretrain/sr_music/clip',
            loss_weight=0.1)))
