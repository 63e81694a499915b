"""tools/analysis_tools/ablation.py: runs, per-seed JSON and the table."""
import json
import math
import os
import os.path as osp
import statistics

import pytest
from mmengine.config import Config

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import REPO_ROOT, load_tool

ablation = load_tool('tools/analysis_tools/ablation.py')

# the smallest settings that still train, test and generate captions
TINY = [
    'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'test_dataloader.batch_size=2', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'model.caption_head.generation.max_length=4'
]


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


@pytest.mark.slow
def test_ablation_end_to_end(tmp_path):
    data = str(tmp_path / 'data')
    make_synthetic_dataset(data, num_clips=(4, 1, 2), num_frames=2,
                           progress=False, preset='hard')
    work = str(tmp_path / 'work')
    argv = ['--rows', 'baseline', 'full', '--seeds', '1', '--max-iters', '2',
            '--data-root', data, '--work-dir', work, '--cfg-options', *TINY]
    assert ablation.main(argv) == 0
    # the tokenizer was built next to the data (the configs' tokenizer path
    # moved with --data-root)
    assert osp.isdir(osp.join(data, 'tokenizer'))
    with open(osp.join(work, 'ablation.json')) as f:
        summary = json.load(f)
    assert [r['name'] for r in summary['rows']] == ['baseline', 'full']
    assert summary['seeds'] == 1 and summary['max_iters'] == 2
    with open(osp.join(work, 'ablation.md')) as f:
        lines = f.read().strip().split('\n')
    assert len(lines) == 4
    for row, line in zip(summary['rows'], lines[2:]):
        (run, ) = row['runs']
        run_dir = osp.join(work, row['name'], 'seed_0')
        with open(osp.join(run_dir, 'metrics.json')) as f:
            produced = json.load(f)
        # the JSON and the table carry the metrics the test run produced
        assert run['metrics'] == produced['metrics']
        assert produced['max_iters'] == 2
        assert set(ablation.METRICS) <= set(produced['metrics'])
        assert row['mean'] == {
            k: produced['metrics'][k]
            for k in ablation.METRICS
        }
        assert all(math.isnan(v) for v in row['std'].values())
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert cells[2] == '1'
        assert cells[3:] == [
            f'{produced["metrics"][k]:.3f}' for k in ablation.METRICS
        ]
        # the run's config is the row's, with the requested overrides
        cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
        assert cfg.randomness['seed'] == 0
        assert cfg.train_cfg['max_iters'] == 2
        assert cfg.train_dataloader['dataset']['data_root'] == data
        assert cfg.val_dataloader is None
    # --collect runs nothing: a second seed counts as missing
    assert ablation.main(argv[:4] + ['2'] + argv[5:] + ['--collect']) == 0
    with open(osp.join(work, 'ablation.md')) as f:
        assert [line.split(' | ')[2] for line in
                f.read().strip().split('\n')[2:]] == ['1 of 2', '1 of 2']
    assert not osp.exists(osp.join(work, 'full', 'seed_1'))
    # a finished run is read back, not repeated
    stamp = os.stat(osp.join(work, 'full', 'seed_0', 'metrics.json'))
    assert ablation.main(argv) == 0
    assert os.stat(osp.join(work, 'full', 'seed_0',
                            'metrics.json')).st_mtime_ns == stamp.st_mtime_ns
