"""CLIP towers build offline and load pretrained weights strictly in
``init_weights`` (MCM, RCC loss); tiny local CLIP folders, no hub."""
import pytest
import torch
from transformers import (CLIPConfig, CLIPModel, CLIPTextModelWithProjection,
                          CLIPVisionConfig, CLIPVisionModel,
                          CLIPVisionModelWithProjection)

from rassu_mm.models.utils.clip_utils import build_hf_model, load_hf_pretrained
from rassu_mm.models.losses import RegionCaptionConsistencyLoss
from rassu_mm.models.collaboration import MaskCollaborationModule
from rassu_mm.models.utils.pretrained import PretrainedKeysError
from rassu_mm.models.utils.tokenization import load_tokenizer
from rassu_mm.testing import TINY_CLIP_VISION as VISION
from rassu_mm.testing import tiny_clip_text, write_caption_tokenizer

CAPTIONS = ['a violin is playing.', 'the drum on the left is sounding.']


@pytest.fixture(scope='module')
def clip_folder(tmp_path_factory):
    """A tiny full CLIP model (both towers) saved with a tokenizer, as a
    local folder written by ``save_pretrained``."""
    folder = tmp_path_factory.mktemp('clip')
    write_caption_tokenizer(folder, CAPTIONS, vocab_size=100)
    text = tiny_clip_text(len(load_tokenizer(str(folder))))
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=VISION,
                                 projection_dim=16))
    model.save_pretrained(folder)
    return str(folder), text, model.state_dict()


def test_build_needs_no_weights_or_network():
    model = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           VISION, pretrained='openai/clip-vit-base-patch16')
    assert model.config.patch_size == 8
    assert model.is_init and not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_build_without_config_from_a_hub_name_refuses():
    with pytest.raises(ValueError, match='give `clip`'):
        build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                       pretrained='openai/clip-vit-base-patch16')


def test_build_reads_a_local_folder_config(clip_folder):
    folder, _, _ = clip_folder
    model = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           pretrained=folder)
    assert model.config.hidden_size == VISION['hidden_size']


def test_load_copies_the_vision_tower(clip_folder):
    folder, _, source = clip_folder
    model = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           VISION)
    load_hf_pretrained(model, folder, 'test')
    # CLIPModel and the single towers share parameter names
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, source[key], rtol=0, atol=0)


def test_other_architecture_raises_naming_fields(clip_folder):
    folder, _, _ = clip_folder
    model = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           dict(VISION, hidden_size=64, patch_size=16))
    with pytest.raises(PretrainedKeysError) as err:
        load_hf_pretrained(model, folder, 'Neck.pretrained')
    msg = str(err.value)
    assert 'Neck.pretrained' in msg
    assert 'hidden_size: 64 (config) vs 32' in msg
    assert 'patch_size: 16 (config) vs 8' in msg


def test_missing_weights_raise_naming_them(tmp_path):
    """A vision tower saved without projection lacks visual_projection."""
    torch.manual_seed(0)
    CLIPVisionModel(CLIPVisionConfig(**VISION)).save_pretrained(tmp_path)
    model = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           VISION)
    with pytest.raises(PretrainedKeysError,
                       match='lacks 1 weights of CLIPVisionModelWith'
                       'Projection: visual_projection.weight'):
        load_hf_pretrained(model, str(tmp_path), 'test')


def test_missing_folder_says_how_to_get_it(tmp_path):
    model = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           VISION)
    missing = str(tmp_path / 'pretrain' / 'clip-vit-base-patch16')
    with pytest.raises(FileNotFoundError) as err:
        load_hf_pretrained(model, missing, 'MaskCollaborationModule'
                           '.pretrained')
    msg = str(err.value)
    assert missing in msg and 'MaskCollaborationModule.pretrained' in msg
    assert 'python tools/misc/download_pretrained.py clip' in msg


def test_mcm_builds_offline_and_loads_in_init_weights(clip_folder, tmp_path):
    folder, _, source = clip_folder
    # building never reads `pretrained` (here: a folder that is not there)
    MaskCollaborationModule(8, clip=VISION, pretrained=str(tmp_path / 'no'))
    mcm = MaskCollaborationModule(8, clip=VISION, pretrained=folder)
    mcm.init_weights()
    torch.testing.assert_close(
        mcm.clip.visual_projection.weight,
        source['visual_projection.weight'], rtol=0, atol=0)
    assert not any(p.requires_grad for p in mcm.clip.parameters())


def test_rcc_text_tower_is_built_for_training_only(clip_folder, tmp_path):
    folder, text, source = clip_folder
    loss = RegionCaptionConsistencyLoss(clip=text,
                                        pretrained=str(tmp_path / 'no'))
    # built (e.g. for testing) without the text tower or its files
    assert loss.state_dict() == {} and loss._text is None
    with pytest.raises(FileNotFoundError, match='download_pretrained.py'):
        loss.init_weights()

    loss = RegionCaptionConsistencyLoss(clip=text, pretrained=folder)
    loss.init_weights()
    tower = loss.text_model
    assert isinstance(tower, CLIPTextModelWithProjection)
    torch.testing.assert_close(tower.text_projection.weight,
                               source['text_projection.weight'], rtol=0,
                               atol=0)
    value = loss(torch.randn(2, 16), CAPTIONS)
    assert value.ndim == 0 and torch.isfinite(value)
    # checkpoints never carry the frozen text tower
    assert loss.state_dict() == {}
    assert not tower.training
