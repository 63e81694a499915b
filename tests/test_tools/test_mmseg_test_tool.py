"""MMSegmentation's own ``tools/test.py`` (what ``mim test`` runs) on an
SSU config: ``--out`` sets ``SSUMetric(output_dir=..., keep_results=True)``
and the predicted masks are written."""
import glob
import json
import os.path as osp
import subprocess
import sys

import mmseg
import pytest
import torch

from mmseg.registry import MODELS
from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import demo_runner_cfg, tiny_model_cfg

MMSEG_TEST = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')


@pytest.mark.slow
@pytest.mark.skipif(
    not osp.isfile(MMSEG_TEST), reason='mmseg installed without its tools')
def test_mmseg_test_py_out_writes_ssu_predictions(tmp_path):
    make_synthetic_dataset(
        str(tmp_path / 'data'), num_clips=(2, 2, 3), progress=False)
    cfg = demo_runner_cfg(str(tmp_path / 'data'))
    cfg.model = tiny_model_cfg('ssuformer_demo_seg.py')
    cfg.dump(str(tmp_path / 'cfg.py'))
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(
        dict(meta={}, state_dict=MODELS.build(cfg.model).state_dict()),
        checkpoint)
    out = tmp_path / 'preds'
    command = [
        sys.executable, MMSEG_TEST,
        str(tmp_path / 'cfg.py'), checkpoint, '--out',
        str(out), '--work-dir',
        str(tmp_path / 'work')
    ]
    subprocess.run(command, check=True, cwd=str(tmp_path))
    with open(tmp_path / 'data' / 'annotations' / 'test.json') as f:
        clips = json.load(f)['clips']
    expected = sorted(
        osp.join(str(out), c['clip_id'], f'{k}.png') for c in clips
        for k in range(len(c['frames'])))
    assert sorted(glob.glob(str(out / '*' / '*.png'))) == expected
    assert (out / 'captions.json').is_file()
    assert (out / 'ssu_breakdown.json').is_file()
