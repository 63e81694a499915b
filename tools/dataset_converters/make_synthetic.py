"""Generate the synthetic SSU demo dataset (the default ``data/demo``).

The generator lives in ``rassu_mm/datasets/synthetic.py``; it is loaded
from that file directly, so this tool starts in a fraction of a second
instead of importing torch, mmseg and mmdet with the package.

Example::

    python tools/dataset_converters/make_synthetic.py --out-dir data/demo
"""
import argparse
import importlib.util
import os.path as osp

_SOURCE = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'rassu_mm', 'datasets', 'synthetic.py')
_spec = importlib.util.spec_from_file_location('ssu_synthetic', _SOURCE)
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic sound-source demo dataset')
    parser.add_argument('--out-dir', default='data/demo')
    parser.add_argument('--num-train', type=int, default=120)
    parser.add_argument('--num-val', type=int, default=24)
    parser.add_argument('--num-test', type=int, default=24)
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
        default=4,
        help=f'object classes (2..{synthetic.MAX_CLASSES})')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--sample-rate', type=int, default=16000)
    parser.add_argument(
        '--mask-mode', choices=['binary', 'semantic'], default='binary')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if len(args.size) not in (1, 2):
        parser.error('--size takes 1 or 2 integers')
    return args


def main(argv=None):
    args = parse_args(argv)
    size = tuple(args.size * 2 if len(args.size) == 1 else args.size)
    ann_files = synthetic.make_synthetic_dataset(
        args.out_dir,
        num_clips=(args.num_train, args.num_val, args.num_test),
        num_frames=args.num_frames,
        size=size,
        num_classes=args.num_classes,
        seed=args.seed,
        sample_rate=args.sample_rate,
        mask_mode=args.mask_mode,
        progress=not args.no_progress)
    for split, path in ann_files.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
