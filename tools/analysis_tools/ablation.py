"""Component ablation: train and test each config row for several seeds.

Every (row, seed) run trains the row's config with MMEngine's ``Runner``
for ``--max-iters`` iterations (the config's LR and MCM ground-truth-mask
schedules rescaled to that length) and tests the final weights on each test
split, in a subprocess of its own (``--jobs`` runs at a time, ``--threads``
CPU threads each). Seed ``s`` sets ``randomness.seed``, so every row of
seed ``s`` sees the same data order and starts the parts rows share from
the same weights (paired rows).

``--benchmark`` picks the rows and the default test splits:

- ``hard`` (default): the component ablation on the hard synthetic set
  (``configs/ablations/``, ``docs/ablation.md``), tested on the config's
  test split, no validation. The set is generated
  (``make_synthetic.py --preset hard``) and the caption tokenizer built
  (``tools/build_tokenizer.py``) when they are missing.
- ``sr_music``: the sr-Music ablation (``configs/semireal/``,
  ``docs/semireal.md``), tested on ``test`` and ``test_real`` and, with the
  audio input zeroed (``model.zero_audio=True``), on ``test``; validation
  every ``max_iters // 20`` iterations. sr-Music is generated
  (``make_semireal.py``, which builds the tokenizer) from the installed
  assets and the three stand-in encoders are pretrained
  (``tools/misc/pretrain_semireal.py``) where the row configs load them,
  when missing. Nothing is downloaded: without the asset tree the tool
  stops and names the command that installs it.

Each run writes ``<work-dir>/<row>/seed_<seed>/metrics.json``: one metrics
dict per test split (``metrics[split]``), the validation history
(``val_history``: ``iter``, ``ssu_score``, ``metrics``) and its
``convergence`` (:func:`convergence`), the SHA-256 of its inputs
(``inputs``: training annotations and stand-in encoders, :func:`run_inputs`)
and the git ``commit``. A run whose file holds every
requested split is not repeated, so an interrupted ablation is finished by
running the same command again; a file of the earlier single-split format
(one flat metrics dict) is read as split ``test``. At the end
``<work-dir>/ablation.json`` holds every run, each row's mean and standard
deviation over the seeds (``ddof=1``) per split, each row's paired
difference to its reference row (:func:`paired_difference`) and the drop
when the audio is zeroed; ``<work-dir>/ablation.md`` the same as tables.

Examples::

    # all eight hard-set rows, 3 seeds, 300 iterations each, 2 runs at a time
    python tools/analysis_tools/ablation.py --max-iters 300 --jobs 2
    # the sr-Music ablation (six rows, three test splits, validation)
    python tools/analysis_tools/ablation.py --benchmark sr_music --jobs 2
    # two rows, one seed; a row can also be given as NAME=CONFIG
    python tools/analysis_tools/ablation.py --rows baseline full --seeds 1
    # seed 1 of a 3-seed ablation only (e.g. beside another process that
    # runs seed 0 or 2 of the same rows and work dir)
    python tools/analysis_tools/ablation.py --benchmark sr_music \
        --seeds 3 --run-seeds 1
    # the tables of the runs finished so far, running nothing
    python tools/analysis_tools/ablation.py --max-iters 300 --collect
"""
import argparse
import copy
import hashlib
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction
from mmengine.hooks import Hook

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# reference: the row a component's paired difference is taken against
Row = namedtuple('Row', 'name label config reference')
# ann_file None: the config's own test annotation file
Split = namedtuple('Split', 'name ann_file zero_audio')
HARD_ROWS = (
    Row('baseline', 'baseline',
        'configs/ablations/ssuformer_hard_baseline.py', None),
    Row('mcm_pool', '+MCM (pool)',
        'configs/ablations/ssuformer_hard_mcm_pool.py', 'baseline'),
    Row('mcm_masked', '+MCM (masked frame)',
        'configs/ablations/ssuformer_hard_mcm_masked.py', 'baseline'),
    Row('mohe', '+MoHE', 'configs/ablations/ssuformer_hard_mohe.py',
        'baseline'),
    Row('clip', '+CLIP consistency',
        'configs/ablations/ssuformer_hard_clip.py', 'mcm_masked'),
    Row('rcc', '+RCC', 'configs/ablations/ssuformer_hard_rcc.py',
        'mcm_masked'),
    Row('temporal', '+temporal',
        'configs/ablations/ssuformer_hard_temporal.py', 'baseline'),
    Row('full', 'full', 'configs/ablations/ssuformer_hard_full.py',
        'baseline'),
)
# Cumulative, in the paper's order (baseline, +MCM, +RCC, +MoHE = full),
# with the CLIP consistency loss (named in the paper's ablation, not a row
# of its table) added before MoHE so that every step switches on one
# component; pool-mode MCM against masked-frame MCM.
SR_MUSIC_ROWS = (
    Row('baseline', 'baseline', 'configs/semireal/sr_music_baseline.py',
        None),
    Row('mcm', '+MCM (masked frame)', 'configs/semireal/sr_music_mcm.py',
        'baseline'),
    Row('rcc', '+RCC', 'configs/semireal/sr_music_rcc.py', 'mcm'),
    Row('clip', '+CLIP consistency', 'configs/semireal/sr_music_clip.py',
        'rcc'),
    Row('full', '+MoHE (full)', 'configs/semireal/ssuformer_sr_music.py',
        'clip'),
    Row('mcm_pool', '+MCM (pool)', 'configs/semireal/sr_music_mcm_pool.py',
        'mcm'),
)
BENCHMARKS = dict(
    hard=dict(
        rows=HARD_ROWS,
        splits=['test'],
        zero_audio=[],
        val_per_run=0,
        work_dir='work_dirs/ablation'),
    sr_music=dict(
        rows=SR_MUSIC_ROWS,
        splits=[
            'test=annotations/test.json',
            'test_real=annotations/test_real.json'
        ],
        zero_audio=['test'],
        val_per_run=20,
        work_dir='work_dirs/ablation_sr_music'))
METRICS = ('mIoU', 'F-score', 'BLEU-4', 'METEOR', 'CIDEr')
AUDIO_METRICS = ('mIoU', 'F-score')  # of the zero-audio drop
ZERO_AUDIO_SUFFIX = '_zero_audio'
MIN_FLAT_POINTS = 3
NOT_RUN = 'not run yet'  # the error of a run that was only to be read
SEMIREAL_ASSETS = 'data/assets/semireal/index.json'
PRETRAIN_REPORT = 'report.json'  # in a stand-in CLIP folder, not an input


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and test config rows for several seeds; tables '
        'of mean ± std and paired differences')
    parser.add_argument(
        '--benchmark',
        choices=sorted(BENCHMARKS),
        default='hard',
        help='default rows, test splits and validation (see the module '
        'docstring)')
    parser.add_argument(
        '--rows',
        nargs='+',
        help='rows: keys of the benchmark\'s rows (hard: ' +
        ', '.join(row.name for row in HARD_ROWS) + '; sr_music: ' +
        ', '.join(row.name for row in SR_MUSIC_ROWS) + ') or NAME=CONFIG '
        '(no reference row); default: all of them')
    parser.add_argument(
        '--seeds', type=int, default=3, help='seeds 0..N-1 per row')
    parser.add_argument(
        '--run-seeds',
        type=int,
        nargs='+',
        help='train and test only these of the seeds 0..N-1; the others '
        'are read where finished, as with --collect (so that several '
        'processes, or sittings, can share one ablation seed by seed)')
    parser.add_argument(
        '--max-iters',
        type=int,
        help='training iterations per run (default: the config\'s); the LR '
        'schedule is rescaled to it')
    parser.add_argument(
        '--splits',
        nargs='+',
        help='test splits, NAME or NAME=ANN_FILE (relative to the data '
        'root; NAME alone: the config\'s test annotation file); default: '
        'hard "test", sr_music "test=annotations/test.json '
        'test_real=annotations/test_real.json"')
    parser.add_argument(
        '--zero-audio',
        nargs='*',
        help='splits also tested with the audio input zeroed, as '
        'NAME_zero_audio (default: hard none, sr_music "test"; give the '
        'option alone for none)')
    parser.add_argument(
        '--val-interval',
        type=int,
        help='validate every N iterations and check convergence (0: no '
        'validation; default: hard 0, sr_music max_iters // 20)')
    parser.add_argument(
        '--flat-tol',
        type=float,
        default=0.01,
        help='a run is converged when its validation ssu_score varies by '
        'at most this over the last fifth of training (see convergence())')
    parser.add_argument(
        '--work-dir',
        help='default: work_dirs/ablation (hard), '
        'work_dirs/ablation_sr_music (sr_music)')
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
        help='run nothing: the tables and JSON of the runs finished so far '
        '(the others count as missing)')
    parser.add_argument(
        '--worker', help=argparse.SUPPRESS)  # one run, in this process
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1:
        parser.error('--seeds and --jobs must be >= 1')
    if args.run_seeds and not set(args.run_seeds) <= set(range(args.seeds)):
        parser.error(f'--run-seeds must be among 0..{args.seeds - 1}')
    if args.max_iters is not None and args.max_iters < 1:
        parser.error('--max-iters must be >= 1')
    if args.val_interval is not None and args.val_interval < 0:
        parser.error('--val-interval must be >= 0')
    preset = BENCHMARKS[args.benchmark]
    for key in ('splits', 'zero_audio', 'work_dir'):
        if getattr(args, key) is None:
            setattr(args, key, preset[key])
    return args


def resolve_rows(specs: Optional[List[str]],
                 benchmark: str = 'hard') -> List[Row]:
    """The :class:`Row` of each ``--rows`` entry (default: all the
    benchmark's rows); a reference outside the selection is dropped."""
    table = BENCHMARKS[benchmark]['rows']
    known = {row.name: row for row in table}
    rows = []
    for spec in specs or [row.name for row in table]:
        if '=' in spec:
            name, config = spec.split('=', 1)
            rows.append(Row(name, name, config, None))
        elif spec in known:
            rows.append(known[spec])
        else:
            raise SystemExit(f'unknown row {spec!r}: use one of '
                             f'{sorted(known)} or NAME=CONFIG')
    names = [row.name for row in rows]
    if len(set(names)) != len(names):
        raise SystemExit(f'row names must be unique, got {names}')
    return [
        row if row.reference in names else row._replace(reference=None)
        for row in rows
    ]


def resolve_splits(specs: Sequence[str],
                   zero_audio: Sequence[str]) -> List[Split]:
    """The test splits of ``--splits`` plus a ``<name>_zero_audio`` split
    for each name in ``--zero-audio``."""
    splits = []
    for spec in specs:
        name, _, ann_file = spec.partition('=')
        splits.append(Split(name, ann_file or None, False))
    by_name = {split.name: split for split in splits}
    if len(by_name) != len(splits):
        raise SystemExit(f'split names must be unique, got {specs}')
    for name in zero_audio:
        if name not in by_name:
            raise SystemExit(f'--zero-audio {name!r}: not in --splits '
                             f'{sorted(by_name)}')
        splits.append(
            Split(name + ZERO_AUDIO_SUFFIX, by_name[name].ann_file, True))
    return splits


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


def val_interval(args: argparse.Namespace, max_iters: int) -> int:
    """``--val-interval``, or the benchmark's default (0: none)."""
    if args.val_interval is not None:
        return args.val_interval
    per_run = BENCHMARKS[args.benchmark]['val_per_run']
    return max(1, max_iters // per_run) if per_run else 0


def isolate_val_rng(cfg) -> None:
    """Make validation leave the training random stream alone:
    ``RNGStateHook(isolate_val_rng=True)`` saves the python, numpy and
    torch generator states before each validation and restores them
    after it (the validation loader's iterator draws its base seed from
    torch's generator)."""
    hooks = cfg.setdefault('custom_hooks', [])
    rng_hooks = [h for h in hooks if h['type'] == 'RNGStateHook']
    if not rng_hooks:
        hooks.append(dict(type='RNGStateHook'))
    for hook in rng_hooks:
        hook['isolate_val_rng'] = True


def run_config(config: str, seed: int, args: argparse.Namespace):
    """The config of one run: seed, schedule, validation, data root and
    the test splits (``cfg.ablation``, read by :func:`worker`)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    if args.max_iters is not None:
        rescale_schedule(cfg, args.max_iters)
    max_iters = cfg.train_cfg['max_iters']
    interval = val_interval(args, max_iters)
    if interval:
        cfg.train_cfg['val_interval'] = interval
        isolate_val_rng(cfg)
    else:
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        cfg.train_cfg.pop('val_interval', None)
    # the final weights are tested, not the best validated ones
    checkpoint = cfg.default_hooks['checkpoint']
    checkpoint.pop('save_best', None)
    checkpoint.update(interval=max_iters, max_keep_ckpts=1)
    if args.data_root is not None:
        old_root = cfg.train_dataloader['dataset']['data_root']
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(key):
                cfg[key]['dataset']['data_root'] = args.data_root
        cfg.model = rebase_paths(cfg.model, old_root, args.data_root)
    cfg.ablation = dict(
        splits=[s._asdict() for s in resolve_splits(args.splits,
                                                    args.zero_audio)],
        flat_tol=args.flat_tol)
    return cfg


# ------------------------------------------------------------------- data
def prepare_data(cfg, benchmark: str) -> None:
    """Generate the benchmark's set, build the caption tokenizer and (sr-
    Music) pretrain the stand-in encoders the config loads, when missing."""
    root = cfg.train_dataloader['dataset']['data_root']
    train_ann = osp.join(root, 'annotations', 'train.json')
    if not osp.isfile(train_ann):
        if benchmark == 'hard':
            run_tool('tools/dataset_converters/make_synthetic.py', '--preset',
                     'hard', '--out-dir', root, '--no-progress')
        else:
            if not osp.isfile(SEMIREAL_ASSETS):
                raise SystemExit(
                    f'{train_ann} is missing and so are the sr-Music assets '
                    f'({SEMIREAL_ASSETS}); this tool downloads nothing. '
                    'Install them with `python tools/dataset_converters/'
                    'make_semireal.py --install-assets` (apt-get, needs '
                    'root), which also generates the set.')
            run_tool('tools/dataset_converters/make_semireal.py', '--out-dir',
                     root, '--no-progress')
    head = cfg.model.get('caption_head')
    tokenizer = head.get('tokenizer') if head else None
    if tokenizer and not osp.isdir(tokenizer):
        run_tool('tools/build_tokenizer.py', train_ann, tokenizer)
    if benchmark == 'sr_music':
        pretrain_encoders(cfg, root)


def pretrain_encoders(cfg, data_root: str) -> None:
    """Train the stand-in encoders the config loads
    (:func:`encoder_checkpoints`) and lacks with
    ``tools/misc/pretrain_semireal.py`` on ``data_root``'s train split."""
    missing = {
        encoder: path
        for encoder, path in encoder_checkpoints(cfg).items()
        if not osp.exists(path)
    }
    if not missing:
        return
    with tempfile.TemporaryDirectory() as tmp:
        config = osp.join(tmp, 'config.py')
        cfg.dump(config)  # the encoder sizes of the run
        for encoder, path in missing.items():
            run_tool('tools/misc/pretrain_semireal.py', encoder, config,
                     '--data-root', data_root, '--out', path)


def encoder_checkpoints(cfg) -> Dict[str, str]:
    """Where the config loads sr-Music's stand-in encoders from, by
    ``tools/misc/pretrain_semireal.py`` name: ``backbone`` and ``audio``
    from their ``Pretrained`` ``init_cfg``, ``clip`` from the MCM's
    ``pretrained`` folder (rows without MCM need no CLIP)."""
    model = cfg.model
    paths = {}
    for encoder, key in (('backbone', 'backbone'),
                         ('audio', 'audio_encoder')):
        init = model[key].get('init_cfg') or {}
        if init.get('type') == 'Pretrained':
            paths[encoder] = init['checkpoint']
    mcm = model.get('mask_collaboration')
    if mcm and mcm.get('pretrained'):
        paths['clip'] = mcm['pretrained']
    return paths


def path_sha256(path: str) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and
    contents, in name order) but its ``report.json`` (the pretraining
    report of ``pretrain_semireal.py clip``, which holds timings)."""
    digest = hashlib.sha256()
    if osp.isdir(path):
        files = sorted(
            osp.relpath(osp.join(root, name), path)
            for root, _, names in os.walk(path) for name in names
            if osp.join(root, name) != osp.join(path, PRETRAIN_REPORT))
    else:
        files = ['']
    for rel in files:
        if rel:
            digest.update(rel.encode() + b'\0')
        with open(osp.join(path, rel) if rel else path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
    return digest.hexdigest()


def run_inputs(cfg) -> Dict[str, str]:
    """SHA-256 of what a run reads besides its config and the code: the
    training annotation file (``train_ann``) and each stand-in encoder it
    loads (:func:`encoder_checkpoints`)."""
    dataset = cfg.train_dataloader['dataset']
    paths = dict(train_ann=osp.join(dataset['data_root'],
                                    dataset['ann_file']),
                 **encoder_checkpoints(cfg))
    return {name: path_sha256(path) for name, path in paths.items()}


def input_mismatches(rows: List[dict]) -> List[str]:
    """One line per input (:func:`run_inputs`) that differs between the
    runs of the table, which then are not paired: e.g. runs trained on
    different machines with stand-ins pretrained on each. Runs that did
    not record their inputs are left out."""
    seen = {}  # input name -> digest -> ['row seed s', ...]
    for row in rows:
        for run in row['runs']:
            for name, digest in (run.get('inputs') or {}).items():
                seen.setdefault(name, {}).setdefault(digest, []).append(
                    f'{row["name"]} seed {run["seed"]}')
    return [
        f'{name} differs between runs: ' + '; '.join(
            f'{digest[:12]} ({", ".join(runs)})'
            for digest, runs in digests.items())
        for name, digests in seen.items() if len(digests) > 1
    ]


def run_tool(*cmd: str) -> None:
    print('+', ' '.join(cmd), flush=True)
    subprocess.run([sys.executable, *cmd], cwd=REPO, check=True)


# ------------------------------------------------------------------- runs
class ValHistoryHook(Hook):
    """Records ``iter``, ``ssu_score`` and the scalar metrics of every
    validation during training, and the seconds they took."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.history: List[dict] = []
        self.seconds = 0.
        self._start = 0.

    def before_val(self, runner) -> None:
        self._start = time.time()

    def after_val_epoch(self, runner, metrics=None) -> None:
        metrics = scalars(metrics or {})
        self.history.append(
            dict(
                iter=runner.iter,
                ssu_score=metrics.get('ssu_score'),
                metrics=metrics))

    def after_val(self, runner) -> None:
        self.seconds += time.time() - self._start


def scalars(metrics: dict) -> Dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items() if isinstance(v, (int, float))
    }


def convergence(history: List[dict], max_iters: int,
                tol: float) -> Optional[dict]:
    """Whether validation ``ssu_score`` is flat over the last fifth of
    training.

    The points are the validations at iterations ``i >= 4/5 * max_iters``
    (``5 * i >= 4 * max_iters``). With ``n`` points and ``spread`` the
    maximum minus the minimum of their ``ssu_score``, the run is converged
    iff ``n >= 3`` and ``spread <= tol``.

    Returns:
        dict | None: ``points`` (n), ``spread`` (None without points),
        ``tol`` and ``converged``; None without validation history.
    """
    if not history:
        return None
    scores = [
        p['ssu_score'] for p in history
        if 5 * p['iter'] >= 4 * max_iters and p['ssu_score'] is not None
    ]
    spread = max(scores) - min(scores) if scores else None
    return dict(
        points=len(scores),
        spread=spread,
        tol=tol,
        converged=len(scores) >= MIN_FLAT_POINTS and spread <= tol)


def worker(run_dir: str) -> None:
    """Train ``run_dir/config.py`` (validating, if configured), test the
    final weights on every split of ``cfg.ablation``; write
    ``run_dir/metrics.json``."""
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    import rassu_mm  # noqa: F401
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
    cfg.work_dir = run_dir
    inputs = run_inputs(cfg)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    val = ValHistoryHook()
    runner.register_hook(val)
    runner.train()
    trained = time.time()
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    metrics, test_s = {}, {}
    for split in (Split(**s) for s in cfg.ablation['splits']):
        loader = copy.deepcopy(cfg.test_dataloader)
        if split.ann_file:
            loader['dataset']['ann_file'] = split.ann_file
        if split.zero_audio and not hasattr(model, 'zero_audio'):
            raise TypeError(f'{type(model).__name__} has no zero_audio '
                            f'option (split {split.name!r})')
        model.zero_audio = split.zero_audio
        # Runner.test() runs the loop stored here (same weights, own data)
        runner._test_loop = runner.build_test_loop({
            'type': 'TestLoop',
            **cfg.test_cfg, 'dataloader': loader,
            'evaluator': copy.deepcopy(cfg.test_evaluator)
        })
        split_start = time.time()
        metrics[split.name] = scalars(runner.test())
        test_s[split.name] = round(time.time() - split_start, 1)
    max_iters = cfg.train_cfg['max_iters']
    result = dict(
        metrics=metrics,
        splits=cfg.ablation['splits'],
        val_interval=cfg.train_cfg.get('val_interval'),
        val_history=val.history,
        convergence=convergence(val.history, max_iters,
                                cfg.ablation['flat_tol']),
        train_s=round(trained - start, 1),
        val_s=round(val.seconds, 1),
        test_s=test_s,
        max_iters=max_iters,
        inputs=inputs,
        commit=git_commit())
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


def read_result(path: str) -> dict:
    """A run's ``metrics.json``; the earlier format (one flat metrics
    dict, test split only, no validation) as split ``test``."""
    with open(path) as f:
        result = json.load(f)
    if all(not isinstance(v, dict) for v in result['metrics'].values()):
        result['metrics'] = dict(test=result['metrics'])
    return result


def run_one(name: str, config: str, seed: int, args: argparse.Namespace,
            threads: int) -> dict:
    """Train and test one (row, seed), or read its earlier result (only
    read with ``--collect`` or for a seed not in ``--run-seeds``)."""
    collect = args.collect or (args.run_seeds is not None
                               and seed not in args.run_seeds)
    run_dir = osp.join(args.work_dir, name, f'seed_{seed}')
    done = osp.join(run_dir, 'metrics.json')
    result = read_result(done) if osp.isfile(done) else None
    lacking = [
        s.name for s in resolve_splits(args.splits, args.zero_audio)
        if result is None or s.name not in result['metrics']
    ]
    if lacking and collect and result is None:
        return dict(seed=seed, error=NOT_RUN)
    if lacking and not collect:
        if result is not None:
            print(f'[{name} seed {seed}] {done} lacks split(s) {lacking}: '
                  'training and testing again', flush=True)
        os.makedirs(run_dir, exist_ok=True)
        run_config(config, seed, args).dump(osp.join(run_dir, 'config.py'))
        print(f'[{name} seed {seed}] training, log: {run_dir}/run.log',
              flush=True)
        error = launch(run_dir, threads)
        if error:
            print(f'[{name} seed {seed}] FAILED: {error}', flush=True)
            return dict(seed=seed, error=error)
        result = read_result(done)
    result['convergence'] = convergence(
        result.get('val_history'), result['max_iters'], args.flat_tol)
    for split, values in result['metrics'].items():
        print(f'[{name} seed {seed}] {split}: ' + ', '.join(
            f'{k} {values[k]:.4f}' for k in METRICS if k in values),
              flush=True)
    return dict(seed=seed, **result)


# ------------------------------------------------------------ aggregation
def summarise(runs: List[dict]) -> Tuple[dict, dict]:
    """Mean and standard deviation (``ddof=1``; NaN for one run) of each
    metric over the successful runs (``runs[i]['metrics']``: one split's
    metrics)."""
    mean, std = {}, {}
    ok = [r['metrics'] for r in runs if 'metrics' in r]
    for key in METRICS:
        values = [m[key] for m in ok if key in m]
        if values:
            mean[key] = statistics.fmean(values)
            std[key] = statistics.stdev(values) if len(
                values) > 1 else math.nan
    return mean, std


def split_runs(runs: List[dict], split: str) -> List[dict]:
    """The runs with ``metrics`` narrowed to one split (runs without it
    count as missing)."""
    return [
        dict(r, metrics=r['metrics'][split]) if split in r.get(
            'metrics', {}) else dict(seed=r['seed'], error='missing')
        for r in runs
    ]


def t_interval(samples: Sequence[float]) -> dict:
    """Mean and the 95 % Student-t interval of the mean: ``mean ± t(0.975,
    n-1) * sd / sqrt(n)`` (``sd`` with ``ddof=1``); no interval
    (``half_width`` None) for ``n < 2``."""
    from scipy.stats import t
    n = len(samples)
    out = dict(n=n, mean=statistics.fmean(samples) if n else None,
               half_width=None, low=None, high=None)
    if n > 1:
        half = float(t.ppf(0.975, n - 1)) * statistics.stdev(samples) / \
            math.sqrt(n)
        out.update(half_width=half, low=out['mean'] - half,
                   high=out['mean'] + half)
    return out


def paired_difference(runs: List[dict], ref_runs: List[dict], split: str,
                      metric: str) -> dict:
    """Per seed ``s`` both rows finished, ``runs[s] - ref_runs[s]`` of one
    split's metric (same seed: same data order and shared-part
    initialisation), with :func:`t_interval` over the seeds."""
    ref = {
        r['seed']: r['metrics'][split][metric]
        for r in ref_runs if metric in r.get('metrics', {}).get(split, {})
    }
    pairs = [(r['seed'], r['metrics'][split][metric] - ref[r['seed']])
             for r in runs if r['seed'] in ref
             and metric in r.get('metrics', {}).get(split, {})]
    return dict(
        t_interval([d for _, d in pairs]),
        seeds=[s for s, _ in pairs],
        values=[d for _, d in pairs])


def audio_drop(runs: List[dict], split: str, metric: str) -> dict:
    """Per seed, ``split``'s metric minus that of ``split_zero_audio``
    (same weights), with :func:`t_interval` over the seeds."""
    zeroed = [
        dict(r, metrics={split: r['metrics'][split + ZERO_AUDIO_SUFFIX]})
        for r in runs
        if split + ZERO_AUDIO_SUFFIX in r.get('metrics', {})
    ]
    return paired_difference(runs, zeroed, split, metric)


def comparisons(rows: List[dict], splits: List[Split]) -> Tuple[list, list]:
    """Paired differences of every row with a reference (splits with the
    audio) and the zero-audio drops of every row."""
    by_name = {row['name']: row for row in rows}
    diffs, drops = [], []
    for row in rows:
        for split in splits:
            if split.zero_audio:
                base = split.name[:-len(ZERO_AUDIO_SUFFIX)]
                drops.extend(
                    dict(row=row['name'], split=base, metric=m,
                         **audio_drop(row['runs'], base, m))
                    for m in AUDIO_METRICS)
            elif row['reference']:
                ref = by_name[row['reference']]
                diffs.extend(
                    dict(row=row['name'], reference=ref['name'],
                         split=split.name, metric=m,
                         **paired_difference(row['runs'], ref['runs'],
                                             split.name, m))
                    for m in METRICS)
    return diffs, drops


# ----------------------------------------------------------------- tables
def seeds_cell(runs: List[dict]) -> str:
    """Finished runs (``k of n`` when some are missing) and the seeds
    whose validation was not flat (:func:`convergence`)."""
    ok = [r for r in runs if 'metrics' in r]
    cell = str(len(ok)) if len(ok) == len(runs) else \
        f'{len(ok)} of {len(runs)}'
    flat = [r.get('convergence') or {} for r in ok]
    late = [r['seed'] for r, c in zip(ok, flat) if c.get('converged') is False]
    if late:
        cell += (' (seed ' if len(late) == 1 else ' (seeds ') + ', '.join(
            map(str, late)) + ' not converged)'
    return cell


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
        lines.append(f'| {row["label"]} | `{row["config"]}` | '
                     f'{seeds_cell(row["runs"])} | ' + ' | '.join(cells) +
                     ' |')
    return '\n'.join(lines) + '\n'


def interval_cell(stats: dict) -> str:
    """``+0.012 [-0.003, +0.027]``; the mean alone for one seed."""
    if not stats['n']:
        return '-'
    if stats['half_width'] is None:
        return f'{stats["mean"]:+.3f}'
    return (f'{stats["mean"]:+.3f} [{stats["low"]:+.3f}, '
            f'{stats["high"]:+.3f}]')


def format_comparison(entries: List[dict], labels: Dict[str, str],
                      keys: Sequence[str], metrics: Sequence[str]) -> str:
    """One line per ``keys`` combination of ``entries`` (e.g. row and
    reference), a mean [95 % interval] cell per metric."""
    cells: Dict[tuple, Dict[str, dict]] = {}
    for entry in entries:
        cells.setdefault(tuple(entry[k] for k in keys),
                         {})[entry['metric']] = entry
    lines = [
        '| ' + ' | '.join(keys) + ' | seeds | ' + ' | '.join(metrics) + ' |',
        '|' + '---|' * (len(keys) + 1 + len(metrics))
    ]
    for key, by_metric in cells.items():
        seeds = max(e['n'] for e in by_metric.values())
        lines.append('| ' + ' | '.join(labels.get(k, k) for k in key) +
                     f' | {seeds} | ' + ' | '.join(
                         interval_cell(by_metric[m]) if m in by_metric else '-'
                         for m in metrics) + ' |')
    return '\n'.join(lines) + '\n'


def format_convergence(rows: List[dict]) -> str:
    """Per row and seed: the spread of validation ``ssu_score`` over the
    last fifth of training and its number of points."""
    seeds = max(len(row['runs']) for row in rows)
    lines = [
        '| row | ' + ' | '.join(f'seed {s}' for s in range(seeds)) + ' |',
        '|---|' + '---|' * seeds
    ]
    for row in rows:
        cells = []
        for run in row['runs']:
            conv = run.get('convergence')
            if not conv:
                cells.append('-')
            elif conv['spread'] is None:
                cells.append('no points: not converged')
            else:
                cells.append(f'{conv["spread"]:.4f} over {conv["points"]}'
                             + ('' if conv['converged'] else
                                ': not converged'))
        lines.append(f'| {row["label"]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def format_report(rows: List[dict], splits: List[Split], diffs: list,
                  drops: list, flat_tol: float,
                  mismatches: Sequence[str] = ()) -> str:
    """ablation.md: a warning when the runs' inputs differ
    (:func:`input_mismatches`), the mean ± std table of every split, the
    paired differences, the zero-audio drops and the convergence check."""
    parts = []
    if mismatches:
        parts.append('## Warning: the runs are not paired\n\n' + ''.join(
            f'- {line}\n' for line in mismatches))
    parts.append('## Mean ± std over seeds\n')
    for split in splits:
        view = [
            dict(row, mean=row['mean'][split.name],
                 std=row['std'][split.name],
                 runs=split_runs(row['runs'], split.name)) for row in rows
        ]
        audio = ' (audio zeroed)' if split.zero_audio else ''
        parts.append(f'### {split.name}{audio}\n\n' + format_table(view))
    labels = {row['name']: row['label'] for row in rows}
    if diffs:
        parts.append('## Paired differences: row − reference, mean [95 % '
                     't interval] over the seeds\n')
        for split in splits:
            entries = [d for d in diffs if d['split'] == split.name]
            if entries:
                parts.append(f'### {split.name}\n\n' + format_comparison(
                    entries, labels, ('row', 'reference'), METRICS))
    if drops:
        parts.append('## Audio ablation: with audio − audio zeroed (same '
                     'weights), mean [95 % t interval] over the seeds\n')
        for split in sorted({d['split'] for d in drops}):
            parts.append(f'### {split}\n\n' + format_comparison(
                [d for d in drops if d['split'] == split], labels, ('row', ),
                AUDIO_METRICS))
    if any(r.get('convergence') for row in rows for r in row['runs']):
        parts.append(
            '## Convergence: max − min of validation ssu_score at '
            f'iterations >= 4/5 of training (flat: at most {flat_tol} '
            f'over at least {MIN_FLAT_POINTS} points)\n\n' +
            format_convergence(rows))
    return '\n'.join(parts)


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
    rows = resolve_rows(args.rows, args.benchmark)
    splits = resolve_splits(args.splits, args.zero_audio)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    if not args.collect:
        for row in rows:
            prepare_data(run_config(row.config, 0, args), args.benchmark)
    start = time.time()
    # seed by seed: an interrupted ablation has every row's first seeds
    tasks = [(row.name, row.config, seed) for seed in range(args.seeds)
             for row in rows]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {(name, seed): pool.submit(run_one, name, config, seed,
                                             args, threads)
                   for name, config, seed in tasks}
        results = {key: future.result() for key, future in futures.items()}
    table_rows = []
    for row in rows:
        runs = [results[(row.name, seed)] for seed in range(args.seeds)]
        stats = {s.name: summarise(split_runs(runs, s.name)) for s in splits}
        table_rows.append(
            dict(row._asdict(), runs=runs,
                 mean={k: v[0] for k, v in stats.items()},
                 std={k: v[1] for k, v in stats.items()}))
    diffs, drops = comparisons(table_rows, splits)
    mismatches = input_mismatches(table_rows)
    summary = dict(
        benchmark=args.benchmark,
        rows=table_rows,
        splits=[s._asdict() for s in splits],
        differences=diffs,
        audio_drop=drops,
        input_mismatches=mismatches,
        seeds=args.seeds,
        max_iters=args.max_iters,
        val_interval=args.val_interval,
        flat_tol=args.flat_tol,
        jobs=args.jobs,
        threads=threads,
        cfg_options=args.cfg_options,
        commit=git_commit(),
        wall_s=round(time.time() - start, 1))
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'ablation.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    report = format_report(table_rows, splits, diffs, drops, args.flat_tol,
                           mismatches)
    with open(osp.join(args.work_dir, 'ablation.md'), 'w') as f:
        f.write(report)
    print('\n' + report)
    missing = [key for key, result in results.items()
               if result.get('error') == NOT_RUN]
    if missing:
        print(f'{len(missing)} run(s) not finished: {missing}')
    failed = [key for key, result in results.items()
              if result.get('error', NOT_RUN) != NOT_RUN]
    if failed:
        print(f'{len(failed)} run(s) failed: {failed}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
