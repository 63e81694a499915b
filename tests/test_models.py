"""Components of the segmentation path: preprocessor, audio encoders (and
the torchvggish converter), query generator, MMI, pixel decoders, mask head.
"""
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from rassu_mm.models import (AudioCNN, AudioQueryGenerator, FPNPixelDecoder,
                             MultiModalityIntegration, SSUDataPreprocessor,
                             SSUMaskHead, VGGish)
from rassu_mm.structures import SSUDataSample

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def make_batch(sizes, num_frames=2, seed=0):
    """``pseudo_collate`` output for clips of the given (H, W) sizes."""
    gen = torch.Generator().manual_seed(seed)
    frames, audio, samples = [], [], []
    for h, w in sizes:
        frames.append(
            torch.randint(
                0,
                256, (num_frames, 3, h, w),
                generator=gen,
                dtype=torch.uint8))
        audio.append(torch.randn(num_frames, 1, 96, 64, generator=gen))
        sample = SSUDataSample(
            metainfo=dict(
                ori_shape=(h, w), img_shape=(h, w), num_frames=num_frames))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 2, (num_frames, h, w), generator=gen))
        samples.append(sample)
    return dict(inputs=dict(frames=frames, audio=audio), data_samples=samples)


class TestDataPreprocessor:

    def test_normalise_pad_stack(self):
        prep = SSUDataPreprocessor(
            mean=[10., 20., 30.], std=[2., 4., 8.], size_divisor=16)
        batch = make_batch([(20, 30), (33, 16)])
        raw = batch['inputs']['frames'][1].clone()
        out = prep(batch, training=True)
        frames, audio = out['inputs']['frames'], out['inputs']['audio']
        assert frames.shape == (4, 3, 48, 32)
        assert audio.shape == (4, 1, 96, 64)
        # frame b * T + t is frame t of clip b; BGR -> RGB, then normalised
        expected = (raw[1, [2, 1, 0]].float() -
                    torch.tensor([10., 20., 30.]).view(3, 1, 1)) / \
            torch.tensor([2., 4., 8.]).view(3, 1, 1)
        torch.testing.assert_close(frames[3, :, :33, :16], expected)
        assert (frames[3, :, :, 16:] == 0).all()
        sample = out['data_samples'][0]
        assert sample.img_shape == (20, 30)
        assert sample.pad_shape == (48, 32)
        assert sample.padding_size == (0, 2, 0, 28)
        gt = sample.gt_sem_seg.data
        assert gt.shape == (2, 48, 32)
        assert (gt[:, 20:] == 255).all() and (gt[:, :, 30:] == 255).all()

    def test_test_mode_keeps_ground_truth_size(self):
        prep = SSUDataPreprocessor(size=(64, 64))
        out = prep(make_batch([(40, 50)]), training=False)
        assert out['inputs']['frames'].shape == (2, 3, 64, 64)
        sample = out['data_samples'][0]
        assert sample.gt_sem_seg.shape == (40, 50)
        assert sample.pad_shape == (64, 64)

    def test_rejects_clips_of_different_lengths(self):
        batch = make_batch([(16, 16)], num_frames=2)
        batch['inputs']['frames'].append(
            torch.zeros(3, 3, 16, 16, dtype=torch.uint8))
        with pytest.raises(AssertionError, match='number of frames'):
            SSUDataPreprocessor()(batch)


def torchvggish_reference():
    """The torchvggish ``VGG`` module, written out as in torchvggish."""
    layers, in_channels = [], 1
    for v in [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M']:
        if v == 'M':
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [
                nn.Conv2d(in_channels, v, 3, padding=1),
                nn.ReLU(inplace=True)
            ]
            in_channels = v
    features = nn.Sequential(*layers)
    embeddings = nn.Sequential(
        nn.Linear(512 * 4 * 6, 4096), nn.ReLU(True), nn.Linear(4096, 4096),
        nn.ReLU(True), nn.Linear(4096, 128), nn.ReLU(True))

    class VGG(nn.Module):

        def __init__(self):
            super().__init__()
            self.features = features
            self.embeddings = embeddings

        def forward(self, x):
            x = self.features(x)
            x = torch.transpose(x, 1, 3)
            x = torch.transpose(x, 1, 2)
            x = x.contiguous().view(x.size(0), -1)
            return self.embeddings(x)

    return VGG()


class TestAudioEncoders:

    def test_vggish_frozen(self):
        model = VGGish(frozen=True)
        assert not any(p.requires_grad for p in model.parameters())
        model.train()
        assert not model.training
        out = model(torch.randn(3, 1, 96, 64))
        assert out.shape == (3, 128)
        assert all(p.requires_grad for p in VGGish(frozen=False).parameters())

    def test_converter_matches_torchvggish(self, tmp_path):
        torch.manual_seed(0)
        reference = torchvggish_reference().eval()
        state = reference.state_dict()
        # a torchvggish model saved with its PCA post-processor
        state['pproc._pca_matrix'] = torch.randn(128, 128)
        state['pproc._pca_means'] = torch.randn(128, 1)
        src, dst = tmp_path / 'vggish-10086976.pth', tmp_path / 'conv.pth'
        torch.save(state, src)
        subprocess.run([
            sys.executable,
            osp.join(REPO, 'tools/model_converters/vggish2mmseg.py'),
            str(src),
            str(dst)
        ],
                       check=True,
                       cwd=REPO)
        model = VGGish(init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
        model.init_weights()
        audio = torch.randn(2, 1, 96, 64)
        with torch.no_grad():
            torch.testing.assert_close(model(audio), reference(audio))

    def test_converter_rejects_unknown_keys(self):
        sys.path.insert(0, osp.join(REPO, 'tools/model_converters'))
        try:
            from vggish2mmseg import convert_vggish
        finally:
            sys.path.pop(0)
        state = torchvggish_reference().state_dict()
        with pytest.raises(KeyError, match='unexpected'):
            convert_vggish(dict(state, **{'features.1.weight': None}))
        state.pop('embeddings.4.bias')
        with pytest.raises(KeyError, match='lack'):
            convert_vggish(state)

    def test_audio_cnn(self):
        model = AudioCNN(embed_dims=32, channels=(8, 16))
        assert model(torch.randn(4, 1, 96, 64)).shape == (4, 32)


class TestFusion:

    def test_query_generator_depends_on_audio(self):
        gen = AudioQueryGenerator(in_channels=16, embed_dims=32, num_queries=5)
        queries, pos = gen(torch.randn(3, 16))
        assert queries.shape == pos.shape == (3, 5, 32)
        assert not torch.allclose(queries[0], queries[1])
        torch.testing.assert_close(pos[0], pos[1])

    def test_mmi_shapes_and_cross_modal_flow(self):
        torch.manual_seed(0)
        mmi = MultiModalityIntegration(
            embed_dims=32, num_layers=2, num_heads=4).eval()
        video = torch.randn(1, 32, 3, 4).expand(2, -1, -1, -1)
        audio = torch.randn(2, 5, 32)
        pos = torch.randn(2, 5, 32)
        v, a = mmi(video, audio, pos)
        assert v.shape == (2, 12, 32) and a.shape == (2, 5, 32)
        # the same frame with different audio gives different video tokens
        assert not torch.allclose(v[0], v[1])
        # and audio tokens see the video
        v2, a2 = mmi(video + 1, audio, pos)
        assert not torch.allclose(a, a2)


def tiny_head(num_classes=2, pixel_decoder=None, num_levels=2):
    return SSUMaskHead(
        in_channels=[8, 16, 32],
        feat_channels=32,
        out_channels=32,
        num_classes=num_classes,
        num_queries=4,
        num_transformer_feat_level=num_levels,
        pixel_decoder=pixel_decoder or dict(
            type='FPNPixelDecoder',
            num_outs=num_levels,
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
            sampler=dict(type='mmdet.MaskPseudoSampler')))


def backbone_feats(num=3, size=32):
    return [
        torch.randn(num, c, size // s, size // s)
        for c, s in ((8, 4), (16, 8), (32, 16))
    ]


class TestMaskHead:

    def test_fpn_pixel_decoder(self):
        dec = FPNPixelDecoder([8, 16, 32],
                              24,
                              12,
                              num_outs=2,
                              norm_cfg=dict(type='GN', num_groups=4))
        mask_feat, outs = dec(backbone_feats())
        assert mask_feat.shape == (3, 12, 8, 8)
        assert [o.shape[-1] for o in outs] == [2, 4]  # low to high

    @pytest.mark.parametrize('num_classes', [2, 4])
    def test_loss_and_predict(self, num_classes):
        torch.manual_seed(0)
        head = tiny_head(num_classes)
        mask_feat, multi_scale = head.pixel_decoder(backbone_feats())
        queries, pos = torch.randn(3, 4, 32), torch.randn(3, 4, 32)
        cls_scores, mask_preds = head(mask_feat, multi_scale, queries, pos)
        assert len(cls_scores) == len(mask_preds) == 3
        assert cls_scores[-1].shape == (3, 4, num_classes + 1)
        assert mask_preds[-1].shape == (3, 4, 8, 8)

        gt = torch.randint(0, num_classes, (3, 32, 32))
        gt[0] = 255  # a fully ignored frame has no targets
        gt[1, :16] = 0  # frame 1 has background
        losses = head.loss(cls_scores, mask_preds, gt)
        assert {
            'loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_cls', 'd1.loss_dice'
        } <= set(losses)
        assert all(torch.isfinite(v) for v in losses.values())

        scores = head.predict(cls_scores, mask_preds)
        assert scores.shape == (3, num_classes, 8, 8)
        logits = SSUMaskHead.scores_to_logits(scores)
        assert logits.shape == (3, 8, 8)
        background_wins = scores[:, 0] > scores[:, 1:].sum(1)
        assert ((logits < 0) == background_wins).all()

    def test_targets_from_label_map(self):
        head = tiny_head(num_classes=4)
        gt = torch.tensor([[0, 3, 255], [3, 3, 0]])
        inst = head._sem_seg_to_instances(gt)
        assert inst.labels.tolist() == [0, 3]
        assert inst.masks.tolist() == [[[1, 0, 0], [0, 0, 1]],
                                       [[0, 1, 0], [1, 1, 0]]]

    def test_deformable_pixel_decoder_runs_on_cpu(self):
        head = tiny_head(
            num_levels=3,
            pixel_decoder=dict(
                type='mmdet.MSDeformAttnPixelDecoder',
                strides=[4, 8, 16],
                num_outs=3,
                norm_cfg=dict(type='GN', num_groups=8),
                encoder=dict(
                    num_layers=1,
                    layer_cfg=dict(
                        self_attn_cfg=dict(
                            embed_dims=32,
                            num_heads=4,
                            num_levels=3,
                            num_points=2,
                            batch_first=True),
                        ffn_cfg=dict(embed_dims=32, feedforward_channels=64))),
                positional_encoding=dict(num_feats=16, normalize=True)))
        head.init_weights()
        mask_feat, multi_scale = head.pixel_decoder(
            backbone_feats(num=2, size=64))
        assert mask_feat.shape == (2, 32, 16, 16)
        assert [f.shape[-1] for f in multi_scale] == [4, 8, 16]
        cls_scores, mask_preds = head(mask_feat, multi_scale,
                                      torch.randn(2, 4, 32),
                                      torch.randn(2, 4, 32))
        loss = sum(
            head.loss(cls_scores, mask_preds,
                      torch.randint(0, 2, (2, 64, 64))).values())
        loss.backward()


def test_models_are_registered():
    for name in ('SSUDataPreprocessor', 'VGGish', 'AudioCNN',
                 'AudioQueryGenerator', 'MultiModalityIntegration',
                 'FPNPixelDecoder', 'SSUMaskHead', 'SSUFormer'):
        assert MODELS.get(name) is not None, name
