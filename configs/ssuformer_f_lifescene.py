# SSUFormer on f-Lifescene (data/f_lifescene, 10 annotated frames per clip):
# the paper setting of the segmentation path (PVT-v2-b5, frozen VGGish,
# AdamW).
_base_ = [
    './_base_/models/ssuformer_pvtv2_b5.py',
    './_base_/datasets/f_lifescene.py', './_base_/default_runtime.py',
    './_base_/schedules/schedule_20k.py'
]
