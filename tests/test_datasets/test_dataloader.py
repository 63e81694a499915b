"""DataLoader over the demo set; the dataset configs; browse/benchmark."""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from mmseg.registry import DATASETS
from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.structures import SSUDataSample
from rassu_mm.testing import get_config, load_tool, repo_path

DEMO_CFG = repo_path('configs/_base_/datasets/ssu_demo.py')
T, H, W = 3, 32, 32


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('demo'))
    make_synthetic_dataset(
        root, num_clips=(8, 4, 4), num_frames=T, size=(H, W),
        progress=False)
    return root


def demo_cfg(root):
    cfg = Config.fromfile(DEMO_CFG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root
        for step in cfg[f'{split}_dataloader'].dataset.pipeline:
            if step.type == 'LoadClipAudio':
                step.cache_dir = osp.join(root, 'audio_cache')
            if step.type == 'ClipResize':
                step.scale = (W, H)
    return cfg


def check_batch(batch, batch_size):
    frames, audio = batch['inputs']['frames'], batch['inputs']['audio']
    assert len(frames) == len(audio) == len(batch['data_samples']) == \
        batch_size
    for f, a, s in zip(frames, audio, batch['data_samples']):
        assert f.dtype == torch.uint8 and tuple(f.shape) == (T, 3, H, W)
        assert a.dtype == torch.float32 and tuple(a.shape) == (T, 1, 96, 64)
        assert isinstance(s, SSUDataSample)
        assert tuple(s.gt_sem_seg.data.shape) == (T, H, W)
        assert len(s.gt_captions) == T and s.num_frames == T


def test_dataloader_two_workers(demo_root):
    init_default_scope('mmseg')
    cfg = demo_cfg(demo_root)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    loader = DataLoader(dataset, batch_size=3, num_workers=2,
                        collate_fn=pseudo_collate)
    ids = []
    for batch in loader:
        check_batch(batch, len(batch['data_samples']))
        ids += [s.clip_id for s in batch['data_samples']]
    assert sorted(ids) == [f'train_{i:04d}' for i in range(8)]
    # the workers filled the shared audio cache
    assert len(os.listdir(osp.join(demo_root, 'audio_cache'))) > 0


def test_demo_config_dataloaders(demo_root):
    init_default_scope('mmseg')
    cfg = demo_cfg(demo_root)
    train = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = next(iter(train))
    check_batch(batch, cfg.train_dataloader.batch_size)
    test = Runner.build_dataloader(cfg.test_dataloader)
    batches = list(test)
    assert sum(len(b['data_samples']) for b in batches) == 4
    check_batch(batches[0], cfg.test_dataloader.batch_size)
    assert test.dataset.test_mode


@pytest.mark.parametrize('name', ['f_music', 'f_lifescene'])
def test_paper_dataset_configs(name):
    cfg = get_config(f'_base_/datasets/{name}.py')
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader.dataset.ann_file == f'annotations/{split}.json'
        assert loader.dataset.get('test_mode', False) == (split != 'train')
        init_default_scope('mmseg')
        ds = DATASETS.build(dict(loader.dataset, lazy_init=True))
        assert len(ds.metainfo['classes']) == (22 if name == 'f_music'
                                               else 61)
    steps = [s.type for s in cfg.test_pipeline]
    assert steps.index('ClipResize') < steps.index('LoadClipMasks')


def test_browse_dataset(demo_root, tmp_path):
    out = str(tmp_path / 'vis')
    load_tool('tools/analysis_tools/browse_dataset.py').main([
        DEMO_CFG, '--output-dir', out, '--max', '2', '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_root}',
        'train_dataloader.dataset.pipeline.2.cache_dir=None'
    ])
    import cv2
    images = sorted(os.listdir(out))
    assert len(images) == 2
    img = cv2.imread(osp.join(out, images[0]))
    assert img.shape[1] == T * 64 and img.shape[0] > 64


def test_benchmark_dataloader_runs():
    results = load_tool('tools/analysis_tools/benchmark_dataloader.py').main(
        ['--num-clips', '4', '--workers', '0', '--batch-size', '2'])
    assert set(results) == {(False, 0), (True, 0)}
    assert all(v > 0 for v in results.values())
