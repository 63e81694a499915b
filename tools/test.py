# Copyright (c) OpenMMLab. All rights reserved. Adapted for rassu-mm.
"""Test (and evaluate) a model; MMSegmentation's ``tools/test.py`` CLI."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import rassu_mm  # noqa: F401  registers components, safe checkpoint loading
from mmseg.registry import RUNNERS
from mmseg.utils import register_all_modules
from rassu_mm.utils import (keys_from_init_weights, load_model_weights,
                            safe_torch_load, setup_cpu_distributed,
                            teardown_distributed)
from rassu_mm.utils.preflight import exit_if_inputs_missing, is_local_path
from rassu_mm.visualization import add_results_page


def parse_args():
    parser = argparse.ArgumentParser(
        description='Test (and eval) an SSU model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='if specified, the evaluation metric results will be dumped '
        'into the directory as json')
    parser.add_argument(
        '--out',
        type=str,
        help='directory for per-frame mask PNGs (<clip_id>/<k>.png) and '
        'captions.json')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted clips (vis_data/vis_image/*.png) and '
        'a results page (index.html: every clip with its frames, masks, '
        'captions and scores, sortable) will be saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
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
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks. '
            'refer to usage "visualization=dict(type=\'SSUVisualizationHook\')"')
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
        add_results_page(cfg, args.show_dir)
    return cfg


def published_checkpoint(path):
    """The checkpoint at ``path`` when it is a published file that leaves
    frozen pretrained weights to ``init_weights`` (``publish_model.py
    --strip-frozen``), else None (the runner loads it as usual)."""
    if not (is_local_path(path) and osp.isfile(path)):
        return None
    checkpoint = safe_torch_load(path, map_location='cpu')
    return checkpoint if keys_from_init_weights(checkpoint) else None


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    # a runner's checkpoint holds all weights: only data and tokenizers are
    # needed; a published one may leave the frozen ones to init_weights
    published = published_checkpoint(args.checkpoint)
    exit_if_inputs_missing(
        cfg,
        'test',
        args.checkpoint,
        args.config,
        pretrained=published is not None)
    cfg.load_from = None if published else args.checkpoint

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out

    setup_cpu_distributed(cfg, args.launcher)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    if published:  # unwrap DistributedDataParallel
        model = getattr(runner.model, 'module', runner.model)
        load_model_weights(model, published, args.checkpoint)
        del published  # the model holds the weights now
    runner.test()
    del runner  # its DDP wrapper holds the process group
    teardown_distributed()


if __name__ == '__main__':
    main()
