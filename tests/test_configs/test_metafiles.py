"""``configs/*/metafile.yaml`` (OpenMMLab model index): every listed config
loads, every config of a family is listed, the READMEs exist."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

from rassu_mm.testing import REPO_ROOT, repo_path

METAFILES = sorted(glob.glob(repo_path('configs', '*', 'metafile.yaml')))
#: the configs each family's metafile must list (relative to the repo;
#: it may list more, e.g. ablations with measured results)
FAMILIES = {
    'avsbench': ['configs/avsbench/*.py'],
    'ssuformer': ['configs/ssuformer_*.py'],
}


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_every_family_has_a_metafile():
    assert sorted(osp.basename(osp.dirname(p))
                  for p in METAFILES) == sorted(FAMILIES)


@pytest.mark.parametrize(
    'metafile', METAFILES, ids=lambda p: osp.basename(osp.dirname(p)))
def test_metafile_lists_loadable_configs(metafile):
    meta = load(metafile)
    collections = {c['Name'] for c in meta['Collections']}
    for collection in meta['Collections']:
        assert osp.isfile(repo_path(collection['README']))
        assert collection['Paper']['URL'].endswith('2603.09809')
    listed = []
    for model in meta['Models']:
        assert model['In Collection'] in collections
        cfg = Config.fromfile(repo_path(model['Config']))
        assert 'model' in cfg and 'train_dataloader' in cfg
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        listed.append(model['Config'])
    family = osp.basename(osp.dirname(metafile))
    expected = sorted(
        osp.relpath(p, REPO_ROOT) for pattern in FAMILIES[family]
        for p in glob.glob(repo_path(pattern)))
    assert set(expected) <= set(listed)
