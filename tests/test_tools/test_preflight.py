"""First contact: train/test on a fresh clone list what is missing and how to
get it, then exit non-zero, before anything is downloaded or built."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from rassu_mm.testing import REPO_ROOT
from rassu_mm.utils.preflight import (MissingInputsError, check_inputs,
                                      find_missing)

MUSIC = osp.join(REPO_ROOT, 'configs', 'ssuformer_f_music.py')


def _run(tool, *args, cwd):
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONPATH=REPO_ROOT)
    return subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', tool), *args],
        cwd=cwd,
        env=env, capture_output=True, text=True, timeout=300)


def test_train_on_a_fresh_clone_lists_every_missing_input(tmp_path):
    """cwd is an empty folder: no data, no weights, no tokenizer."""
    proc = _run('train.py', MUSIC, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert 'Traceback' not in err
    expected = [
        'data root data/f_music (train_dataloader.dataset.data_root, '
        'val_dataloader.dataset.data_root)',
        'data/f_music/annotations/train.json '
        '(train_dataloader.dataset.ann_file)',
        'data/f_music/annotations/val.json (val_dataloader.dataset.ann_file)',
        "docs/data.md, section 'Producing SSU data'",
        'caption tokenizer work_dirs/tokenizers/f_music '
        '(model.caption_head.tokenizer): python tools/build_tokenizer.py '
        'data/f_music/annotations/train.json work_dirs/tokenizers/f_music',
        'pretrain/pvt_v2_b5.pth (model.backbone.init_cfg.checkpoint): '
        'python tools/misc/download_pretrained.py pvt_v2_b5',
        'pretrain/vggish_mmseg.pth (model.audio_encoder.init_cfg.checkpoint)'
        ': python tools/misc/download_pretrained.py vggish',
        'pretrain/clip-vit-base-patch16 (model.mask_collaboration.pretrained'
        ', model.caption_head.loss_clip.pretrained, '
        'model.caption_head.loss_rcc.pretrained): '
        'python tools/misc/download_pretrained.py clip',
    ]
    for line in expected:
        assert line in err, line
    assert 'cannot train: 7 input(s) missing' in err
    # stopped before the runner: no work_dir, nothing fetched
    assert os.listdir(tmp_path) == []


def test_test_needs_data_tokenizer_and_checkpoint_only(tmp_path):
    proc = _run('test.py', MUSIC, 'work_dirs/best.pth', cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert 'Traceback' not in err
    assert 'data/f_music/annotations/test.json' in err
    assert 'work_dirs/tokenizers/f_music' in err
    assert 'checkpoint work_dirs/best.pth' in err
    assert 'pretrain/' not in err  # the checkpoint holds every weight
    assert 'train_dataloader' not in err and 'val_dataloader' not in err


def _complete(tmp_path):
    """The paper config with every input it names present under tmp_path
    (empty files: the check looks for them, it does not read them)."""
    cfg = Config.fromfile(MUSIC)
    root = tmp_path / 'f_music'
    (root / 'annotations').mkdir(parents=True)
    for split in ('train', 'val', 'test'):
        (root / 'annotations' / f'{split}.json').write_text(json.dumps({}))
        cfg[f'{split}_dataloader'].dataset.data_root = str(root)
    for name in ('pvt_v2_b5.pth', 'vggish_mmseg.pth'):
        (tmp_path / name).write_bytes(b'')
    (tmp_path / 'clip').mkdir()
    (tmp_path / 'tok').mkdir()
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'pvt_v2_b5.pth')
    cfg.model.audio_encoder.init_cfg.checkpoint = str(
        tmp_path / 'vggish_mmseg.pth')
    cfg.model.mask_collaboration.pretrained = str(tmp_path / 'clip')
    cfg.model.caption_head.loss_clip.pretrained = str(tmp_path / 'clip')
    cfg.model.caption_head.loss_rcc.pretrained = str(tmp_path / 'clip')
    cfg.model.caption_head.tokenizer = str(tmp_path / 'tok')
    return cfg


def test_complete_inputs_pass(tmp_path):
    cfg = _complete(tmp_path)
    assert find_missing(cfg, 'train') == []
    # testing reads the test data, the tokenizer and the checkpoint (and,
    # for a published checkpoint, the pretrained files): all there
    checkpoint = tmp_path / 'best.pth'
    checkpoint.write_bytes(b'')
    for pretrained in (False, True):
        check_inputs(cfg, 'test', str(checkpoint), pretrained=pretrained)
    # each of them is looked at: without it the same call names it
    checkpoint.unlink()
    (tmp_path / 'f_music' / 'annotations' / 'test.json').unlink()
    os.remove(tmp_path / 'vggish_mmseg.pth')
    test_json = f'{tmp_path}/f_music/annotations/test.json'
    missing = find_missing(cfg, 'test', str(checkpoint), pretrained=True)
    expected = [
        f'annotation file {test_json} (test_dataloader',
        f'VGGish weights (torchvggish, converted) {tmp_path}/'
        'vggish_mmseg.pth (model.audio_encoder',
        f'checkpoint {checkpoint} (command line)',
    ]
    assert len(missing) == len(expected)
    for line, start in zip(missing, expected):
        assert line.startswith(start), line
    with pytest.raises(MissingInputsError,
                       match=r'cannot test: 2 input\(s\) missing'):
        check_inputs(cfg, 'test', str(checkpoint))


def test_each_missing_input_is_reported_once(tmp_path):
    cfg = _complete(tmp_path)
    os.remove(tmp_path / 'vggish_mmseg.pth')
    os.remove(tmp_path / 'f_music' / 'annotations' / 'val.json')
    missing = find_missing(cfg, 'train')
    assert len(missing) == 2
    assert missing[0].startswith(
        f'annotation file {tmp_path}/f_music/annotations/val.json')
    assert missing[1].startswith(
        f'VGGish weights (torchvggish, converted) {tmp_path}/vggish_mmseg.pth'
        ' (model.audio_encoder.init_cfg.checkpoint)')
    with pytest.raises(MissingInputsError,
                       match=r'cannot train: 2 input\(s\) missing'):
        check_inputs(cfg, 'train')
    # testing needs neither the validation data nor VGGish
    assert find_missing(cfg, 'test') == []
    # fine-tuning from a checkpoint that is not there
    cfg.load_from = str(tmp_path / 'none.pth')
    assert find_missing(cfg, 'train')[2] == (
        f'checkpoint {tmp_path}/none.pth (load_from): a file saved by '
        'tools/train.py')


def test_wrapped_datasets_and_hub_names(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub
    cfg = _complete(tmp_path)
    cfg.train_dataloader.dataset = dict(
        type='ConcatDataset',
        datasets=[cfg.train_dataloader.dataset,
                  dict(type='FMusicDataset', data_root=str(tmp_path / 'x'),
                       ann_file='a.json')])
    cfg.model.mask_collaboration.pretrained = 'someone/not-cached-clip'
    missing = find_missing(cfg, 'train')
    assert missing[0].startswith(f'data root {tmp_path}/x '
                                 '(train_dataloader.dataset.datasets[1]')
    assert len(missing) == 2  # the data root and its annotation file
    # offline, a hub name must be in the local Hugging Face cache
    monkeypatch.setattr(hub, 'HF_HUB_OFFLINE', True)
    assert find_missing(cfg, 'train')[2].startswith(
        'CLIP ViT-B/16 (weights and tokenizer folder) someone/not-cached-clip'
        ' (model.mask_collaboration.pretrained)')
