# f-Lifescene in the SSU format (docs/data.md): 61 classes, 10 frames/clip,
# with f-Music's pipelines, loaders and evaluator.
_base_ = './f_music.py'
# the class hierarchy is the dataset's METAINFO (rassu_mm/utils/
# class_names.py); model configs name it by `dataset_name`
dataset_name = 'f-Lifescene'
dataset_type = 'FLifesceneDataset'
data_root = 'data/f_lifescene'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
