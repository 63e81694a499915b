import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

from rassu_mm.models.losses import RegionCaptionConsistencyLoss
from rassu_mm.models.tokenization import (CaptionTokenizer,
                                          train_caption_tokenizer)
from rassu_mm.structures import SSUDataSample

CAPTIONS = [
    'The woman on the left is playing a flute.',
    'The man on the right is playing the cello.',
    'The red triangle is sounding.',
]


@pytest.fixture(scope='module')
def clip_folder(tmp_path_factory):
    """A tiny CLIP text tower saved with its (caption) tokenizer."""
    folder = tmp_path_factory.mktemp('clip_text')
    tokenizer = train_caption_tokenizer(CAPTIONS, vocab_size=200)
    tokenizer.save_pretrained(folder)
    tiny = dict(vocab_size=len(tokenizer), hidden_size=32,
                intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, max_position_embeddings=32,
                projection_dim=16, pad_token_id=0, bos_token_id=2,
                eos_token_id=3)
    torch.manual_seed(0)
    CLIPTextModelWithProjection(CLIPTextConfig(**tiny)).save_pretrained(
        folder)
    return str(folder), tiny


def _direct_text_embeds(folder, captions):
    model = CLIPTextModelWithProjection.from_pretrained(folder).eval()
    tok = CaptionTokenizer(folder).tokenizer
    inputs = tok(captions, padding=True, return_tensors='pt')
    with torch.no_grad():
        return model(**inputs).text_embeds


@pytest.mark.parametrize('distance', ['l2', 'cosine'])
def test_rcc_matches_direct_computation(clip_folder, distance):
    folder, _ = clip_folder
    loss = RegionCaptionConsistencyLoss(pretrained=folder,
                                        distance=distance, loss_weight=0.5)
    region = torch.randn(3, 16, requires_grad=True)
    text = _direct_text_embeds(folder, CAPTIONS)
    assert not torch.allclose(text[0], text[1])
    r, t = F.normalize(region, dim=-1), F.normalize(text, dim=-1)
    if distance == 'l2':
        expected = (r - t).pow(2).sum(-1).sqrt().mean()
    else:
        expected = (1 - (r * t).sum(-1)).mean()
    value = loss(region, CAPTIONS)
    torch.testing.assert_close(value, 0.5 * expected)
    value.backward()
    assert region.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.text_model.parameters())
    # perfectly aligned embeddings give zero distance
    assert loss(text, CAPTIONS).abs() < 1e-4


def test_rcc_from_config_and_in_head(clip_folder):
    folder, tiny = clip_folder
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='MoHECaptionHead', tokenizer=folder, in_channels=8,
        embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=16,
        num_experts=2, top_k=1,
        loss_rcc=dict(type='RegionCaptionConsistencyLoss', clip=tiny,
                      tokenizer=folder, loss_weight=0.1)))
    text_weights = {
        k: v.clone()
        for k, v in head.loss_rcc.text_model.state_dict().items()
    }
    head.init_weights()  # leaves the (pretrained) CLIP tower alone
    for k, v in head.loss_rcc.text_model.state_dict().items():
        assert torch.equal(v, text_weights[k])
    sample = SSUDataSample(metainfo=dict(num_frames=3))
    sample.gt_captions = [CAPTIONS[0], None, CAPTIONS[2]]
    region = torch.randn(3, 16, requires_grad=True)
    outs = dict(memory=torch.randn(3, 4, 8), region_embeds=region)
    losses = head.train().loss(outs, [sample])
    assert not head.loss_rcc.text_model.training
    expected = head.loss_rcc(region[[0, 2]], [CAPTIONS[0], CAPTIONS[2]])
    torch.testing.assert_close(losses['loss_rcc'], expected)
    losses['loss_rcc'].backward()
    assert (region.grad[1] == 0).all() and region.grad[0].abs().sum() > 0
