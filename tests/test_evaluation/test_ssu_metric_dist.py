"""SSUMetric under distributed evaluation: 2 gloo processes give exactly the
single-process results (dataset size not a multiple of the world size)."""
import pickle

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.dataset import DefaultSampler
from mmengine.evaluator import Evaluator
from torch.utils.data import DataLoader

from rassu_mm.evaluation import SSUMetric
from rassu_mm.evaluation.metrics import ssu_metric
from rassu_mm.testing import free_port
from tests.test_evaluation.test_ssu_metric import META, breakdown_clips, random_clips


def clips():
    """5 clips: with and without captions, varying lengths."""
    return breakdown_clips() + random_clips(
        seed=7, lengths=(2, 3), size=(4, 4))


def run_evaluation(samples, out_dir):
    """Evaluate like mmengine's loop: sampler, batches of 2, Evaluator."""
    evaluator = Evaluator([
        SSUMetric(output_dir=out_dir),
        SSUMetric(
            avsbench_compat=True,
            avsbench_batch_size=2,
            per_category=False,
            prefix='compat')
    ])
    evaluator.dataset_meta = META
    loader = DataLoader(
        samples,
        batch_size=2,
        sampler=DefaultSampler(samples, shuffle=False),
        collate_fn=list)
    for batch in loader:
        evaluator.process(data_samples=batch)
    return evaluator.evaluate(len(samples))


def _worker(rank, port, out_dir, result_file):
    ssu_metric.java_available = lambda: False  # as in the parent process
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    try:
        metrics = run_evaluation(clips(), out_dir)
        with open(f'{result_file}.{rank}', 'wb') as f:
            pickle.dump(metrics, f)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_match_single_process(tmp_path, monkeypatch):
    # Captions without Java (Python tokenizer, no METEOR) spare each process
    # METEOR's 20 s start; test_metric.py covers the Java path.
    monkeypatch.setattr(ssu_metric, 'java_available', lambda: False)
    single = run_evaluation(clips(), str(tmp_path / 'single'))
    mp.spawn(
        _worker,
        args=(free_port(), str(tmp_path / 'dist'), str(tmp_path / 'res')),
        nprocs=2)
    for rank in range(2):  # broadcast to every rank
        with open(tmp_path / f'res.{rank}', 'rb') as f:
            assert pickle.load(f) == single
    assert {
        'mIoU', 'F-score', 'BLEU-4', 'CIDEr', 'compat/mIoU', 'compat/F-score'
    } <= set(single)
    # per-batch averaging (compat) differs from the split's on these clips
    assert abs(single['compat/F-score'] - single['F-score']) > 1e-4
    for name in ('captions.json', 'ssu_breakdown.json'):
        assert (tmp_path / 'single' / name).read_text() == \
            (tmp_path / 'dist' / name).read_text()
    for clip in clips():
        for k in range(clip.num_frames):
            assert (tmp_path / 'dist' / clip.clip_id / f'{k}.png').exists()
