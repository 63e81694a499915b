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

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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
