"""Dataloader throughput (clips/s) with and without the audio feature
cache, with 0 and 2 worker processes.

Without a config it benchmarks a freshly generated demo set (in a temp
folder, 44.1 kHz audio like real videos) with the demo train pipeline.
With a config it uses that config's dataloader dataset. The cached runs
start from a cache warmed by one untimed pass (what every epoch after the
first sees).

Example::

    python tools/analysis_tools/benchmark_dataloader.py            # ~1 min
    python tools/analysis_tools/benchmark_dataloader.py \
        configs/_base_/datasets/f_music.py --num-clips 200
"""
import argparse
import copy
import os.path as osp
import tempfile
import time

from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

import rassu_mm  # noqa: F401  registers the datasets and transforms
from mmseg.registry import DATASETS
from rassu_mm.datasets.synthetic import make_synthetic_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs/_base_/datasets/ssu_demo.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark the dataloader')
    parser.add_argument('config', nargs='?', help='config (default: demo)')
    parser.add_argument(
        '--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--num-clips', type=int, default=48)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    parser.add_argument(
        '--demo-sample-rate',
        type=int,
        default=44100,
        help='audio rate of the generated demo wavs')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def set_cache(pipeline: list, cache_dir) -> list:
    pipeline = copy.deepcopy(pipeline)
    for step in pipeline:
        if step['type'] == 'LoadClipAudio':
            step['cache_dir'] = cache_dir
    return pipeline


def clips_per_second(dataset_cfg: dict, workers: int,
                     batch_size: int) -> float:
    """Time one pass over the dataset; return clips per second."""
    dataset = DATASETS.build(dataset_cfg)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=pseudo_collate)
    start = time.perf_counter()
    count = sum(len(batch['data_samples']) for batch in loader)
    return count / (time.perf_counter() - start)


def benchmark(dataset_cfg: dict, workers: list, batch_size: int) -> dict:
    """``{(cached, workers): clips/s}``; prints a table and the ratios."""
    results = {}
    with tempfile.TemporaryDirectory() as cache_dir:
        cached_cfg = copy.deepcopy(dataset_cfg)
        cached_cfg['pipeline'] = set_cache(dataset_cfg['pipeline'], cache_dir)
        clips_per_second(cached_cfg, 0, batch_size)  # warm the cache
        for num in workers:
            plain = copy.deepcopy(dataset_cfg)
            plain['pipeline'] = set_cache(dataset_cfg['pipeline'], None)
            results[(False, num)] = clips_per_second(plain, num, batch_size)
            results[(True, num)] = clips_per_second(cached_cfg, num,
                                                    batch_size)
    print(f'{"workers":>8} {"no cache":>10} {"cache":>10} {"ratio":>7}')
    for num in workers:
        off, on = results[(False, num)], results[(True, num)]
        print(f'{num:>8} {off:>8.1f}/s {on:>8.1f}/s {on / off:>6.2f}x')
    return results


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config or DEMO_CONFIG)
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset_cfg = cfg[f'{args.split}_dataloader'].dataset.to_dict()
    dataset_cfg['indices'] = args.num_clips
    with tempfile.TemporaryDirectory() as data_root:
        if args.config is None:
            make_synthetic_dataset(
                data_root,
                num_clips=(args.num_clips, ) * 3,
                sample_rate=args.demo_sample_rate,
                progress=False)
            dataset_cfg['data_root'] = data_root
        print(f'{args.num_clips} clips of {dataset_cfg["data_root"]} '
              f'({args.split}), batch size {args.batch_size}')
        return benchmark(dataset_cfg, args.workers, args.batch_size)


if __name__ == '__main__':
    main()
