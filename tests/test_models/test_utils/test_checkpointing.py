"""Activation checkpointing (``with_cp``) of the PVT-v2 backbone, the
deformable pixel decoder and the CLIP tower: same outputs, gradients and
weight names as without it, fewer saved activations, off by default."""
import copy

import torch
from mmengine.config import ConfigDict
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from mmseg.registry import MODELS
from rassu_mm.models.backbones import PVTv2
from rassu_mm.models.utils.checkpointing import checkpoint_layers
from rassu_mm.models.utils.clip_utils import build_hf_model
from rassu_mm.testing import TINY_CLIP_VISION

TINY_PVT = dict(embed_dims=8, num_layers=[2, 1, 1, 1], num_heads=[1, 2, 5, 8],
                mlp_ratios=[4, 4, 4, 4], qkv_bias=True, drop_path_rate=0.3)
DECODER = dict(
    type='MSDeformAttnPixelDecoder',
    in_channels=[8, 16, 32],
    feat_channels=32,
    out_channels=32,
    strides=[4, 8, 16],
    num_outs=3,
    norm_cfg=dict(type='GN', num_groups=8),
    encoder=dict(
        num_layers=2,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=32, num_heads=4, num_levels=3,
                               num_points=2, batch_first=True),
            ffn_cfg=dict(embed_dims=32, feedforward_channels=64,
                         ffn_drop=0.2))),
    positional_encoding=dict(num_feats=16, normalize=True))


def saved_bytes(fn):
    """``(output, bytes of the tensors autograd saved for the backward
    pass)`` of ``fn()``."""
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, total[0]


def assert_same_run(plain, cp, inputs, forward=lambda m, x: m(*x)):
    """Outputs, input and weight gradients and saved bytes of the plain and
    the checkpointed module, on the same random state; returns the saved
    bytes of both."""
    results = []
    for module in (plain, cp):
        xs = [x.detach().clone().requires_grad_(x.is_floating_point())
              for x in inputs]
        torch.manual_seed(0)
        outs, saved = saved_bytes(lambda: forward(module, xs))
        outs = [outs] if torch.is_tensor(outs) else list(outs)
        sum((o * torch.randn(o.shape, generator=torch.Generator(
        ).manual_seed(i))).sum() for i, o in enumerate(outs)).backward()
        grads = [x.grad for x in xs if x.requires_grad] + [
            p.grad for p in module.parameters() if p.requires_grad]
        results.append((outs, grads, saved))
    (outs_a, grads_a, saved_a), (outs_b, grads_b, saved_b) = results
    for a, b in zip(outs_a + grads_a, outs_b + grads_b):
        if a is None or b is None:
            assert a is b
        else:
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    assert list(plain.state_dict()) == list(cp.state_dict())
    return saved_a, saved_b


def test_pvt_v2_with_cp_matches_and_saves_less():
    torch.manual_seed(1)
    plain = PVTv2(**TINY_PVT).train()
    cp = PVTv2(with_cp=True, **TINY_PVT).train()
    cp.load_state_dict(plain.state_dict())
    assert not plain.with_cp  # off by default
    saved_plain, saved_cp = assert_same_run(
        plain, cp, [torch.randn(2, 3, 64, 64)])
    assert saved_cp < 0.5 * saved_plain
    # inference: the plain forward, nothing saved
    with torch.no_grad():
        torch.testing.assert_close(cp.eval()(torch.ones(1, 3, 32, 32)),
                                   plain.eval()(torch.ones(1, 3, 32, 32)))


def flatten(outs):
    """``[mask_feature, *multi_scale]`` of a pixel decoder's outputs."""
    return [outs[0], *outs[1]]


def test_deformable_pixel_decoder_with_cp_matches_and_saves_less():
    torch.manual_seed(2)
    plain = MODELS.build(ConfigDict(DECODER))
    torch.manual_seed(2)
    mmdet = MODELS.build(
        ConfigDict(DECODER, type='mmdet.MSDeformAttnPixelDecoder'))
    # without with_cp: mmdet's decoder, weight for weight
    for (k, a), (k2, b) in zip(plain.state_dict().items(),
                               mmdet.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    cp = MODELS.build(ConfigDict(DECODER, with_cp=True))
    cp.load_state_dict(plain.state_dict())
    feats = [torch.randn(2, c, s, s) for c, s in ((8, 16), (16, 8), (32, 4))]
    saved_plain, saved_cp = assert_same_run(
        plain.train(), cp.train(), feats,
        forward=lambda m, x: flatten(m(x)))
    assert saved_cp < saved_plain


def test_clip_tower_with_cp_matches_when_frozen_and_input_needs_grad():
    plain = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           TINY_CLIP_VISION)
    cp = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                        dict(TINY_CLIP_VISION, with_cp=True))
    cp.load_state_dict(plain.state_dict())
    assert not cp.training and not any(p.requires_grad
                                       for p in cp.parameters())
    size = TINY_CLIP_VISION['image_size']
    saved_plain, saved_cp = assert_same_run(
        plain, cp, [torch.randn(2, 3, size, size)],
        forward=lambda m, x: m(pixel_values=x[0]).image_embeds)
    assert saved_cp < saved_plain


def test_checkpoint_layers_only_when_a_gradient_is_recorded():
    layer = torch.nn.Linear(4, 4)
    checkpoint_layers([layer])
    x = torch.randn(3, 4)
    with torch.no_grad():
        assert saved_bytes(lambda: layer(x))[1] == 0
    layer.requires_grad_(False)
    assert saved_bytes(lambda: layer(x))[1] == 0  # frozen, input w/o grad
    # a deep copy checkpoints its own weights
    twin = copy.deepcopy(layer).requires_grad_(True)
    twin.weight.data.zero_()
    out = twin(x.requires_grad_())
    out.sum().backward()
    assert torch.equal(out, twin.bias.expand(3, 4))
    assert twin.weight.grad is not None and layer.weight.grad is None


def test_clip_with_cp_is_not_a_transformers_field():
    model = build_hf_model(CLIPVisionModelWithProjection, CLIPVisionConfig,
                           dict(TINY_CLIP_VISION, with_cp=True))
    assert not hasattr(model.config, 'with_cp')
