# sr-Music ablation row "+CLIP consistency": "+RCC" plus the CLIP
# consistency loss (the paper's L2 between the stand-in CLIP's embeddings
# of the predicted region and of the caption). The full model
# (ssuformer_sr_music.py) is this row plus MoHE.
_base_ = ['./sr_music_rcc.py']
model = dict(
    caption_head=dict(
        loss_clip=dict(
            _delete_=True,
            type='CLIPConsistencyLoss',
            pretrained=_base_.clip_pretrained,
            loss_weight=0.1)))
