"""Generate sr-Music, the semi-real benchmark (docs/semireal.md).

``--install-assets`` first installs and normalises the Debian-package
assets (``semireal_assets.py``, needs root for ``apt-get``); the caption
tokenizer is built from the training captions (``tools/build_tokenizer.py``)
unless ``--no-tokenizer``. The generator lives in
``rassu_mm/datasets/semireal.py``.

Example::

    python tools/dataset_converters/make_semireal.py --install-assets
    python tools/dataset_converters/make_semireal.py --num-train 500 \
        --size 128 --out-dir data/sr_music_small
"""
import argparse
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    from rassu_mm.datasets.semireal import DEFAULT_NUM_CLIPS
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out-dir', default='data/sr_music')
    parser.add_argument('--asset-root', default='data/assets/semireal',
                        help='the normalised asset tree (index.json)')
    parser.add_argument('--install-assets', action='store_true',
                        help='install and normalise the assets first')
    for split, default in zip(('train', 'val', 'test', 'test-real'),
                              DEFAULT_NUM_CLIPS):
        parser.add_argument(f'--num-{split}', type=int, default=default)
    parser.add_argument('--num-frames', type=int, default=5)
    parser.add_argument('--size', type=int, nargs='+', default=[96],
                        help='frame size: S (square) or H W')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--mask-mode', choices=['binary', 'semantic'],
                        default='binary')
    parser.add_argument('--no-tokenizer', action='store_true')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if len(args.size) not in (1, 2):
        parser.error('--size takes 1 or 2 integers')
    return args


def run_tool(*cmd: str) -> None:
    """Run a tool of this repository; when it fails, exit with its status
    (its own error message is the last thing printed)."""
    print('+', ' '.join(cmd), flush=True)
    code = subprocess.run([sys.executable, *cmd], cwd=REPO).returncode
    if code:
        sys.exit(code)


def main(argv=None):
    from rassu_mm.datasets.semireal import make_semireal_dataset
    args = parse_args(argv)
    start = time.time()
    if args.install_assets:
        run_tool('tools/dataset_converters/semireal_assets.py', '--out',
                 osp.dirname(osp.abspath(args.asset_root)))
    size = tuple(args.size * 2 if len(args.size) == 1 else args.size)
    ann_files = make_semireal_dataset(
        args.asset_root,
        args.out_dir,
        num_clips=(args.num_train, args.num_val, args.num_test,
                   args.num_test_real),
        num_frames=args.num_frames,
        size=size,
        seed=args.seed,
        mask_mode=args.mask_mode,
        progress=not args.no_progress)
    if not args.no_tokenizer:
        run_tool('tools/build_tokenizer.py', ann_files['train'],
                 osp.join(args.out_dir, 'tokenizer'))
    for split, path in ann_files.items():
        print(f'{split}: {path}')
    print(f'done in {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
