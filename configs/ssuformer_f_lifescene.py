# SSUFormer on f-Lifescene (data/f_lifescene, 10 annotated frames per clip),
# the paper setting: PVT-v2-b5, frozen VGGish, MMI, Mask2Former-style mask
# head, MCM (CLIP ViT-B/16), MoHE caption head, RCC loss, AdamW.
# Build the tokenizer first:
#   python tools/build_tokenizer.py data/f_lifescene/annotations/train.json \
#       work_dirs/tokenizers/f_lifescene
_base_ = [
    './_base_/models/ssuformer_pvtv2_b5_caption.py',
    './_base_/datasets/f_lifescene.py', './_base_/default_runtime.py',
    './_base_/schedules/schedule_20k.py'
]
model = dict(
    class_hierarchy={{_base_.dataset_name}},
    caption_head=dict(tokenizer='work_dirs/tokenizers/f_lifescene'))
