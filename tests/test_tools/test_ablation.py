"""tools/analysis_tools/ablation.py: runs, per-seed JSON, paired
differences, convergence and the tables."""
import json
import math
import os
import os.path as osp
import statistics

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import REPO_ROOT, load_tool, write_caption_tokenizer
from rassu_mm.utils import safe_torch_load

ablation = load_tool('tools/analysis_tools/ablation.py')

# the smallest settings that still train, test and generate captions
TINY = [
    'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.batch_size=2', 'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.batch_size=2', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'model.caption_head.generation.max_length=4'
]
HARD_FULL = 'configs/ablations/ssuformer_hard_full.py'


def test_rescale_schedule():
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'ablations', 'ssuformer_hard_full.py'))
    old = cfg.train_cfg['max_iters']
    ends = [s['end'] for s in cfg.param_scheduler]
    gt_end = cfg.model.mask_collaboration.gt_mask_schedule.end_iter
    ablation.rescale_schedule(cfg, old // 2)
    assert cfg.train_cfg['max_iters'] == old // 2
    assert [s['end'] for s in cfg.param_scheduler] == [
        round(e * (old // 2) / old) for e in ends]
    assert cfg.model.mask_collaboration.gt_mask_schedule.end_iter == round(
        gt_end * (old // 2) / old)
    # milestones never collapse, however short the run
    ablation.rescale_schedule(cfg, 1)
    assert all(s['end'] > s['begin'] for s in cfg.param_scheduler)


def test_summarise_and_table():
    runs = [
        dict(seed=0, metrics={'mIoU': 0.5, 'BLEU-4': 0.25}),
        dict(seed=1, metrics={'mIoU': 0.7, 'BLEU-4': 0.35}),
        dict(seed=2, error='exit code 1'),
    ]
    mean, std = ablation.summarise(runs)
    assert mean == pytest.approx({'mIoU': 0.6, 'BLEU-4': 0.3})
    assert std['mIoU'] == pytest.approx(statistics.stdev([0.5, 0.7]))
    table = ablation.format_table([
        dict(label='row', config='c.py', runs=runs, mean=mean, std=std)
    ])
    header, rule, line = table.strip().split('\n')
    assert header.split(' | ')[3:] == ['mIoU', 'F-score', 'BLEU-4',
                                       'METEOR', 'CIDEr |']
    cells = [c.strip() for c in line.strip('|').split('|')]
    assert cells[:3] == ['row', '`c.py`', '2 of 3']
    assert cells[3] == f'0.600 ± {std["mIoU"]:.3f}'
    assert cells[4] == '-'  # no F-score in these runs
    # a run whose validation was not flat is named in the seeds cell
    runs[0]['convergence'] = dict(converged=False)
    runs[1]['convergence'] = dict(converged=True)
    assert ablation.seeds_cell(runs) == '2 of 3 (seed 0 not converged)'


def _runs(values, split='test', metric='mIoU'):
    return [
        dict(seed=s, metrics={split: {metric: v}}) if v is not None else
        dict(seed=s, error=ablation.NOT_RUN) for s, v in enumerate(values)
    ]


def test_paired_difference_by_hand():
    row = _runs([0.60, 0.70, 0.65, 0.80])
    ref = _runs([0.50, 0.55, 0.61, None])  # seed 3 missing: left out
    out = ablation.paired_difference(row, ref, 'test', 'mIoU')
    # differences 0.10, 0.15, 0.04: mean 0.09667, sd 0.05508, t(0.975, 2)
    # = 4.30265
    assert out['seeds'] == [0, 1, 2]
    assert out['values'] == pytest.approx([0.10, 0.15, 0.04])
    assert out['n'] == 3
    assert out['mean'] == pytest.approx(0.29 / 3)
    sd = math.sqrt(((0.10 - 0.29 / 3)**2 + (0.15 - 0.29 / 3)**2 +
                    (0.04 - 0.29 / 3)**2) / 2)
    assert out['half_width'] == pytest.approx(4.302652729911275 * sd /
                                              math.sqrt(3))
    assert out['low'] == pytest.approx(out['mean'] - out['half_width'])
    assert out['high'] == pytest.approx(out['mean'] + out['half_width'])
    assert ablation.interval_cell(out) == (
        f'+0.097 [{out["low"]:+.3f}, {out["high"]:+.3f}]')
    # one seed: the difference, no interval
    one = ablation.paired_difference(row[:1], ref[:1], 'test', 'mIoU')
    assert (one['n'], one['half_width']) == (1, None)
    assert one['mean'] == pytest.approx(0.10)
    assert ablation.interval_cell(one) == '+0.100'
    # the zero-audio drop pairs each run with its own zeroed test
    runs = [
        dict(seed=0, metrics=dict(test={'mIoU': 0.6},
                                  test_zero_audio={'mIoU': 0.4})),
        dict(seed=1, metrics=dict(test={'mIoU': 0.7},
                                  test_zero_audio={'mIoU': 0.3})),
    ]
    drop = ablation.audio_drop(runs, 'test', 'mIoU')
    assert drop['values'] == pytest.approx([0.2, 0.4])
    assert drop['half_width'] == pytest.approx(
        12.706204736174698 * statistics.stdev([0.2, 0.4]) / math.sqrt(2))


def _history(iters, scores):
    return [dict(iter=i, ssu_score=s) for i, s in zip(iters, scores)]


def test_convergence_flag():
    iters = list(range(10, 101, 10))  # last fifth: 80, 90, 100
    flat = _history(iters, [.1, .2, .3, .4, .5, .6, .7, .700, .705, .709])
    out = ablation.convergence(flat, 100, 0.01)
    assert out['points'] == 3 and out['spread'] == pytest.approx(0.009)
    assert out['converged'] is True
    rising = _history(iters, [.1, .2, .3, .4, .5, .6, .7, .70, .72, .74])
    assert ablation.convergence(rising, 100, 0.01)['converged'] is False
    assert ablation.convergence(rising, 100, 0.05)['converged'] is True
    # two points in the last fifth are too few, however flat
    few = _history([40, 80, 100], [.1, .7, .7])
    assert ablation.convergence(few, 100, 0.01) == dict(
        points=2, spread=0., tol=0.01, converged=False)
    assert ablation.convergence([], 100, 0.01) is None


def test_sr_music_preset():
    args = ablation.parse_args(['--benchmark', 'sr_music'])
    rows = ablation.resolve_rows(args.rows, args.benchmark)
    assert [r.name for r in rows] == [
        'baseline', 'mcm', 'rcc', 'clip', 'full', 'mcm_pool'
    ]
    assert [r.reference for r in rows] == [
        None, 'baseline', 'mcm', 'rcc', 'clip', 'mcm'
    ]
    assert rows[4].config == 'configs/semireal/ssuformer_sr_music.py'
    cfgs = {r.name: Config.fromfile(osp.join(REPO_ROOT, r.config))
            for r in rows}

    def components(model):
        mcm, head = model.mask_collaboration, model.caption_head
        return dict(
            mcm=mcm and mcm.mode,
            rcc=head.loss_rcc is not None,
            clip=head.loss_clip is not None,
            mohe=head.num_experts > 1)

    found = {name: components(cfg.model) for name, cfg in cfgs.items()}
    assert found['baseline'] == dict(
        mcm=None, rcc=False, clip=False, mohe=False)
    assert found['full'] == dict(
        mcm='masked_image', rcc=True, clip=True, mohe=True)
    # each row switches on one component of its reference row
    switched = dict(mcm='mcm', rcc='rcc', clip='clip', full='mohe',
                    mcm_pool='mcm')
    for row in rows[1:]:
        mine, ref = found[row.name], found[row.reference]
        assert [k for k in mine if mine[k] != ref[k]] == [switched[row.name]]
    assert ablation.resolve_splits(args.splits, args.zero_audio) == [
        ablation.Split('test', 'annotations/test.json', False),
        ablation.Split('test_real', 'annotations/test_real.json', False),
        ablation.Split('test_zero_audio', 'annotations/test.json', True),
    ]
    cfg = ablation.run_config(osp.join(REPO_ROOT, rows[1].config), 2, args)
    max_iters = cfg.train_cfg['max_iters']
    assert cfg.train_cfg['val_interval'] == max_iters // 20
    assert cfg.val_dataloader.dataset.ann_file == 'annotations/val.json'
    assert 'save_best' not in cfg.default_hooks.checkpoint
    assert dict(type='RNGStateHook', isolate_val_rng=True) in cfg.custom_hooks
    assert ablation.encoder_checkpoints(cfg) == {
        'backbone': 'pretrain/sr_music/backbone.pth',
        'audio': 'pretrain/sr_music/audio_cnn.pth',
        'clip': 'pretrain/sr_music/clip'
    }
    # a row outside the selection is no reference
    assert ablation.resolve_rows(['rcc'], 'sr_music')[0].reference is None


def test_sr_music_without_assets_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ablation, 'SEMIREAL_ASSETS',
                        str(tmp_path / 'index.json'))
    monkeypatch.setattr(ablation, 'run_tool', pytest.fail)
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        data_root=str(tmp_path / 'sr_music')))))
    with pytest.raises(SystemExit, match='--install-assets'):
        ablation.prepare_data(cfg, 'sr_music')


def _fake_launch(values):
    """A stand-in for ``launch`` that writes a metrics.json (``values``:
    (row, seed) -> mIoU) and counts its calls."""
    calls = []

    def launch(run_dir, threads):
        row, seed = run_dir.split(os.sep)[-2:]
        cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
        value = values[(row, int(seed[len('seed_'):]))]
        metrics = {
            s['name']: {'mIoU': value - (0.2 if s['zero_audio'] else 0.)}
            for s in cfg.ablation['splits']
        }
        with open(osp.join(run_dir, 'metrics.json'), 'w') as f:
            json.dump(dict(metrics=metrics, max_iters=10), f)
        calls.append(run_dir)

    return launch, calls


def test_main_resumes_and_reads_the_old_format(tmp_path, monkeypatch):
    work = str(tmp_path / 'work')
    values = {('baseline', 0): 0.5, ('baseline', 1): 0.6,
              ('mohe', 0): 0.55, ('mohe', 1): 0.75}
    launch, calls = _fake_launch(values)
    monkeypatch.setattr(ablation, 'launch', launch)
    monkeypatch.setattr(ablation, 'prepare_data', lambda cfg, bench: None)
    # a finished run of the earlier format (one flat metrics dict)
    old = osp.join(work, 'baseline', 'seed_0')
    os.makedirs(old)
    with open(osp.join(old, 'metrics.json'), 'w') as f:
        json.dump(dict(metrics={'mIoU': 0.5}, max_iters=10), f)
    argv = ['--rows', 'baseline', 'mohe', '--seeds', '2', '--work-dir', work]
    assert ablation.main(argv) == 0
    assert sorted(calls) == sorted(
        osp.join(work, r, f'seed_{s}') for r, s in values
        if (r, s) != ('baseline', 0))
    with open(osp.join(work, 'ablation.json')) as f:
        summary = json.load(f)
    (diff, ) = [d for d in summary['differences'] if d['metric'] == 'mIoU']
    assert (diff['row'], diff['reference'], diff['seeds']) == ('mohe',
                                                               'baseline',
                                                               [0, 1])
    assert diff['values'] == pytest.approx([0.05, 0.15])
    assert summary['audio_drop'] == []
    # a second run repeats nothing; asking for one more split reruns all
    calls.clear()
    assert ablation.main(argv) == 0
    assert calls == []
    assert ablation.main(argv + ['--zero-audio', 'test']) == 0
    assert len(calls) == 4
    with open(osp.join(work, 'ablation.md')) as f:
        report = f.read()
    assert '### test_zero_audio (audio zeroed)' in report
    assert '| +MoHE | 2 | +0.200 [+0.200, +0.200] | - |' in report


def test_run_seeds_trains_only_those_and_reads_the_rest(
        tmp_path, monkeypatch):
    work = str(tmp_path / 'work')
    values = {(r, s): 0.5 + 0.1 * s for r in ('baseline', 'mohe')
              for s in range(3)}
    launch, calls = _fake_launch(values)
    monkeypatch.setattr(ablation, 'launch', launch)
    monkeypatch.setattr(ablation, 'prepare_data', lambda cfg, bench: None)
    argv = ['--rows', 'baseline', 'mohe', '--seeds', '3', '--work-dir', work]
    # seed 1 alone: seeds 0 and 2 are missing, which is not a failure
    assert ablation.main(argv + ['--run-seeds', '1']) == 0
    assert sorted(calls) == [
        osp.join(work, r, 'seed_1') for r in ('baseline', 'mohe')]
    # then seeds 0 and 2 (another process or sitting): seed 1 is read
    calls.clear()
    assert ablation.main(argv + ['--run-seeds', '2', '0']) == 0
    assert sorted(calls) == sorted(
        osp.join(work, r, f'seed_{s}') for r in ('baseline', 'mohe')
        for s in (0, 2))
    with open(osp.join(work, 'ablation.json')) as f:
        summary = json.load(f)
    for row in summary['rows']:
        assert [r['metrics']['test']['mIoU'] for r in row['runs']] == \
            pytest.approx([0.5, 0.6, 0.7])
    with pytest.raises(SystemExit):
        ablation.parse_args(argv + ['--run-seeds', '3'])


def test_path_sha256_of_files_and_folders(tmp_path):
    import hashlib
    single = tmp_path / 'backbone.pth'
    single.write_bytes(b'weights')
    assert ablation.path_sha256(str(single)) == hashlib.sha256(
        b'weights').hexdigest()
    clip = tmp_path / 'clip'
    (clip / 'sub').mkdir(parents=True)
    (clip / 'config.json').write_bytes(b'{}')
    (clip / 'sub' / 'vocab.txt').write_bytes(b'a b')
    digest = ablation.path_sha256(str(clip))
    # names count as well as contents; the timing report does not count
    assert digest == hashlib.sha256(b'config.json\0{}' + osp.join(
        'sub', 'vocab.txt').encode() + b'\0a b').hexdigest()
    (clip / ablation.PRETRAIN_REPORT).write_text('{"seconds": 1.5}')
    assert ablation.path_sha256(str(clip)) == digest
    (clip / 'sub' / 'vocab.txt').write_bytes(b'a c')
    assert ablation.path_sha256(str(clip)) != digest


def test_runs_with_different_inputs_are_flagged(tmp_path, monkeypatch):
    """metrics.json records its inputs; the report warns when rows (or
    seeds) were trained on different ones."""
    work = str(tmp_path / 'work')
    values = {(r, s): 0.5 for r in ('baseline', 'mohe') for s in range(2)}
    launch, _ = _fake_launch(values)

    def launch_with_inputs(run_dir, threads):
        launch(run_dir, threads)
        path = osp.join(run_dir, 'metrics.json')
        with open(path) as f:
            result = json.load(f)
        other = run_dir.endswith(osp.join('mohe', 'seed_1'))
        result['inputs'] = dict(train_ann='a' * 64,
                                backbone=('c' if other else 'b') * 64)
        with open(path, 'w') as f:
            json.dump(result, f)

    monkeypatch.setattr(ablation, 'launch', launch_with_inputs)
    monkeypatch.setattr(ablation, 'prepare_data', lambda cfg, bench: None)
    argv = ['--rows', 'baseline', 'mohe', '--seeds', '2', '--work-dir', work]
    assert ablation.main(argv) == 0
    with open(osp.join(work, 'ablation.json')) as f:
        summary = json.load(f)
    assert summary['input_mismatches'] == [
        'backbone differs between runs: ' + 'b' * 12 +
        ' (baseline seed 0, baseline seed 1, mohe seed 0); ' + 'c' * 12 +
        ' (mohe seed 1)'
    ]
    with open(osp.join(work, 'ablation.md')) as f:
        report = f.read()
    assert report.startswith('## Warning: the runs are not paired\n')
    assert ablation.input_mismatches(
        [dict(name='baseline', runs=[dict(seed=0), dict(seed=1)])]) == []


def _worker_run(run_dir, data, argv, name, monkeypatch):
    """Write one run's config (the hard full row, tiny) and run
    :func:`worker` in this process, as in a fresh one: the process-wide
    cache of CLIP text towers is emptied (building a tower draws from the
    torch generator)."""
    from rassu_mm.models.losses import clip_text_loss
    monkeypatch.setattr(clip_text_loss, '_TEXT_TOWERS', {})
    args = ablation.parse_args(['--max-iters', '3', '--data-root', data,
                                '--cfg-options', *TINY] + argv)
    cfg = ablation.run_config(osp.join(REPO_ROOT, HARD_FULL), 0, args)
    # runners of this process need their own logger, message hub and
    # visualizer instances
    cfg.experiment_name = cfg.visualizer.name = name
    os.makedirs(run_dir)
    cfg.dump(osp.join(run_dir, 'config.py'))
    ablation.worker(run_dir)
    with open(osp.join(run_dir, 'metrics.json')) as f:
        return cfg, json.load(f)


@pytest.mark.slow
def test_validation_leaves_training_alone(tmp_path, monkeypatch):
    """The same run with and without validation ends with the same weights
    (MCM's ground-truth masks, dropout, point sampling and the loaders draw
    from the generators validation would shift); the zero-audio split
    equals a test of those weights with ``model.zero_audio=True``."""
    from rassu_mm.evaluation.metrics import ssu_metric
    monkeypatch.setattr(ssu_metric, 'java_available', lambda: False)
    hard_data = str(tmp_path / 'data')
    make_synthetic_dataset(hard_data, num_clips=(4, 1, 2), num_frames=2,
                           progress=False, preset='hard')
    write_caption_tokenizer(
        osp.join(hard_data, 'tokenizer'),
        ['the small plain circle on the left is whistling'], vocab_size=80)
    val_dir, plain_dir = str(tmp_path / 'val'), str(tmp_path / 'plain')
    cfg, with_val = _worker_run(val_dir, hard_data,
                                ['--val-interval', '1', '--zero-audio',
                                 'test'], 'abl_val', monkeypatch)
    _, without = _worker_run(plain_dir, hard_data, ['--val-interval', '0'],
                             'abl_plain', monkeypatch)
    assert [p['iter'] for p in with_val['val_history']] == [1, 2, 3]
    assert without['val_history'] == [] and without['convergence'] is None
    a = safe_torch_load(osp.join(val_dir, 'iter_3.pth'))['state_dict']
    b = safe_torch_load(osp.join(plain_dir, 'iter_3.pth'))['state_dict']
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert with_val['metrics']['test'] == without['metrics']['test']
    # of iterations 1, 2, 3 only 3 is in the last fifth (5 * i >= 4 * 3)
    assert with_val['convergence']['points'] == 1
    cfg.model.zero_audio = True
    cfg.load_from = osp.join(val_dir, 'iter_3.pth')
    cfg.work_dir = str(tmp_path / 'zero')
    cfg.experiment_name = cfg.visualizer.name = 'abl_zero'
    zeroed = ablation.scalars(Runner.from_cfg(cfg).test())
    assert with_val['metrics']['test_zero_audio'] == zeroed


@pytest.mark.slow
def test_ablation_end_to_end(tmp_path):
    data = str(tmp_path / 'data')
    make_synthetic_dataset(data, num_clips=(4, 1, 2), num_frames=2,
                           progress=False, preset='hard')
    work = str(tmp_path / 'work')
    # test_real is the validation split: the validation at iteration 2
    # (the final weights) must score it as the test of the final weights
    argv = ['--rows', 'baseline', 'full', '--seeds', '1', '--max-iters', '2',
            '--data-root', data, '--work-dir', work, '--val-interval', '2',
            '--splits', 'test', 'test_real=annotations/val.json',
            '--cfg-options', *TINY]
    assert ablation.main(argv) == 0
    # the tokenizer was built next to the data (the configs' tokenizer path
    # moved with --data-root)
    assert osp.isdir(osp.join(data, 'tokenizer'))
    with open(osp.join(work, 'ablation.json')) as f:
        summary = json.load(f)
    assert [r['name'] for r in summary['rows']] == ['baseline', 'full']
    assert summary['seeds'] == 1 and summary['max_iters'] == 2
    produced = {}
    for row in summary['rows']:
        (run, ) = row['runs']
        run_dir = osp.join(work, row['name'], 'seed_0')
        with open(osp.join(run_dir, 'metrics.json')) as f:
            produced[row['name']] = result = json.load(f)
        # the JSON carries the metrics the test runs produced, per split
        assert run['metrics'] == result['metrics']
        assert list(result['metrics']) == ['test', 'test_real']
        assert result['max_iters'] == 2
        # the hard rows load no stand-in encoder: the annotations only
        assert result['inputs'] == dict(train_ann=ablation.path_sha256(
            osp.join(data, 'annotations', 'train.json')))
        for metrics in result['metrics'].values():
            assert set(ablation.METRICS) <= set(metrics)
        assert row['mean']['test_real'] == {
            k: result['metrics']['test_real'][k]
            for k in ablation.METRICS
        }
        assert all(math.isnan(v) for v in row['std']['test'].values())
        history = result['val_history']
        assert [p['iter'] for p in history] == [2]
        assert history[-1]['metrics'] == result['metrics']['test_real']
        assert history[-1]['ssu_score'] == \
            result['metrics']['test_real']['ssu_score']
        # one point in the last fifth: not converged
        assert result['convergence']['points'] == 1
        assert not result['convergence']['converged']
        # the run's config is the row's, with the requested overrides
        cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
        assert cfg.randomness['seed'] == 0
        assert cfg.train_cfg['max_iters'] == 2
        assert cfg.train_cfg['val_interval'] == 2
        assert cfg.train_dataloader['dataset']['data_root'] == data
        assert cfg.val_dataloader['dataset']['data_root'] == data
    # paired differences, from the runs' own numbers
    for diff in summary['differences']:
        assert (diff['row'], diff['reference'], diff['n']) == ('full',
                                                               'baseline', 1)
        split, key = diff['split'], diff['metric']
        assert diff['mean'] == pytest.approx(
            produced['full']['metrics'][split][key] -
            produced['baseline']['metrics'][split][key])
    assert {(d['split'], d['metric']) for d in summary['differences']} == {
        (s, m) for s in ('test', 'test_real') for m in ablation.METRICS}
    assert summary['audio_drop'] == []
    with open(osp.join(work, 'ablation.md')) as f:
        report = f.read()
    tables = [t for t in report.split('\n\n') if t.startswith('|')]
    # test, test_real; differences on test, test_real; convergence
    assert len(tables) == 5
    lines = tables[0].strip().split('\n')
    cells = [c.strip() for c in lines[3].strip('|').split('|')]
    assert cells[2] == '1 (seed 0 not converged)'
    assert cells[3:] == [
        f'{produced["full"]["metrics"]["test"][k]:.3f}'
        for k in ablation.METRICS
    ]
    # --collect runs nothing: a second seed counts as missing
    seeds = argv.index('--seeds') + 1
    assert ablation.main(argv[:seeds] + ['2'] + argv[seeds + 1:] +
                         ['--collect']) == 0
    with open(osp.join(work, 'ablation.md')) as f:
        first = [t for t in f.read().split('\n\n')
                 if t.startswith('|')][0].strip().split('\n')[2:]
    assert [line.split(' | ')[2] for line in first] == [
        '1 of 2 (seed 0 not converged)'] * 2
    assert not osp.exists(osp.join(work, 'full', 'seed_1'))
    # a finished run is read back, not repeated
    stamp = os.stat(osp.join(work, 'full', 'seed_0', 'metrics.json'))
    assert ablation.main(argv) == 0
    assert os.stat(osp.join(work, 'full', 'seed_0',
                            'metrics.json')).st_mtime_ns == stamp.st_mtime_ns


def test_committed_sr_music_runs_are_read_back_and_paired(tmp_path):
    """docs/results/ablation_sr_music holds finished runs of the sr-Music
    ablation: copied into a work dir they are read back (nothing is
    trained), each with every sr-Music split, and all of them read the
    same inputs, so the tables pair them."""
    import shutil
    work = str(tmp_path / 'work')
    shutil.copytree(osp.join(REPO_ROOT, 'docs', 'results',
                             'ablation_sr_music'), work)
    assert ablation.main(['--benchmark', 'sr_music', '--seeds', '3',
                          '--collect', '--work-dir', work]) == 0
    with open(osp.join(work, 'ablation.json')) as f:
        summary = json.load(f)
    runs = [run for row in summary['rows'] for run in row['runs']
            if 'error' not in run]
    assert runs
    assert summary['input_mismatches'] == []
    for run in runs:
        assert set(run['metrics']) == {'test', 'test_real',
                                       'test_zero_audio'}
        assert run['max_iters'] == runs[0]['max_iters']
        assert {'train_ann', 'backbone', 'audio'} <= set(run['inputs'])
