"""SSUMetric's MMSegmentation conventions: ``keep_results`` and
``format_only`` (set by mmseg's ``tools/test.py --out``, which ``mim
test`` runs)."""
import json

import pytest
import torch

from mmseg.registry import METRICS
from rassu_mm.evaluation import SSUMetric
from .test_ssu_metric import breakdown_clips, evaluate, make_clip


def written_files(root):
    return sorted(
        str(p.relative_to(root)) for p in root.rglob('*') if p.is_file())


def test_keep_results_as_mmseg_test_out_sets_it(tmp_path):
    # mmseg's tools/test.py --out DIR: test_evaluator gets output_dir=DIR
    # and keep_results=True
    clips = breakdown_clips()
    plain = evaluate(SSUMetric(), clips)
    kept = evaluate(
        METRICS.build(
            dict(type='SSUMetric', output_dir=str(tmp_path),
                 keep_results=True)), clips)
    assert kept == plain
    frames = [f'{c.clip_id}/{k}.png' for c in clips
              for k in range(len(c.pred_sem_seg.data))]
    assert written_files(tmp_path) == sorted(
        frames + ['captions.json', 'ssu_breakdown.json'])


def test_keep_results_false_writes_only_the_breakdown(tmp_path):
    clips = breakdown_clips()
    metrics = evaluate(
        SSUMetric(output_dir=str(tmp_path), keep_results=False), clips)
    assert metrics == evaluate(SSUMetric(), clips)
    assert written_files(tmp_path) == ['ssu_breakdown.json']


@pytest.mark.parametrize('with_gt', [False, True])
def test_format_only_writes_predictions_without_scores(tmp_path, with_gt):
    logits = torch.tensor([[[2., -1.], [-3., 4.]], [[-1., 1.], [1., -1.]]])
    gt = (logits > 0).long() if with_gt else None
    clip = make_clip(
        'clip_a', logits, gt, pred_captions=['a dog', 'a cat'],
        gt_captions=['a dog barks', None] if with_gt else [None, None])
    metric = SSUMetric(output_dir=str(tmp_path), format_only=True)
    assert evaluate(metric, [clip]) == {}
    assert written_files(tmp_path) == [
        'captions.json', 'clip_a/0.png', 'clip_a/1.png'
    ]
    with open(tmp_path / 'captions.json') as f:
        entries = json.load(f)
    assert [e['pred'] for e in entries] == ['a dog', 'a cat']


@pytest.mark.parametrize('kwargs', [
    dict(format_only=True),
    dict(format_only=True, output_dir='x', keep_results=False)
])
def test_format_only_needs_an_output_dir_it_keeps(kwargs):
    with pytest.raises(ValueError, match='format_only'):
        SSUMetric(**kwargs)
