import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from rassu_mm.models.losses import (CLIPConsistencyLoss,
                                    RegionCaptionConsistencyLoss)
from rassu_mm.structures import SSUDataSample
from .conftest import CAPTIONS


def test_rcc_is_a_symmetric_multi_positive_infonce(clip_folder, text_embeds):
    folder, _ = clip_folder
    loss = RegionCaptionConsistencyLoss(pretrained=folder, temperature=0.1,
                                        loss_weight=0.5)
    captions = [CAPTIONS[0], CAPTIONS[1], CAPTIONS[0], CAPTIONS[2]]
    region = torch.randn(4, 16, requires_grad=True)
    r = F.normalize(region, dim=-1)
    t = F.normalize(text_embeds(captions), dim=-1)
    prob = (r @ t.t() / 0.1).softmax(-1), (r @ t.t() / 0.1).softmax(0)
    positive = torch.tensor([[1., 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0],
                             [0, 0, 0, 1]])  # frames 0 and 2: same caption
    region_to_text = -((prob[0] * positive).sum(1)).log().mean()
    text_to_region = -((prob[1] * positive).sum(0)).log().mean()
    value = loss(region, captions)
    torch.testing.assert_close(value,
                               0.5 * (region_to_text + text_to_region) / 2)
    value.backward()
    assert region.grad.abs().sum() > 0
    assert loss.loss_name == 'loss_rcc'


def test_rcc_prefers_each_region_on_its_own_caption(clip_folder,
                                                    text_embeds):
    folder, _ = clip_folder
    loss = RegionCaptionConsistencyLoss(pretrained=folder)
    text = text_embeds(CAPTIONS)
    matched = loss(text, CAPTIONS)
    swapped = loss(text[[1, 2, 0]], CAPTIONS)
    assert matched < swapped
    # one distinct caption: nothing to tell apart
    assert loss(torch.randn(2, 16), CAPTIONS[:1] * 2) == 0


def test_region_losses_share_one_text_tower(clip_folder):
    folder, _ = clip_folder
    rcc = RegionCaptionConsistencyLoss(pretrained=folder)
    clip = CLIPConsistencyLoss(pretrained=folder)
    assert rcc.text_model is clip.text_model


def test_region_losses_in_the_head(clip_folder):
    folder, tiny = clip_folder
    torch.manual_seed(0)
    tower = dict(clip=tiny, tokenizer=folder, loss_weight=0.1)
    head = MODELS.build(dict(
        type='MoHECaptionHead', tokenizer=folder, in_channels=8,
        embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=16,
        num_experts=2, top_k=1,
        loss_clip=dict(type='CLIPConsistencyLoss', **tower),
        loss_rcc=dict(type='RegionCaptionConsistencyLoss', **tower)))
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
    inputs = dict(memory=torch.randn(3, 4, 8), region_embeds=region,
                  num_frames=3)
    losses = head.train().loss(inputs, [sample])
    assert not head.loss_rcc.text_model.training
    captioned = [CAPTIONS[0], CAPTIONS[2]]
    for name, loss in (('loss_clip', head.loss_clip),
                       ('loss_rcc', head.loss_rcc)):
        torch.testing.assert_close(losses[name],
                                   loss(region[[0, 2]], captioned))
    (losses['loss_clip'] + losses['loss_rcc']).backward()
    assert (region.grad[1] == 0).all() and region.grad[0].abs().sum() > 0
    # without region embeddings (no MCM) there are no region losses
    losses = head.loss(dict(inputs, region_embeds=None), [sample])
    assert 'loss_clip' not in losses and 'loss_rcc' not in losses
