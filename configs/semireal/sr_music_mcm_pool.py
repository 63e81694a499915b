# sr-Music ablation row "+MCM (pool)": the baseline plus MCM in pool mode
# (CLIP sees the whole frame; its patch tokens are mask-pooled).
_base_ = ['./sr_music_mcm.py']
model = dict(mask_collaboration=dict(mode='pool'))
