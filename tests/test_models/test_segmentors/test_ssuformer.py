"""SSUFormer: gradients, predict shapes, audio switch, tensor mode and the
caption-branch contract (docs/data_contract.md), on tiny random models."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModule
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from rassu_mm.structures import SSUDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

TINY_MODEL = dict(
    type='SSUFormer',
    data_preprocessor=dict(
        type='SSUDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        size_divisor=16),
    embed_dims=32,
    num_queries=4,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=3,
        stem_channels=8,
        base_channels=8,
        out_indices=(0, 1, 2),
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        # mmseg's default zero-inits the last BN of each residual branch,
        # which blocks the gradient to the branch at initialisation
        zero_init_residual=False),
    audio_encoder=dict(type='AudioCNN', embed_dims=16, channels=(8, 8)),
    query_generator=dict(type='AudioQueryGenerator'),
    fusion=dict(
        type='MultiModalityIntegration',
        num_layers=1,
        num_heads=4,
        feedforward_channels=64),
    decode_head=dict(
        type='SSUMaskHead',
        in_channels=[8, 16, 32],
        num_classes=2,
        num_transformer_feat_level=2,
        pixel_decoder=dict(
            type='FPNPixelDecoder',
            num_outs=2,
            norm_cfg=dict(type='GN', num_groups=8)),
        transformer_decoder=dict(
            num_layers=2,
            layer_cfg=dict(
                self_attn_cfg=dict(num_heads=4, batch_first=True),
                cross_attn_cfg=dict(num_heads=4, batch_first=True),
                ffn_cfg=dict(feedforward_channels=64))),
        train_cfg=dict(
            num_points=64,
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=2.0),
                    dict(
                        type='mmdet.FocalLossCost',
                        weight=20.0,
                        binary_input=True),
                    dict(
                        type='mmdet.DiceCost',
                        weight=5.0,
                        pred_act=True,
                        eps=1.0)
                ]),
            sampler=dict(type='mmdet.MaskPseudoSampler'))))


def build_model(**overrides):
    """The tiny model; a dict override without ``type`` updates the
    component config, anything else replaces it."""
    cfg = copy.deepcopy(TINY_MODEL)
    for key, value in overrides.items():
        if isinstance(value, dict) and 'type' not in value:
            cfg[key].update(value)
        else:
            cfg[key] = value
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_clip(height, width, num_frames=2, num_classes=2, seed=0, **meta):
    """One packed clip (``PackSSUInputs`` output) with random content."""
    gen = torch.Generator().manual_seed(seed)
    sample = SSUDataSample(
        metainfo=dict(
            ori_shape=meta.pop('ori_shape', (height, width)),
            img_shape=(height, width),
            num_frames=num_frames,
            **meta))
    sample.gt_sem_seg = PixelData(
        data=torch.randint(
            0, num_classes, (num_frames, height, width), generator=gen))
    sample.gt_captions = ['a caption'] * num_frames
    frames = torch.randint(
        0,
        256, (num_frames, 3, height, width),
        generator=gen,
        dtype=torch.uint8)
    audio = torch.randn(num_frames, 1, 96, 64, generator=gen)
    return frames, audio, sample


def collate(clips):
    return dict(
        inputs=dict(frames=[c[0] for c in clips], audio=[c[1] for c in clips]),
        data_samples=[c[2] for c in clips])


def test_gradients_reach_every_trainable_parameter():
    model = build_model()
    model.train()
    data = model.data_preprocessor(
        collate([make_clip(32, 48, seed=1),
                 make_clip(40, 32, seed=2)]),
        training=True)
    losses = model(**data, mode='loss')
    assert any(k.startswith('decode.d0.') for k in losses)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad]
    assert len(trainable) > 50
    no_grad = [
        n for n, p in trainable if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert no_grad == []


def test_frozen_audio_encoder_gets_no_gradient():
    model = build_model(audio_encoder=dict(type='VGGish', frozen=True))
    data = model.data_preprocessor(collate([make_clip(32, 32)]), True)
    model.parse_losses(model(**data, mode='loss'))[0].backward()
    assert all(p.grad is None for p in model.audio_encoder.parameters())
    assert all(p.grad is not None for p in model.fusion.parameters())


@pytest.mark.parametrize('num_classes', [2, 5])
def test_predict_at_original_size(num_classes):
    model = build_model(decode_head=dict(num_classes=num_classes)).eval()
    clips = [
        make_clip(40, 56, num_classes=num_classes, ori_shape=(80, 112)),
        make_clip(
            64,
            48,
            num_classes=num_classes,
            seed=3,
            ori_shape=(61, 47),
            flip=True,
            flip_direction='horizontal'),
    ]
    data = model.data_preprocessor(collate(clips), training=False)
    assert data['inputs']['frames'].shape == (4, 3, 64, 64)
    with torch.no_grad():
        results = model(**data, mode='predict')
    for sample, ori_shape in zip(results, [(80, 112), (61, 47)]):
        logits = sample.seg_logits.data
        pred = sample.pred_sem_seg.data
        assert logits.shape == pred.shape == (2, ) + ori_shape
        assert logits.dtype == torch.float32 and pred.dtype == torch.long
        assert torch.isfinite(logits).all()
        assert pred.min() >= 0 and pred.max() < num_classes
        assert ((pred > 0) == (logits > 0)).float().mean() > 0.99 \
            if num_classes == 2 else True
        assert 'pred_captions' not in sample


def test_postprocess_undoes_padding_and_flip():
    model = build_model()
    scores = torch.zeros(1, 2, 16, 16)
    scores[:, 1] = 1.0
    scores[:, 1, :, :4] = 3.0  # left quarter of the padded frame
    sample = SSUDataSample(
        metainfo=dict(
            img_shape=(32, 32),
            pad_shape=(64, 64),
            ori_shape=(32, 32),
            flip=True,
            flip_direction='horizontal'))
    (sample, ) = model.postprocess_result(scores, [sample])
    logits = sample.seg_logits.data[0]
    assert logits.shape == (32, 32)
    # the crop keeps the top-left 32x32; the flip moves column 0 right
    assert logits[:, -1].mean() > logits[:, 0].mean() + 0.5


def test_zero_audio_switch():
    clips = [make_clip(32, 32, seed=4)]
    other_audio = [make_clip(32, 32, seed=5)[1]]

    def predict(model, audio):
        data = collate(copy.deepcopy(clips))
        data['inputs']['audio'] = audio
        data = model.data_preprocessor(data, False)
        with torch.no_grad():
            return model(**data, mode='tensor')[0]

    model = build_model().eval()
    assert not torch.allclose(
        predict(model, [clips[0][1]]), predict(model, other_audio))
    model = build_model(zero_audio=True).eval()
    torch.testing.assert_close(
        predict(model, [clips[0][1]]), predict(model, other_audio))


def test_tensor_mode_and_flops():
    from mmengine.analysis import FlopAnalyzer
    model = build_model().eval()
    data = model.data_preprocessor(collate([make_clip(32, 32)]), False)
    scores, memory = model(data['inputs'], mode='tensor')
    assert scores.shape == (2, 2, 8, 8)
    # memory: fused visual tokens (32 / 16)^2 = 4, then 4 query tokens
    assert memory.shape == (2, 4 + 4, 32)
    analyzer = FlopAnalyzer(model, (data['inputs'], ))
    analyzer.unsupported_ops_warnings(False)
    assert analyzer.total() > 1e6


@MODELS.register_module()
class RecordingNeck(BaseModule):
    """A stand-in MCM neck that records its inputs."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(32, 32)
        self.calls = []

    def forward(self, frames, mask_logits, memory, data_samples):
        self.calls.append((frames, mask_logits, memory, data_samples))
        return dict(
            memory=self.proj(memory),
            region_embeds=mask_logits.flatten(1).mean(1, True))


@MODELS.register_module()
class RecordingCaptionHead(BaseModule):
    """A stand-in caption head following the contract."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.inputs = []

    def loss(self, neck_outs, data_samples):
        self.inputs.append(neck_outs)
        return dict(loss_caption=self.scale * neck_outs['memory'].mean())

    def predict(self, neck_outs, data_samples):
        self.inputs.append(neck_outs)
        return [[f'clip {i} frame {t}' for t in range(s.num_frames)]
                for i, s in enumerate(data_samples)]


@pytest.mark.parametrize('with_neck', [True, False])
def test_caption_branch_contract(with_neck):
    model = build_model(
        neck=dict(type='RecordingNeck') if with_neck else None,
        caption_head=dict(type='RecordingCaptionHead'))
    data = model.data_preprocessor(
        collate([make_clip(32, 32),
                 make_clip(32, 32, seed=1)]), True)
    losses = model(**data, mode='loss')
    assert 'loss_caption' in losses and 'decode.loss_cls' in losses
    neck_outs = model.caption_head.inputs[-1]
    assert neck_outs['memory'].shape == (4, 8, 32)
    if with_neck:
        frames, mask_logits, memory, samples = model.neck.calls[-1]
        assert frames is data['inputs']['frames']
        assert mask_logits.shape == (4, 8, 8)
        assert mask_logits.requires_grad  # the neck detaches its memory path
        assert memory.shape == (4, 8, 32) and memory.requires_grad
        assert samples is data['data_samples']
    else:
        assert neck_outs['region_embeds'] is None

    model.eval()
    data = model.data_preprocessor(collate([make_clip(32, 32)]), False)
    with torch.no_grad():
        (sample, ) = model(**data, mode='predict')
    assert sample.pred_captions == ['clip 0 frame 0', 'clip 0 frame 1']
    assert sample.pred_sem_seg.shape == (32, 32)


def test_demo_config_builds_and_trains_one_step():
    cfg = Config.fromfile(osp.join(REPO, 'configs/ssuformer_demo_seg.py'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    clips = [make_clip(64, 64, num_frames=5, seed=i) for i in range(2)]
    data = model.data_preprocessor(collate(clips), True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)


CLIP_B16_VISION = dict(
    hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
    num_attention_heads=12, image_size=224, patch_size=16,
    projection_dim=512)
CLIP_B16_TEXT = dict(
    hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
    num_attention_heads=8, projection_dim=512)


@pytest.mark.slow
@pytest.mark.parametrize(
    'config',
    ['configs/ssuformer_f_music.py', 'configs/ssuformer_f_lifescene.py'])
def test_paper_configs_build(config, tmp_path):
    """The paper configs build the full model. CLIP ViT-B/16 cannot be
    downloaded here, so same-sized random CLIP towers replace the hub name
    and a small tokenizer replaces the dataset's."""
    from rassu_mm.models.tokenization import train_caption_tokenizer
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert cfg.model.audio_encoder.init_cfg.type == 'Pretrained'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.model.neck.pretrained == 'openai/clip-vit-base-patch16'
    # the config's class hierarchy is the dataset's (no drift)
    from mmseg.registry import DATASETS
    meta = DATASETS.get(cfg.train_dataloader.dataset.type).METAINFO
    assert list(cfg.model.caption_head.classes) == list(meta['classes'])
    assert cfg.model.caption_head.super_categories == {
        k: list(v) for k, v in meta['super_categories'].items()}
    train_caption_tokenizer(['a violin is playing.'],
                            vocab_size=50).save_pretrained(str(tmp_path))
    cfg.model.neck.pretrained = None
    cfg.model.neck.clip = CLIP_B16_VISION
    head = cfg.model.caption_head
    head.tokenizer = str(tmp_path)
    head.loss_rcc.update(pretrained=None, clip=CLIP_B16_TEXT,
                         tokenizer=str(tmp_path))
    model = MODELS.build(cfg.model)
    num_params = sum(p.numel() for p in model.parameters())
    assert 300e6 < num_params < 450e6
