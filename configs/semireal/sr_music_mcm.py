# sr-Music ablation row "+MCM": the baseline plus MCM in the paper's mode
# (the stand-in CLIP encodes the frame with the non-sounding pixels masked
# out).
_base_ = ['./sr_music_baseline.py']
model = dict(
    mask_collaboration=dict(
        _delete_=True,
        type='MaskCollaborationModule',
        pretrained=_base_.clip_pretrained,
        mode='masked_image',
        gt_mask_schedule=dict(start_prob=1.0, end_iter=200)))
