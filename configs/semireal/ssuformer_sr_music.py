# SSUFormer on sr-Music (docs/semireal.md): the demo-sized model of
# configs/ssuformer_demo.py at 96x96 with every paper component on
# (masked-frame MCM, MoHE with per-frame hierarchical prompts, the CLIP
# consistency and RCC losses) and the three stand-in pretrained encoders of
# tools/misc/pretrain_semireal.py, each trained on sr-Music's train split
# and loaded strictly: the backbone (fine-tuned, as an ImageNet backbone),
# the audio encoder (frozen, as VGGish in the paper) and a small CLIP
# (frozen, in MCM and both region losses).
#   python tools/dataset_converters/make_semireal.py --install-assets
#   python tools/misc/pretrain_semireal.py {backbone,audio,clip} \
#       configs/semireal/ssuformer_sr_music.py
#   python tools/train.py configs/semireal/ssuformer_sr_music.py
_base_ = ['../ssuformer_demo.py']
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
    class_hierarchy='sr-Music',
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
    mask_collaboration=dict(
        clip=None,
        pretrained=clip_pretrained,
        mode='masked_image'),
    caption_head=dict(
        tokenizer=tokenizer,
        loss_clip=dict(
            type='CLIPConsistencyLoss',
            pretrained=clip_pretrained,
            loss_weight=0.1),
        loss_rcc=dict(
            type='RegionCaptionConsistencyLoss',
            pretrained=clip_pretrained,
            loss_weight=0.1),
        # two sources: up to 30 words
        generation=dict(max_length=40)))
