"""``setup_cpu_distributed``: ``tools/dist_train.sh`` on a machine without
CUDA trains with the gloo backend (two processes, the toy regressor)."""
import os
import subprocess
import sys

import pytest
import torch

from rassu_mm.testing import REPO_ROOT, free_port, repo_path


@pytest.mark.slow
def test_dist_train_on_cpu_uses_gloo(tmp_path):
    work_dir = tmp_path / 'work'
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PYTHONPATH=REPO_ROOT,
        CUDA_VISIBLE_DEVICES='',
        PORT=free_port())
    proc = subprocess.run([
        'bash',
        repo_path('tools/dist_train.sh'),
        repo_path('tests/fixtures/toy_config.py'), '2', '--work-dir',
        str(work_dir)
    ],
                          cwd=REPO_ROOT,
                          env=env,
                          capture_output=True,
                          text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'rank 0 of 2 uses the gloo backend' in out
    ckpt = torch.load(work_dir / 'iter_8.pth', weights_only=False)
    assert ckpt['meta']['iter'] == 8
