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

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


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
