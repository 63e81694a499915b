# f-Music in the SSU format (docs/data.md): 22 instruments, 10 frames/clip,
# with the pipelines, loaders and evaluator of ssu_clips.py.
_base_ = './ssu_clips.py'
# clip length and sampling rate (frames per second); the inferencer uses
# them to cut videos into windows
num_frames = 10
fps = 1
# the class hierarchy is the dataset's METAINFO (rassu_mm/utils/
# class_names.py); model configs name it by `dataset_name`
dataset_name = 'f-Music'
dataset_type = 'FMusicDataset'
data_root = 'data/f_music'
# the base training pipeline with a photometric distortion before packing
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='ClipPhotoMetricDistortion'),
    dict(type='PackSSUInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
