default_scope = 'mmseg'
custom_imports = dict(imports=['rassu_mm'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo when CUDA is absent.
    dist_cfg=dict(backend='nccl'),
)
# Logs and scalars go to <work_dir>/<timestamp>/vis_data (json; see
# tools/analysis_tools/analyze_logs.py). For TensorBoard as well
# (`pip install tensorboard`, then `tensorboard --logdir work_dirs`), put in
# your config:
#   visualizer = dict(vis_backends=[
#       dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SSULocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# RNG states in checkpoints: `--resume` continues the random streams;
# stop at the first NaN/inf loss term before anything of that step is saved
# (see docs/training.md). Configs that set `custom_hooks` must keep both.
custom_hooks = [dict(type='RNGStateHook'), dict(type='NonFiniteLossHook')]
