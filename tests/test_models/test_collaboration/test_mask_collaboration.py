import itertools
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from mmseg.registry import MODELS

from rassu_mm.models.utils.clip_utils import CLIP_MEAN, CLIP_STD
from rassu_mm.models.collaboration import MaskCollaborationModule
from rassu_mm.structures import SSUDataSample
from rassu_mm.testing import REPO_ROOT
from rassu_mm.testing import TINY_CLIP_VISION as TINY_CLIP

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)
B, T, H, W, L, C = 2, 2, 40, 48, 5, 24


@pytest.fixture
def inputs():
    torch.manual_seed(0)
    return (torch.randn(B * T, 3, H, W), torch.randn(B * T, 10, 12),
            torch.randn(B * T, L, C))


def _mcm(**kwargs):
    torch.manual_seed(0)
    return MaskCollaborationModule(C, clip=TINY_CLIP, **kwargs)


def _clip_images(frames):
    """Direct CLIP preprocessing of data-preprocessor frames."""
    rgb = (frames * torch.tensor(STD).view(1, 3, 1, 1) +
           torch.tensor(MEAN).view(1, 3, 1, 1)) / 255.
    rgb = F.interpolate(rgb, size=(32, 32), mode='bilinear',
                        align_corners=False)
    return ((rgb - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) /
            torch.tensor(CLIP_STD).view(1, 3, 1, 1))


def _samples(gt):
    samples = []
    for b in range(B):
        ds = SSUDataSample()
        ds.gt_sem_seg = PixelData(data=gt[b * T:(b + 1) * T])
        samples.append(ds)
    return samples


@pytest.mark.parametrize('mode', ['pool', 'masked_image'])
def test_shapes_and_frozen_clip(inputs, mode):
    frames, logits, memory = inputs
    mcm = _mcm(mode=mode).train()
    assert not mcm.clip.training
    memory.requires_grad_(True)
    out = mcm(frames, logits, memory)
    assert out['memory'].shape == (B * T, L, C)
    assert out['region_embeds'].shape == (B * T, 16)
    (out['memory'].sum() + out['region_embeds'].sum()).backward()
    assert all(p.grad is None for p in mcm.clip.parameters())
    assert all(not p.requires_grad for p in mcm.clip.parameters())
    assert all(p.grad is not None for p in mcm.proj.parameters())
    assert memory.grad is not None


def test_full_mask_pools_all_patches(inputs):
    frames, _, memory = inputs
    mcm = _mcm(mode='pool').eval()
    full = torch.full((B * T, 10, 12), 30.)
    out = mcm(frames, full, memory)
    clip = mcm.clip
    tokens = clip.vision_model.post_layernorm(
        clip.vision_model(pixel_values=_clip_images(frames))
        .last_hidden_state[:, 1:])
    region = tokens.mean(1)
    torch.testing.assert_close(out['region_embeds'],
                               clip.visual_projection(region))
    torch.testing.assert_close(out['memory'],
                               memory + mcm.proj(region)[:, None])


def test_masked_image_mode_full_mask_is_clip_embedding(inputs):
    frames, _, memory = inputs
    mcm = _mcm(mode='masked_image').eval()
    out = mcm(frames, torch.full((B * T, 10, 12), 30.), memory)
    ref = mcm.clip(pixel_values=_clip_images(frames))
    torch.testing.assert_close(out['region_embeds'], ref.image_embeds,
                               atol=1e-5, rtol=1e-4)
    cls_token = mcm.clip.vision_model.post_layernorm(
        ref.last_hidden_state[:, 0])
    torch.testing.assert_close(out['memory'],
                               memory + mcm.proj(cls_token)[:, None],
                               atol=1e-5, rtol=1e-4)


def _paper_mcm():
    """The paper config's MCM with a tiny random CLIP."""
    model = Config.fromfile(
        osp.join(REPO_ROOT,
                 'configs/_base_/models/ssuformer_pvtv2_b5_caption.py')).model
    # what SSUFormer fills in (the mask head's ignore_index: its default)
    cfg = dict(model.mask_collaboration, clip=TINY_CLIP, pretrained=None,
               embed_dims=C, mean=model.data_preprocessor.mean,
               std=model.data_preprocessor.std, ignore_index=255)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.mark.parametrize('train', [False, True])
def test_paper_mcm_ignores_pixels_outside_a_confident_mask(inputs, train):
    """Non-sounding pixels are replaced before resizing and patch
    embedding, so they cannot reach CLIP."""
    frames, _, memory = inputs
    mcm = _paper_mcm().train(train)
    assert mcm.mode == 'masked_image'
    logits = torch.full((B * T, 10, 12), 30.)
    logits[..., :6] = -30.  # the left half of every frame is silent
    logits.requires_grad_(train)
    out = mcm(frames, logits, memory)
    changed = frames.clone()
    changed[..., :W // 3] = torch.randn(B * T, 3, H, W // 3) * 5
    out_changed = mcm(changed, logits, memory)
    assert torch.equal(out['region_embeds'], out_changed['region_embeds'])
    assert torch.equal(out['memory'], out_changed['memory'])
    # the same change inside the mask reaches both outputs
    inside = frames.clone()
    inside[..., -W // 3:] = changed[..., :W // 3]
    out_inside = mcm(inside, logits, memory)
    assert (out_inside['region_embeds'] - out['region_embeds']).abs().max() \
        > 1e-4
    assert (out_inside['memory'] - out['memory']).abs().max() > 1e-4


def test_masked_image_runs_clip_once_per_frame(inputs):
    """One CLIP pass serves the memory and the region embedding, also
    when the region embedding carries the mask gradient."""
    frames, logits, memory = inputs
    mcm = _mcm(mode='masked_image').train()
    calls = []
    mcm.clip.vision_model.register_forward_hook(
        lambda module, args, out: calls.append(len(out.last_hidden_state)))
    logits.requires_grad_(True)
    out = mcm(frames, logits, memory)
    assert calls == [B * T]
    out['region_embeds'].sum().backward()
    assert logits.grad.abs().sum() > 0
    assert calls == [B * T]


def test_masked_image_needs_a_frozen_clip():
    with pytest.raises(ValueError, match='frozen'):
        _mcm(mode='masked_image', frozen=False)


def test_mask_selects_region(inputs):
    frames, _, memory = inputs
    mcm = _mcm(mode='pool').eval()
    left = torch.full((B * T, 10, 12), -30.)
    left[..., :6] = 30.
    out = mcm(frames, left, memory)
    tokens = mcm.clip.vision_model.post_layernorm(
        mcm.clip.vision_model(pixel_values=_clip_images(frames))
        .last_hidden_state[:, 1:]).view(B * T, 4, 4, -1)
    ref = mcm.clip.visual_projection(tokens[:, :, :2].mean((1, 2)))
    torch.testing.assert_close(out['region_embeds'], ref, atol=1e-5,
                               rtol=1e-4)


@pytest.mark.parametrize('mode', ['pool', 'masked_image'])
def test_undetached_mask_gets_rcc_gradient(inputs, mode):
    frames, logits, memory = inputs
    logits.requires_grad_(True)
    _mcm(mode=mode)(frames, logits,
                     memory)['region_embeds'].sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_load_pretrained_folder(tmp_path):
    torch.manual_seed(1)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(**TINY_CLIP))
    model.save_pretrained(tmp_path)
    # built offline from the folder's config; weights come in init_weights
    mcm = MaskCollaborationModule(C, pretrained=str(tmp_path))
    assert mcm.clip.config.hidden_size == TINY_CLIP['hidden_size']
    mcm.init_weights()
    for name, param in model.state_dict().items():
        torch.testing.assert_close(mcm.clip.state_dict()[name], param)
    assert all(not p.requires_grad for p in mcm.clip.parameters())


def test_gt_mask_schedule(inputs):
    frames, logits, memory = inputs
    gt = torch.zeros(B * T, H - 8, W - 8, dtype=torch.long)  # unpadded gt
    gt[:, 4:20, 8:30] = 1
    gt[0, 0, 0] = 255  # ignore counts as not sounding
    samples = _samples(gt)
    gt_logits = (F.pad((gt == 1).float(), (0, 8, 0, 8)) * 2 - 1) * 30
    mcm = _mcm(gt_mask_schedule=dict(end_iter=100), ignore_index=255).train()
    hub = MessageHub.get_current_instance()
    expected_gt = mcm(frames, gt_logits, memory)
    expected_pred = mcm(frames, logits, memory)

    # the ground-truth masks (logits +-30) move every frame's memory far
    # from the predicted masks' memory
    gap = (expected_gt['memory'] - expected_pred['memory']).abs()
    assert (gap.flatten(1).amax(1) > 1e-2).all()

    def frames_using_gt(out):
        """Per frame: True if it took the ground-truth mask, False if the
        predicted one (each frame must match one of them)."""
        used = []
        for i in range(B * T):
            if torch.allclose(out['memory'][i], expected_gt['memory'][i],
                              atol=1e-5, rtol=1e-4):
                used.append(True)
            else:
                torch.testing.assert_close(out['memory'][i],
                                           expected_pred['memory'][i])
                used.append(False)
        return used

    # p = 1 at iteration 0: every frame; p = 0 from end_iter on: none
    hub.update_info('iter', 0)
    assert frames_using_gt(mcm(frames, logits, memory, samples)) == [
        True] * (B * T)
    for it in (100, 150):
        hub.update_info('iter', it)
        assert frames_using_gt(mcm(frames, logits, memory, samples)) == [
            False] * (B * T)
    # 0 < p < 1: one Bernoulli(p) draw per frame (not per clip or batch),
    # p = 1 - iter / end_iter; the draws are those of the global generator,
    # so the same seed gives the same frames
    patterns = []
    for it, seed in itertools.product((25, 50, 75), range(4)):
        hub.update_info('iter', it)
        torch.manual_seed(seed)
        expected = (torch.rand(B * T) < 1 - it / 100).tolist()
        torch.manual_seed(seed)
        assert frames_using_gt(
            mcm(frames, logits, memory, samples)) == expected, (it, seed)
        patterns.append(expected)
    # these draws include clips whose frames differ (a per-clip draw would
    # fail above)
    assert any(
        len(set(p[b * T:(b + 1) * T])) > 1 for p in patterns for b in range(B))
    hub.update_info('iter', 0)
    mcm.eval()
    out = mcm(frames, logits, memory, samples)
    torch.testing.assert_close(out['memory'], expected_pred['memory'])


@pytest.mark.parametrize('mode', ['pool', 'masked_image'])
def test_memory_path_detaches_the_mask(inputs, mode):
    """Only region_embeds (RCC) carry gradient to the mask logits."""
    frames, logits, memory = inputs
    logits.requires_grad_(True)
    out = _mcm(mode=mode)(frames, logits, memory)
    out['memory'].sum().backward(retain_graph=True)
    assert logits.grad is None or logits.grad.abs().sum() == 0
    out['region_embeds'].sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_gt_masks_ignore_the_mask_heads_label(inputs):
    """Ground-truth pixels of ``ignore_index`` count as not sounding; the
    schedule needs the label."""
    frames, logits, memory = inputs
    gt = torch.full((B * T, H, W), 7, dtype=torch.long)  # all ignored
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    silent = (torch.zeros(B * T, H, W) - 1) * 30
    mcm = _mcm(gt_mask_schedule=dict(end_iter=100), ignore_index=7).train()
    torch.testing.assert_close(
        mcm(frames, logits, memory, _samples(gt))['memory'],
        mcm(frames, silent, memory)['memory'])
    with pytest.raises(ValueError, match='ignore_index'):
        _mcm(gt_mask_schedule=dict(end_iter=100))
