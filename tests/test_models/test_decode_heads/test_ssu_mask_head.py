"""Pixel decoders and SSUMaskHead: decoder outputs, targets from label maps,
losses (equal to mmdet's per-frame path), frames without ground truth,
MaskFormer inference."""
import pytest
import torch
from mmdet.models.dense_heads import Mask2FormerHead
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData

from mmseg.registry import MODELS, TASK_UTILS
from rassu_mm.models import FPNPixelDecoder, SSUMaskHead
from rassu_mm.structures import SSUDataSample
from rassu_mm.testing import tiny_model_cfg


def tiny_head(num_classes=2, num_levels=2):
    """The decode head of the tiny demo model (``rassu_mm.testing``), with
    the sizes the segmentor fills in: token size 32, 4 queries."""
    cfg = tiny_model_cfg(decode_head=dict(num_classes=num_classes))
    return MODELS.build(
        dict(
            cfg.decode_head,
            feat_channels=cfg.embed_dims,
            out_channels=cfg.embed_dims,
            num_queries=cfg.num_queries,
            num_transformer_feat_level=num_levels))


def backbone_feats(num=3, size=32):
    return [
        torch.randn(num, c, size // s, size // s)
        for c, s in ((8, 4), (16, 8), (32, 16))
    ]


def head_inputs(num=3, num_levels=2, size=32, requires_grad=False):
    """What the fusion hands the head: mask feature [N, 32, size/4,
    size/4], maps low to high resolution, queries and positions."""
    gen = torch.Generator().manual_seed(1)
    sizes = [size // 16, size // 8, size // 4][-num_levels - 1:-1]
    x = dict(
        mask_features=torch.randn(num, 32, size // 4, size // 4,
                                  generator=gen),
        feats=[torch.randn(num, 32, s, s, generator=gen) for s in sizes],
        queries=torch.randn(num, 4, 32, generator=gen),
        query_pos=torch.randn(num, 4, 32, generator=gen))
    if requires_grad:
        x['queries'].requires_grad_(True)
    return x


def samples_of(gt_frames, clips=1):
    """``clips`` SSUDataSamples splitting the label maps ``[N, H, W]``."""
    num = len(gt_frames) // clips
    samples = []
    for b in range(clips):
        sample = SSUDataSample()
        sample.gt_sem_seg = PixelData(data=gt_frames[b * num:(b + 1) * num])
        samples.append(sample)
    return samples


class TestPixelDecoders:

    def test_fpn_pixel_decoder(self):
        dec = FPNPixelDecoder([8, 16, 32],
                              24,
                              12,
                              num_outs=2,
                              norm_cfg=dict(type='GN', num_groups=4))
        mask_feat, outs = dec(backbone_feats())
        assert mask_feat.shape == (3, 12, 8, 8)
        assert [o.shape[-1] for o in outs] == [2, 4]  # low to high

    def test_deformable_pixel_decoder_runs_on_cpu(self):
        # the segmentor builds it like this (nested configs as attributes)
        dec = MODELS.build(
            ConfigDict(
                type='mmdet.MSDeformAttnPixelDecoder',
                in_channels=[8, 16, 32],
                feat_channels=32,
                out_channels=32,
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
                        ffn_cfg=dict(embed_dims=32,
                                     feedforward_channels=64))),
                positional_encoding=dict(num_feats=16, normalize=True)))
        dec.init_weights()
        mask_feat, multi_scale = dec(backbone_feats(num=2, size=64))
        assert mask_feat.shape == (2, 32, 16, 16)
        assert [f.shape[-1] for f in multi_scale] == [4, 8, 16]
        head = tiny_head(num_levels=3)
        x = dict(
            mask_features=mask_feat,
            feats=multi_scale,
            queries=torch.randn(2, 4, 32),
            query_pos=torch.randn(2, 4, 32))
        loss = sum(
            head.loss(head(x), samples_of(torch.randint(
                0, 2, (2, 64, 64)))).values())
        loss.backward()
        assert all(p.grad is not None for p in dec.parameters())


class TestMaskHead:

    @pytest.mark.parametrize('num_classes', [2, 4])
    def test_loss_and_predict(self, num_classes):
        torch.manual_seed(0)
        head = tiny_head(num_classes)
        outs = head(head_inputs())
        cls_scores, mask_preds = outs
        assert len(cls_scores) == len(mask_preds) == 3
        assert cls_scores[-1].shape == (3, 4, num_classes + 1)
        assert mask_preds[-1].shape == (3, 4, 8, 8)

        gt = torch.randint(0, num_classes, (3, 32, 32))
        gt[1, :16] = 0  # frame 1 has background
        losses = head.loss(outs, samples_of(gt))
        assert {
            'loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_cls', 'd1.loss_dice'
        } <= set(losses)
        assert all(torch.isfinite(v) for v in losses.values())

        scores = head.predict(outs)
        assert scores.shape == (3, num_classes, 8, 8)
        logits = SSUMaskHead.scores_to_logits(scores)
        assert logits.shape == (3, 8, 8)
        background_wins = scores[:, 0] > scores[:, 1:].sum(1)
        assert ((logits < 0) == background_wins).all()

    def test_targets_from_label_maps(self):
        """One slot per class present in a frame, ascending, padded with
        the no-object class; frames all ignore_index are left out."""
        head = tiny_head(num_classes=4)
        gt = torch.tensor([[[0, 3, 255], [3, 3, 0]], [[255] * 3] * 2,
                           [[2, 2, 2], [2, 255, 2]]])
        gts = head._frame_classes(gt)
        assert gts.has_gt and gts.keep.tolist() == [0, 2]
        assert gts.labels.tolist() == [[0, 3], [2, 4]]
        assert gts.num_gts.tolist() == [2, 1]
        none = head._frame_classes(torch.full((2, 3, 3), 255))
        assert not none.has_gt and none.keep.tolist() == [0, 1]
        assert none.num_gts.tolist() == [0, 0]

    @pytest.mark.parametrize('num_classes,importance', [(2, 0.75),
                                                        (6, 0.75),
                                                        (4, 1.0)])
    def test_losses_equal_mmdet_per_frame_path(self, num_classes,
                                               importance):
        """Bit for bit the losses, gradients and random draws of mmdet's
        per-frame, per-layer targets (HungarianAssigner, MaskPseudoSampler,
        Mask2FormerHead.loss_by_feat): frames with one class, frames with
        more classes than the 4 queries (6 classes), frames without ground
        truth, partly ignored frames, no random loss points (importance
        1.0), and a batch without any ground truth."""
        head = tiny_head(num_classes)
        head.importance_sample_ratio = importance
        reference = ReferenceLosses(head)
        gen = torch.Generator().manual_seed(num_classes)
        for case in range(3):
            x = head_inputs(num=6, requires_grad=True)
            outs = head(x)
            gt = torch.randint(0, num_classes, (6, 32, 32), generator=gen)
            gt[1], gt[2], gt[3, 8:] = 0, 255, 255
            if case == 2:
                gt[:] = 255
            results = []
            for loss in (head.loss, reference):
                torch.manual_seed(case)
                losses = loss(outs, samples_of(gt, clips=2))
                grad, = torch.autograd.grad(
                    sum(losses.values()), x['queries'], retain_graph=True)
                results.append((losses, grad, torch.get_rng_state()))
            (losses, grad, rng), (expected, ref_grad, ref_rng) = results
            assert list(losses) == list(expected)
            for name, value in expected.items():
                assert losses[name].shape == value.shape
                assert torch.equal(losses[name], value), (case, name)
            assert torch.equal(grad, ref_grad) and torch.equal(rng, ref_rng)

    def test_frame_without_ground_truth_is_left_out(self):
        """A frame whose label map is all ignore_index gets no gradient
        from any layer's loss, and the losses equal those of the batch
        without that frame (same random point sampling: the seed is reset
        before each loss)."""
        head = tiny_head()
        x = head_inputs(num=4, requires_grad=True)
        outs = head(x)
        gt = torch.randint(0, 2, (4, 32, 32),
                           generator=torch.Generator().manual_seed(2))
        gt[1] = 255
        torch.manual_seed(0)
        losses = head.loss(outs, samples_of(gt, clips=2))
        sum(losses.values()).backward()
        grad = x['queries'].grad
        torch.testing.assert_close(
            grad[1], torch.zeros_like(grad[1]), rtol=0, atol=0)
        assert grad[[0, 2, 3]].abs().amax(dim=(1, 2)).min() > 0

        keep = [0, 2, 3]
        kept_outs = tuple([p[keep] for p in preds] for preds in outs)
        torch.manual_seed(0)
        expected = head.loss(kept_outs, samples_of(gt[keep]))
        assert set(losses) == set(expected)
        for name in expected:
            torch.testing.assert_close(
                losses[name], expected[name], rtol=1e-5, atol=1e-6)

    def test_no_ground_truth_at_all_gives_zero_losses(self):
        head = tiny_head()
        x = head_inputs(num=2, requires_grad=True)
        losses = head.loss(head(x), samples_of(torch.full((2, 32, 32), 255)))
        assert 'loss_dice' in losses and 'd0.loss_cls' in losses
        for value in losses.values():
            torch.testing.assert_close(value, torch.zeros_like(value))
        sum(losses.values()).backward()  # the graph stays whole
        torch.testing.assert_close(x['queries'].grad,
                                   torch.zeros_like(x['queries']))


class ReferenceLosses:
    """The head's losses before batching: mmdet's per-frame, per-layer
    targets (``HungarianAssigner``, ``MaskPseudoSampler``) and
    ``Mask2FormerHead.loss_by_feat``, the targets built from each frame's
    ``torch.unique`` labels, frames without ground truth dropped."""
    loss_by_feat = Mask2FormerHead.loss_by_feat
    _loss_by_feat_single = Mask2FormerHead._loss_by_feat_single
    get_targets = Mask2FormerHead.get_targets
    _get_targets_single = Mask2FormerHead._get_targets_single

    def __init__(self, head):
        for name in ('num_classes', 'num_queries', 'ignore_index',
                     'num_points', 'oversample_ratio',
                     'importance_sample_ratio', 'loss_mask', 'loss_dice'):
            setattr(self, name, getattr(head, name))
        self.class_weight = head.class_weight.tolist()
        self.loss_cls = MODELS.build(
            dict(
                type='mmdet.CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=head.loss_cls.loss_weight,
                class_weight=self.class_weight))
        match_costs = tiny_model_cfg().decode_head.train_cfg.assigner[
            'match_costs']
        self.assigner = TASK_UTILS.build(
            dict(type='mmdet.HungarianAssigner', match_costs=match_costs))
        self.sampler = TASK_UTILS.build(dict(type='mmdet.MaskPseudoSampler'))

    def __call__(self, outs, data_samples):
        gt_sem_seg = torch.cat([s.gt_sem_seg.data for s in data_samples])
        has_gt = (gt_sem_seg != self.ignore_index).flatten(1).any(1)
        keep = has_gt.nonzero()[:, 0] if has_gt.any() else \
            torch.arange(len(has_gt))
        gt_instances = []
        for frame in gt_sem_seg[keep]:
            labels = torch.unique(frame)
            labels = labels[labels != self.ignore_index]
            gt_instances.append(
                InstanceData(
                    labels=labels,
                    masks=(frame[None] == labels[:, None, None]).long()))
        losses = self.loss_by_feat(*([p[keep] for p in preds]
                                     for preds in outs), gt_instances,
                                   [dict() for _ in keep])
        if not has_gt.any():
            losses = {name: value * 0 for name, value in losses.items()}
        return losses
