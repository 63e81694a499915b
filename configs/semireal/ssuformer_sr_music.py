# SSUFormer on sr-Music (docs/semireal.md) with every paper component on:
# the "+CLIP consistency" row (masked-frame MCM, the RCC and CLIP
# consistency losses; sr_music_baseline.py has the data and the stand-in
# encoders) plus MoHE (4 experts, top-2, per-frame hierarchical prompts).
#   python tools/dataset_converters/make_semireal.py --install-assets
#   python tools/misc/pretrain_semireal.py {backbone,audio,clip} \
#       configs/semireal/ssuformer_sr_music.py
#   python tools/train.py configs/semireal/ssuformer_sr_music.py
_base_ = ['./sr_music_clip.py']
model = dict(
    class_hierarchy='sr-Music', caption_head=dict(num_experts=4, top_k=2))
