"""tools/misc/pretrain_semireal.py: the three stand-in encoders, trained
briefly on a tiny generated sr-Music, load strictly into the sr-Music
config (the weights in the model equal the saved ones)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image
from mmengine.config import Config

from mmseg.registry import MODELS
from rassu_mm.models.utils.pretrained import PretrainedKeysError
from rassu_mm.testing import (load_tool, repo_path, write_caption_tokenizer,
                              write_tiny_semireal_set)

CONFIG = repo_path('configs', 'semireal', 'ssuformer_sr_music.py')


def write_tiny_concepts(root):
    """A concept tree of two RGBA squares and their phrases."""
    (root / 'pictures').mkdir(parents=True)
    concepts = []
    for name, colour in (('red-apple', (200, 0, 0)), ('tree', (0, 160, 0))):
        rgba = np.zeros((16, 16, 4), np.uint8)
        rgba[2:14, 4:12] = (*colour, 255)
        Image.fromarray(rgba).save(root / 'pictures' / f'{name}.png')
        concepts.append(dict(path=f'pictures/{name}.png',
                             text='a ' + name.replace('-', ' '), set='t'))
    (root / 'index.json').write_text(json.dumps(dict(concepts=concepts)))
    return str(root)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('sr')
    assets, data = write_tiny_semireal_set(str(root), (6, 0, 3, 3), 2,
                                           (64, 64))
    concepts = write_tiny_concepts(root / 'concepts')
    tool = load_tool('tools/misc/pretrain_semireal.py')
    outs, reports = {}, {}
    for encoder, out in (('audio', 'audio.pth'), ('backbone', 'bb.pth'),
                         ('clip', 'clip')):
        outs[encoder] = str(root / out)
        reports[encoder] = tool.main([
            encoder, CONFIG, '--data-root', data, '--asset-root', assets,
            '--out', outs[encoder], '--iters', '2', '--batch-size', '4',
            *(['--concepts', concepts, '--concept-share', '0.5']
              if encoder != 'audio' else [])
        ])
    return root, data, outs, reports


def _model_cfg(root, data, outs):
    cfg = Config.fromfile(CONFIG)
    tokenizer = write_caption_tokenizer(
        root / 'tokenizer', ['the small drawn violin is being played'])
    cfg.merge_from_dict({
        'model.backbone.init_cfg.checkpoint': outs['backbone'],
        'model.audio_encoder.init_cfg.checkpoint': outs['audio'],
        'model.mask_collaboration.pretrained': outs['clip'],
        'model.caption_head.loss_clip.pretrained': outs['clip'],
        'model.caption_head.loss_rcc.pretrained': outs['clip'],
        'model.caption_head.tokenizer': tokenizer
    })
    return cfg.model


def test_reports_cover_both_test_splits(trained):
    _, _, outs, reports = trained
    for encoder, report in reports.items():
        for split in ('test', 'test_real'):
            values = list(report[split].values())
            assert values and all(0 <= v <= 1 for v in values
                                  if isinstance(v, float)), (encoder, split)
    assert osp.isfile(outs['audio'] + '.json')
    assert osp.isfile(osp.join(outs['clip'], 'report.json'))
    assert reports['clip']['num_concept_pictures'] == 2
    assert reports['backbone']['num_concept_pictures'] == 2
    per_class = reports['clip']['test']['zero_shot_top1_per_class']
    assert per_class and all(0 <= v <= 1 for v in per_class.values())


def test_clip_tokenizer_knows_the_concepts(trained):
    """The concept phrases mixed into CLIP's batches are in its
    tokenizer's vocabulary (no unknown token)."""
    from transformers import AutoTokenizer
    _, _, outs, _ = trained
    tokenizer = AutoTokenizer.from_pretrained(outs['clip'])
    ids = tokenizer('a red apple')['input_ids']
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == 'a red apple'


def test_config_loads_all_three_strictly(trained):
    root, data, outs, _ = trained
    model = MODELS.build(_model_cfg(root, data, outs))
    model.init_weights()
    for name, module in (('audio', model.audio_encoder),
                         ('backbone', model.backbone)):
        saved = torch.load(outs[name])['state_dict']
        own = module.state_dict()
        assert set(saved) == set(own)
        assert all(torch.equal(saved[k], own[k]) for k in saved), name
    from transformers import CLIPModel
    clip = CLIPModel.from_pretrained(outs['clip'])
    assert torch.equal(
        clip.visual_projection.weight,
        model.mask_collaboration.clip.visual_projection.weight)
    assert model.audio_encoder.frozen and not any(
        p.requires_grad for p in model.audio_encoder.parameters())


def test_a_file_of_another_encoder_is_refused(trained):
    root, data, outs, _ = trained
    cfg = _model_cfg(root, data, outs)
    cfg.audio_encoder.init_cfg.checkpoint = outs['backbone']
    model = MODELS.build(cfg)
    with pytest.raises(PretrainedKeysError, match='bb.pth'):
        model.audio_encoder.init_weights()


def test_concept_share_out_of_range_is_refused(capsys):
    tool = load_tool('tools/misc/pretrain_semireal.py')
    with pytest.raises(SystemExit):
        tool.parse_args(['clip', CONFIG, '--concept-share', '1'])
    assert '--concept-share must be in [0, 1)' in capsys.readouterr().err
