"""The prepared GPU check's CPU dry run (``DRY_RUN=1``): the same
measurement as on the GPU machine (tokenizer from generated captions, random
weights, synthetic clips, training steps and inference), without the wheel
install and the mmcv build."""
import json
import os
import os.path as osp
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
