# Copyright (c) OpenMMLab. All rights reserved. Adapted for rassu-mm.
"""Train a model; the command line of MMSegmentation's ``tools/train.py``."""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

import rassu_mm  # noqa: F401  registers components, safe checkpoint loading
from mmseg.registry import RUNNERS
from mmseg.utils import register_all_modules
from rassu_mm.utils import (find_resumable_checkpoint, setup_cpu_distributed,
                            teardown_distributed)
from rassu_mm.utils.preflight import exit_if_inputs_missing


def parse_args():
    parser = argparse.ArgumentParser(description='Train an SSU model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        default='float16',
        help='autocast type of --amp: float16 (AmpOptimWrapper with dynamic '
        'loss scaling; GPU) or bfloat16 (AutocastOptimWrapper, no loss '
        'scaling; GPU with bfloat16 support, or CPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch / torchrun pass `--local-rank`.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_amp(cfg: Config, dtype: str) -> None:
    """``--amp``: float16 through ``AmpOptimWrapper`` (dynamic loss
    scaling, as mmseg's tool), bfloat16 through ``AutocastOptimWrapper``
    (rassu_mm.engine; any device, no loss scaling)."""
    optim_wrapper = cfg.optim_wrapper.type
    if optim_wrapper in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING)
        return
    assert optim_wrapper == 'OptimWrapper', (
        '`--amp` is only supported when the optimizer wrapper type is '
        f'`OptimWrapper` but got {optim_wrapper}.')
    if dtype == 'bfloat16':
        cfg.optim_wrapper.type = 'AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
    else:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir priority: CLI > config > config file name
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp is True:
        enable_amp(cfg, args.amp_dtype)

    # list every missing input (data, weights, tokenizers) before anything
    # is downloaded or built
    exit_if_inputs_missing(cfg, 'train', config_name=args.config)

    cfg.resume = args.resume
    if args.resume and cfg.get('load_from') is None:
        # skip a truncated/corrupt last checkpoint (warns), as a crash
        # while saving leaves one behind
        cfg.load_from = find_resumable_checkpoint(cfg.work_dir) \
            if osp.isdir(cfg.work_dir) else None
    setup_cpu_distributed(cfg, args.launcher)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    del runner  # its DDP wrapper holds the process group
    teardown_distributed()


if __name__ == '__main__':
    main()
