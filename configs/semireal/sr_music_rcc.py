# sr-Music ablation row "+RCC": "+MCM" plus the RCC loss (it needs MCM's
# region embeddings).
_base_ = ['./sr_music_mcm.py']
model = dict(
    caption_head=dict(
        loss_rcc=dict(
            _delete_=True,
            type='RegionCaptionConsistencyLoss',
            pretrained=_base_.clip_pretrained,
            loss_weight=0.1)))
