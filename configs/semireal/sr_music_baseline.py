# sr-Music ablation row "baseline" (docs/semireal.md) and what every
# sr-Music config shares: the demo caption ablation's first row
# (configs/ablations/ssuformer_demo_caption_baseline.py: the demo model
# without MCM, so the caption head reads the fused memory, and without MoHE,
# so one dense FFN and no hierarchical prompts), without region losses (CLIP
# consistency, RCC), at 96x96 on sr-Music with the three stand-in
# pretrained encoders of tools/misc/pretrain_semireal.py, each trained on
# sr-Music's train split and loaded strictly: the backbone (fine-tuned, as
# an ImageNet backbone), the audio encoder (frozen, as VGGish in the paper)
# and a small CLIP (frozen, in MCM and both region losses). Each row
# inherits the one before and switches one component on: +MCM
# (sr_music_mcm.py), +RCC (sr_music_rcc.py), +CLIP consistency
# (sr_music_clip.py), +MoHE = full (ssuformer_sr_music.py);
# sr_music_mcm_pool.py is +MCM in pool mode.
_base_ = ['../ablations/ssuformer_demo_caption_baseline.py']
data_root = 'data/sr_music'
pretrain_dir = 'pretrain/sr_music'
clip_pretrained = pretrain_dir + '/clip'
tokenizer = data_root + '/tokenizer'
img_scale = (96, 96)
audio_cache_dir = data_root + '/audio_cache'
# the demo pipelines with this size and cache
train_pipeline, test_pipeline = ([
    dict(t, scale=img_scale) if t.type == 'ClipResize' else
    dict(t, cache_dir=audio_cache_dir) if t.type == 'LoadClipAudio' else t
    for t in pipeline
] for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
# held-out pictures, backgrounds, MuseScore renders and recordings;
# `--cfg-options test_dataloader.dataset.ann_file=annotations/test_real.json`
# tests on real recordings only
test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/test.json',
        pipeline=test_pipeline))
model = dict(
    backbone=dict(
        type='StrictResNetV1c',
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint=pretrain_dir + '/backbone.pth')),
    audio_encoder=dict(
        frozen=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrain_dir + '/audio_cnn.pth')),
    caption_head=dict(
        tokenizer=tokenizer,
        loss_clip=None,
        loss_rcc=None,
        # two sources: up to 30 words
        generation=dict(max_length=40)))
