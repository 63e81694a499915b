"""Component ablation: train and test each config row for several seeds.

Every (row, seed) run trains the row's config with MMEngine's ``Runner``
for ``--max-iters`` iterations (the config's LR and MCM ground-truth-mask
schedules rescaled to that length, no validation) and tests the final
weights on the test split, in a subprocess of its own (``--jobs`` runs at a
time, ``--threads`` CPU threads each). The test metrics of each run are written to
``<work-dir>/<row>/seed_<seed>/metrics.json``; runs whose file exists are
not repeated, so an interrupted ablation is finished by running the same
command again. At the end ``<work-dir>/ablation.json`` holds every run's
metrics and each row's mean and standard deviation (over the seeds,
``ddof=1``), and ``<work-dir>/ablation.md`` the table, one row per config:
mIoU, F-score, BLEU-4, METEOR and CIDEr as ``mean ± std``.

The default rows are the component ablation on the hard synthetic set
(``configs/ablations/``, ``docs/ablation.md``); the set is generated
(``make_synthetic.py --preset hard``) and the caption tokenizer built
(``tools/build_tokenizer.py``) when they are missing.

Examples::

    # all eight rows, 3 seeds, 300 iterations each, 2 runs at a time
    python tools/analysis_tools/ablation.py --max-iters 300 --jobs 2
    # two rows, one seed; a row can also be given as NAME=CONFIG
    python tools/analysis_tools/ablation.py --rows baseline full --seeds 1
    # the table of the runs finished so far, running nothing
    python tools/analysis_tools/ablation.py --max-iters 300 --collect
"""
import argparse
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

from mmengine.config import Config, DictAction

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# key, table label, config
DEFAULT_ROWS = (
    ('baseline', 'baseline', 'configs/ablations/ssuformer_hard_baseline.py'),
    ('mcm_pool', '+MCM (pool)', 'configs/ablations/ssuformer_hard_mcm_pool.py'),
    ('mcm_masked', '+MCM (masked frame)',
     'configs/ablations/ssuformer_hard_mcm_masked.py'),
    ('mohe', '+MoHE', 'configs/ablations/ssuformer_hard_mohe.py'),
    ('clip', '+CLIP consistency', 'configs/ablations/ssuformer_hard_clip.py'),
    ('rcc', '+RCC', 'configs/ablations/ssuformer_hard_rcc.py'),
    ('temporal', '+temporal', 'configs/ablations/ssuformer_hard_temporal.py'),
    ('full', 'full', 'configs/ablations/ssuformer_hard_full.py'),
)
METRICS = ('mIoU', 'F-score', 'BLEU-4', 'METEOR', 'CIDEr')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and test config rows for several seeds; table of '
        'mean ± std')
    parser.add_argument(
        '--rows',
        nargs='+',
        default=[row[0] for row in DEFAULT_ROWS],
        help='rows: keys of the default rows (' +
        ', '.join(row[0] for row in DEFAULT_ROWS) + ') or NAME=CONFIG')
    parser.add_argument(
        '--seeds', type=int, default=3, help='seeds 0..N-1 per row')
    parser.add_argument(
        '--max-iters',
        type=int,
        help='training iterations per run (default: the config\'s); the LR '
        'schedule is rescaled to it')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument(
        '--data-root',
        help='data root of every run (default: the configs\'); config '
        'paths under the configs\' data root (the tokenizer) move with it')
    parser.add_argument(
        '--jobs', type=int, default=1, help='runs at the same time')
    parser.add_argument(
        '--threads',
        type=int,
        help='torch threads per run (default: CPU cores // jobs)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='key=value overrides for every run, as in tools/train.py')
    parser.add_argument(
        '--collect',
        action='store_true',
        help='run nothing: the table and JSON of the runs finished so far '
        '(the others count as missing)')
    parser.add_argument(
        '--worker', help=argparse.SUPPRESS)  # one run, in this process
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1:
        parser.error('--seeds and --jobs must be >= 1')
    if args.max_iters is not None and args.max_iters < 1:
        parser.error('--max-iters must be >= 1')
    return args


def resolve_rows(specs: List[str]) -> List[Tuple[str, str, str]]:
    """``(name, label, config)`` of each ``--rows`` entry."""
    known = {row[0]: row for row in DEFAULT_ROWS}
    rows = []
    for spec in specs:
        if '=' in spec:
            name, config = spec.split('=', 1)
            rows.append((name, name, config))
        elif spec in known:
            rows.append(known[spec])
        else:
            raise SystemExit(f'unknown row {spec!r}: use one of '
                             f'{sorted(known)} or NAME=CONFIG')
    names = [row[0] for row in rows]
    if len(set(names)) != len(names):
        raise SystemExit(f'row names must be unique, got {names}')
    return rows


# ---------------------------------------------------------------- configs
def rescale_schedule(cfg, max_iters: int) -> None:
    """Set ``train_cfg.max_iters`` and stretch the iteration-based
    ``param_scheduler`` milestones (``begin``/``end``) and the MCM's
    ground-truth-mask schedule (``end_iter``) by the same factor."""
    old = cfg.train_cfg['max_iters']
    cfg.train_cfg['max_iters'] = max_iters
    mcm = cfg.model.get('mask_collaboration')
    if mcm and mcm.get('gt_mask_schedule'):
        schedule = mcm['gt_mask_schedule']
        schedule['end_iter'] = max(1, round(schedule['end_iter'] * max_iters /
                                            old))
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for sched in schedulers:
        if sched.get('by_epoch', True):
            continue
        begin = round(sched.get('begin', 0) * max_iters / old)
        sched['begin'] = begin
        if 'end' in sched:
            sched['end'] = max(begin + 1,
                               round(sched['end'] * max_iters / old))


def rebase_paths(node, old_root: str, new_root: str):
    """Copy of a config node with every string under ``old_root/``
    moved to ``new_root/`` (the tokenizer that lives with the data)."""
    if isinstance(node, dict):
        return type(node)(
            {k: rebase_paths(v, old_root, new_root)
             for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(rebase_paths(v, old_root, new_root) for v in node)
    if isinstance(node, str) and node.startswith(old_root.rstrip('/') + '/'):
        return osp.join(new_root, node[len(old_root.rstrip('/')) + 1:])
    return node


def run_config(config: str, seed: int, args: argparse.Namespace):
    """The config of one run: seed, schedule, no validation, data root."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    if args.max_iters is not None:
        rescale_schedule(cfg, args.max_iters)
    max_iters = cfg.train_cfg['max_iters']
    # the test split measures each run; no validation during training
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg.pop('val_interval', None)
    checkpoint = cfg.default_hooks['checkpoint']
    checkpoint.pop('save_best', None)
    checkpoint.update(interval=max_iters, max_keep_ckpts=1)
    if args.data_root is not None:
        old_root = cfg.train_dataloader['dataset']['data_root']
        for key in ('train_dataloader', 'test_dataloader'):
            cfg[key]['dataset']['data_root'] = args.data_root
        cfg.model = rebase_paths(cfg.model, old_root, args.data_root)
    return cfg


def prepare_data(cfg) -> None:
    """Generate the hard synthetic set and build the caption tokenizer
    when they are missing."""
    root = cfg.train_dataloader['dataset']['data_root']
    train_ann = osp.join(root, 'annotations', 'train.json')
    if not osp.isfile(train_ann):
        run_tool('tools/dataset_converters/make_synthetic.py', '--preset',
                 'hard', '--out-dir', root, '--no-progress')
    head = cfg.model.get('caption_head')
    tokenizer = head.get('tokenizer') if head else None
    if tokenizer and not osp.isdir(tokenizer):
        run_tool('tools/build_tokenizer.py', train_ann, tokenizer)


def run_tool(*cmd: str) -> None:
    print('+', ' '.join(cmd), flush=True)
    subprocess.run([sys.executable, *cmd], cwd=REPO, check=True)


# ------------------------------------------------------------------- runs
def worker(run_dir: str) -> None:
    """Train ``run_dir/config.py`` and test the final weights; write
    ``run_dir/metrics.json``."""
    from mmengine.runner import Runner

    import rassu_mm  # noqa: F401
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
    cfg.work_dir = run_dir
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    trained = time.time()
    metrics = runner.test()
    result = dict(
        metrics={
            k: float(v)
            for k, v in metrics.items() if isinstance(v, (int, float))
        },
        train_s=round(trained - start, 1),
        test_s=round(time.time() - trained, 1),
        max_iters=cfg.train_cfg['max_iters'])
    with open(osp.join(run_dir, 'metrics.json'), 'w') as f:
        json.dump(result, f, indent=1)


def launch(run_dir: str, threads: int) -> Optional[str]:
    """Run :func:`worker` in a subprocess; None or an error message."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    log = osp.join(run_dir, 'run.log')
    with open(log, 'w') as f:
        proc = subprocess.run(
            [sys.executable, osp.abspath(__file__), '--worker', run_dir],
            cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0 or not osp.isfile(
            osp.join(run_dir, 'metrics.json')):
        return f'exit code {proc.returncode}, see {log}'
    return None


def run_one(name: str, config: str, seed: int, args: argparse.Namespace,
            threads: int) -> dict:
    """Train and test one (row, seed), or read its earlier result."""
    run_dir = osp.join(args.work_dir, name, f'seed_{seed}')
    done = osp.join(run_dir, 'metrics.json')
    if not osp.isfile(done):
        if args.collect:
            return dict(seed=seed, error='not run yet')
        os.makedirs(run_dir, exist_ok=True)
        run_config(config, seed, args).dump(osp.join(run_dir, 'config.py'))
        print(f'[{name} seed {seed}] training, log: {run_dir}/run.log',
              flush=True)
        error = launch(run_dir, threads)
        if error:
            print(f'[{name} seed {seed}] FAILED: {error}', flush=True)
            return dict(seed=seed, error=error)
    with open(done) as f:
        result = json.load(f)
    print(f'[{name} seed {seed}] ' + ', '.join(
        f'{k} {result["metrics"][k]:.4f}' for k in METRICS
        if k in result['metrics']), flush=True)
    return dict(seed=seed, **result)


# ------------------------------------------------------------ aggregation
def summarise(runs: List[dict]) -> Tuple[dict, dict]:
    """Mean and standard deviation (``ddof=1``; NaN for one run) of each
    metric over the successful runs."""
    mean, std = {}, {}
    ok = [r['metrics'] for r in runs if 'metrics' in r]
    for key in METRICS:
        values = [m[key] for m in ok if key in m]
        if values:
            mean[key] = statistics.fmean(values)
            std[key] = statistics.stdev(values) if len(
                values) > 1 else math.nan
    return mean, std


def format_table(rows: List[dict]) -> str:
    """Markdown table: one line per row, ``mean ± std`` per metric."""
    lines = [
        '| row | config | seeds | ' + ' | '.join(METRICS) + ' |',
        '|---|---|---|' + '---|' * len(METRICS)
    ]
    for row in rows:
        cells = []
        for key in METRICS:
            if key not in row['mean']:
                cells.append('-')
            elif math.isnan(row['std'][key]):
                cells.append(f'{row["mean"][key]:.3f}')
            else:
                cells.append(
                    f'{row["mean"][key]:.3f} ± {row["std"][key]:.3f}')
        ok = sum('metrics' in r for r in row['runs'])
        seeds = str(ok) if ok == len(row['runs']) else \
            f'{ok} of {len(row["runs"])}'
        lines.append(f'| {row["label"]} | `{row["config"]}` | {seeds} | ' +
                     ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def git_commit() -> Optional[str]:
    try:
        out = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO,
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    os.chdir(REPO)
    rows = resolve_rows(args.rows)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    if not args.collect:
        for _, _, config in rows:
            prepare_data(run_config(config, 0, args))
    start = time.time()
    # seed by seed: an interrupted ablation has every row's first seeds
    tasks = [(name, config, seed) for seed in range(args.seeds)
             for name, _, config in rows]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {(name, seed): pool.submit(run_one, name, config, seed,
                                             args, threads)
                   for name, config, seed in tasks}
        results = {key: future.result() for key, future in futures.items()}
    table_rows = []
    for name, label, config in rows:
        runs = [results[(name, seed)] for seed in range(args.seeds)]
        mean, std = summarise(runs)
        table_rows.append(
            dict(name=name, label=label, config=config, runs=runs,
                 mean=mean, std=std))
    summary = dict(
        rows=table_rows,
        seeds=args.seeds,
        max_iters=args.max_iters,
        jobs=args.jobs,
        threads=threads,
        cfg_options=args.cfg_options,
        commit=git_commit(),
        wall_s=round(time.time() - start, 1))
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'ablation.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    table = format_table(table_rows)
    with open(osp.join(args.work_dir, 'ablation.md'), 'w') as f:
        f.write(table)
    print('\n' + table)
    failed = [key for key, result in results.items() if 'error' in result]
    if args.collect:
        print(f'{len(failed)} run(s) not finished: {failed}')
        return 0
    if failed:
        print(f'{len(failed)} run(s) failed: {failed}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
