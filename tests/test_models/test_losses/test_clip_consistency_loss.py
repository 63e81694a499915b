import pytest
import torch
import torch.nn.functional as F

from rassu_mm.models.losses import CLIPConsistencyLoss
from .conftest import CAPTIONS


@pytest.mark.parametrize('distance', ['l2', 'cosine'])
def test_matches_the_paper_formula(clip_folder, text_embeds, distance):
    folder, _ = clip_folder
    loss = CLIPConsistencyLoss(pretrained=folder, distance=distance,
                               loss_weight=0.5)
    loss.init_weights()
    region = torch.randn(3, 16, requires_grad=True)
    text = text_embeds(CAPTIONS)
    assert (text[0] - text[1]).abs().max() > 1e-3  # different captions
    r, t = F.normalize(region, dim=-1), F.normalize(text, dim=-1)
    if distance == 'l2':  # || CLIP_image - CLIP_text ||_2
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
    assert loss.loss_name == 'loss_clip'


def test_bad_distance(clip_folder):
    with pytest.raises(ValueError, match='distance'):
        CLIPConsistencyLoss(pretrained=clip_folder[0], distance='l1')


def test_building_the_text_tower_leaves_the_rng_alone(clip_folder,
                                                      monkeypatch):
    """A randomly initialised tower is built on a forked RNG: the training
    draws after it are those of a run that builds no tower (ablation rows
    with and without a region loss stay paired)."""
    from rassu_mm.models.losses import clip_text_loss
    monkeypatch.setattr(clip_text_loss, '_TEXT_TOWERS', {})
    folder, tiny = clip_folder
    loss = CLIPConsistencyLoss(clip=tiny, tokenizer=folder)
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    loss.init_weights()
    assert loss.text_model.config.hidden_size == tiny['hidden_size']
    torch.testing.assert_close(torch.rand(4), expected, rtol=0, atol=0)
