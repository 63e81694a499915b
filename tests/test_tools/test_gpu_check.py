"""The prepared GPU check's CPU dry run (``DRY_RUN=1``): the same
measurement as on the GPU machine (tokenizer from generated captions, random
weights, synthetic clips, training steps and inference; FLOPs; captions
forced to 15 tokens; bfloat16 training with checkpointing), without the
wheel install, the mmcv build, the compiled decode step and batches above
1."""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys

import pytest

from rassu_mm.testing import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'gpu_check.sh')


@pytest.mark.slow
def test_gpu_check_dry_run(tmp_path):
    env = dict(
        os.environ,
        DRY_RUN='1',
        CONFIG='configs/ssuformer_demo.py',
        PY=sys.executable,
        OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', SCRIPT, str(tmp_path)],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert osp.isfile(tmp_path / 'tokenizer' / 'tokenizer.json')
    (result, ) = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert result['config'] == 'configs/ssuformer_demo.py'
    assert result['device'] == 'cpu' and result['with_caption']
    assert result['num_frames'] == 2 and result['frame_shape'] == [64, 64]
    assert result['train_batch_size'] == result['infer_batch_size'] == 1
    for phase in ('train', 'infer'):
        assert len(result[f'{phase}_iter_s']) == 1
        assert result[f'{phase}_iter_s'][0] > 0
        assert result[f'{phase}_peak_mem_mib'] > 0
    assert result['infer_frames_per_s'] == pytest.approx(
        2 * result['infer_clips_per_s'])
    # the segmentation path alone: inference only, no caption branch
    (seg, ) = json.loads(
        (tmp_path / 'gpu_check_segmentation.json').read_text())
    assert not seg['with_caption'] and seg['params'] < result['params']
    assert 'train_iter_s' not in seg and len(seg['infer_iter_s']) == 1
    assert 'infer_flops' not in seg  # no --flops
    # FLOPs of one step per phase, and their rate over the median step
    assert result['amp'] is False and result['amp_dtype'] is None
    assert result['with_cp'] == [] and result['peak_tflops'] is None
    for phase in ('train', 'infer'):
        _check_flops(result, phase)
    assert result['train_recompute_flops'] == 0
    # captions forced to 15 tokens instead of the demo's 24: fewer FLOPs
    (len15, ) = json.loads(
        (tmp_path / 'gpu_check_infer_len15_eager.json').read_text())
    assert result['generation']['max_length'] == 24
    assert len15['generation']['max_length'] == 15
    assert len15['generation']['compile'] is False
    assert 'train_iter_s' not in len15
    _check_flops(len15, 'infer')
    assert 0 < len15['infer_flops'] < result['infer_flops']
    # training under bfloat16 autocast with the demo model's with_cp
    # switches (its FPN pixel decoder has none), batch 1 only; the
    # recomputed FLOPs are apart: the model FLOPs are those of float32
    # without checkpointing
    (train, ) = json.loads(
        (tmp_path / 'gpu_check_train_bf16_cp_b1.json').read_text())
    assert train['amp'] is True and train['amp_dtype'] == 'bfloat16'
    assert train['with_cp'] == ['backbone', 'mask_collaboration.clip']
    assert train['train_batch_size'] == 1 and 'train_oom' not in train
    assert 'infer_iter_s' not in train
    _check_flops(train, 'train')
    assert train['train_flops'] == result['train_flops']
    assert 0 < train['train_recompute_flops'] < train['train_flops']
    assert sorted(p.name for p in tmp_path.glob('*.json')) == [
        'gpu_check.json', 'gpu_check_infer_len15_eager.json',
        'gpu_check_segmentation.json', 'gpu_check_train_bf16_cp_b1.json'
    ]  # no compiled decode step, no batch 2 or 4 in the dry run
    # the summary: a row per file and phase, then the targets
    rows = {
        tuple(c.strip() for c in line.split('|')[1:4])
        for line in proc.stdout.splitlines() if line.startswith('| gpu')
    }
    assert rows == {('gpu_check', 'train', '1'), ('gpu_check', 'infer', '1'),
                    ('gpu_check_segmentation', 'infer', '1'),
                    ('gpu_check_infer_len15_eager', 'infer', '1'),
                    ('gpu_check_train_bf16_cp_b1', 'train', '1')}
    assert 'target: full inference (masks + captions) >= 170 frames/s' \
        in proc.stdout
    assert 'MFU >= 25 % at the largest batch that fits; batch 1: -' \
        in proc.stdout


def _check_flops(result, phase):
    """FLOPs counted, TFLOP/s = FLOPs / median step time, no MFU on the
    CPU without --peak-tflops."""
    flops = result[f'{phase}_flops']
    assert isinstance(flops, int) and flops > 0
    assert result[f'{phase}_tflops_per_s'] == pytest.approx(
        flops / statistics.median(result[f'{phase}_iter_s']) / 1e12)
    assert result[f'{phase}_mfu'] is None


def test_gpu_check_refuses_without_cuda(tmp_path):
    """Outside a dry run the script stops before installing anything when
    there is no CUDA device (this machine)."""
    pytest.importorskip('torch')
    import torch
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present')
    env = dict(os.environ, PY=sys.executable, WHEELS=str(tmp_path / 'none'))
    proc = subprocess.run(['bash', SCRIPT, str(tmp_path / 'out')],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert 'no CUDA device' in proc.stderr
    assert not (tmp_path / 'out' / 'gpu_check.json').exists()
