# AVSBench-semantic (AVSS) in the SSU format, class-index masks:
#   python tools/dataset_converters/avsbench_to_ssu.py avss \
#       data/AVSBench/AVSS data/avsbench_avss --pad-frames 10
# 70 classes + background (label 0), 10 frames per clip at 224x224. The
# clips taken from S4/MS3 ("v1s"/"v1m") have 5 frames: --pad-frames 10
# repeats their last frame without a mask (and the audio is zero-padded),
# so that clips of one batch have the same length, as AVSBench pads them.
# Pipelines and loaders are S4's.
_base_ = './avsbench_s4.py'
num_frames = 10
data_root = 'data/avsbench_avss'
seg_mode = 'semantic'
# label2idx.json of AVSBench-semantic (index k + 1 = class_names[k]); the
# dataset remaps a file with another order
class_names = [
    'accordion', 'airplane', 'axe', 'baby', 'bassoon', 'bell', 'bird', 'boat',
    'boy', 'bus', 'car', 'cat', 'cello', 'clarinet', 'clipper', 'clock', 'dog',
    'donkey', 'drum', 'duck', 'elephant', 'emergency-car', 'erhu', 'flute',
    'frying-food', 'girl', 'goose', 'guitar', 'gun', 'guzheng', 'hair-dryer',
    'handpan', 'harmonica', 'harp', 'helicopter', 'hen', 'horse', 'keyboard',
    'leopard', 'lion', 'man', 'marimba', 'missile-rocket', 'motorcycle',
    'mower', 'parrot', 'piano', 'pig', 'pipa', 'saw', 'saxophone', 'sheep',
    'sitar', 'sorna', 'squirrel', 'tabla', 'tank', 'tiger', 'tractor', 'train',
    'trombone', 'truck', 'trumpet', 'tuba', 'ukulele', 'utv', 'vacuum-cleaner',
    'violin', 'wolf', 'woman'
]
metainfo = dict(classes=class_names)
# the dataset writes seg_mode into its metainfo, which the evaluator and
# the visualizer read
avss_dataset = dict(data_root=data_root, seg_mode=seg_mode, metainfo=metainfo)
train_dataloader = dict(batch_size=2, dataset=avss_dataset)
val_dataloader = dict(dataset=avss_dataset)
test_dataloader = dict(dataset=avss_dataset)
# per-class IoU / F-score over background and the 70 classes (AVSS)
val_evaluator = dict(type='SSUMetric', avsbench_compat=False)
test_evaluator = val_evaluator
