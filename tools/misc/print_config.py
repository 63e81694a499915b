# Copyright (c) OpenMMLab. All rights reserved. Adapted for rassu-mm.
"""Print the full config after ``_base_`` inheritance and ``--cfg-options``
(MMSegmentation's ``tools/misc/print_config.py``)::

    python tools/misc/print_config.py configs/ssuformer_f_music.py
    python tools/misc/print_config.py configs/ssuformer_demo_seg.py \
        --cfg-options model.num_queries=4 --dump work_dirs/full_cfg.py --graph

``--graph`` builds the model (no weights are loaded) and prints its module
tree.
"""
import argparse

from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--graph', action='store_true', help='also print the model graph')
    parser.add_argument(
        '--dump', metavar='FILE', help='also write the full config to FILE')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.dump:
        cfg.dump(args.dump)
    if args.graph:
        from mmseg.registry import MODELS
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=True)
        print(f'Model graph:\n{MODELS.build(cfg.model)}')


if __name__ == '__main__':
    main()
