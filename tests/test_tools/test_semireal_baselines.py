"""tools/analysis_tools/semireal_baselines.py on a tiny generated sr-Music:
"mask nothing" scores IoU 1 exactly on the frames where nothing sounds and
0 elsewhere; "mask every object" scores IoU 1 where every object sounds."""
import json
import os.path as osp

import numpy as np
import pytest

from rassu_mm.testing import load_tool, write_tiny_semireal_set


@pytest.fixture(scope='module')
def sr_music(tmp_path_factory):
    return write_tiny_semireal_set(
        str(tmp_path_factory.mktemp('sr')), (0, 0, 12, 0), 3, (48, 48))


def test_trivial_answers(sr_music):
    assets, data = sr_music
    tool = load_tool('tools/analysis_tools/semireal_baselines.py')
    scores = tool.baseline_scores(data, assets, 'test')
    with open(osp.join(data, 'annotations', 'test.json')) as f:
        frames = [(len(c['objects']), fr['sounding'])
                  for c in json.load(f)['clips'] for fr in c['frames']]
    empty = np.mean([not s for _, s in frames])
    assert 0 < empty < 1
    assert scores['mask nothing']['mIoU'] == pytest.approx(empty)
    # IoU 1 on the frames where every object sounds, >= 0 on the others
    full = np.mean([len(s) == n for n, s in frames])
    assert scores['mask every object']['mIoU'] >= full
    assert scores['mask every object']['mIoU'] < 1
