"""Generate a synthetic SSU dataset: the demo set (the default
``data/demo``) or, with ``--preset hard``, the ablation set.

The generator lives in ``rassu_mm/datasets/synthetic.py`` and its class
tables in ``rassu_mm/utils/class_names.py``; both are loaded from their
files directly, so this tool starts in a fraction of a second instead of
importing torch, mmseg and mmdet with the package.

Example::

    python tools/dataset_converters/make_synthetic.py --out-dir data/demo
    python tools/dataset_converters/make_synthetic.py --preset hard \
        --out-dir data/synthetic_hard
"""
import argparse
import importlib.util
import os.path as osp
import sys

_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_CLASS_NAMES = 'rassu_mm.utils.class_names'


def _load(name: str, rel_path: str):
    """Execute the package file ``rel_path`` as module ``name``."""
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(_ROOT, rel_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# synthetic.py imports its class tables from rassu_mm.utils.class_names
# (standard library only): registered under that name, the import finds it
# without running the package's __init__
if _CLASS_NAMES not in sys.modules:
    sys.modules[_CLASS_NAMES] = _load(_CLASS_NAMES,
                                      'rassu_mm/utils/class_names.py')
class_names = sys.modules[_CLASS_NAMES]
synthetic = _load('ssu_synthetic', 'rassu_mm/datasets/synthetic.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate a synthetic sound-source dataset')
    parser.add_argument('--out-dir', default='data/demo')
    parser.add_argument(
        '--preset',
        choices=sorted(synthetic.PRESETS),
        default='demo',
        help='demo: 2-8 colour+shape classes, templated captions; hard: 12 '
        'classes in 4 super-categories, same-colour distractors, sizes and '
        'textures in the captions')
    parser.add_argument(
        '--num-train', type=int, help='default: 120 (demo), 240 (hard)')
    parser.add_argument('--num-val', type=int, help='default: 24')
    parser.add_argument('--num-test', type=int, help='default: 24')
    parser.add_argument(
        '--num-frames', type=int, default=5, help='frames (seconds) per clip')
    parser.add_argument(
        '--size',
        type=int,
        nargs='+',
        default=[64],
        help='frame size: S (square) or H W')
    parser.add_argument(
        '--num-classes',
        type=int,
        help=f'object classes of the demo preset (2..{class_names.MAX_CLASSES}'
        ', default 4); the hard preset has 12')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--sample-rate', type=int, default=16000)
    parser.add_argument(
        '--mask-mode', choices=['binary', 'semantic'], default='binary')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if len(args.size) not in (1, 2):
        parser.error('--size takes 1 or 2 integers')
    if args.preset == 'hard' and args.num_classes not in (None, 12):
        parser.error('--preset hard has 12 classes; drop --num-classes')
    return args


def main(argv=None):
    args = parse_args(argv)
    preset = synthetic.PRESETS[args.preset]
    size = tuple(args.size * 2 if len(args.size) == 1 else args.size)
    num_clips = [
        default if n is None else n for n, default in zip(
            (args.num_train, args.num_val, args.num_test),
            preset['num_clips'])
    ]
    ann_files = synthetic.make_synthetic_dataset(
        args.out_dir,
        num_clips=num_clips,
        num_frames=args.num_frames,
        size=size,
        num_classes=args.num_classes,
        seed=args.seed,
        sample_rate=args.sample_rate,
        mask_mode=args.mask_mode,
        progress=not args.no_progress,
        preset=args.preset)
    for split, path in ann_files.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
