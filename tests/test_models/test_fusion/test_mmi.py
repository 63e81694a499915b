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
        assert (v[0] - v[1]).abs().max() > 1e-3

    def test_audio_tokens_read_the_video(self):
        """The audio tokens depend on the video, but only through
        LayerNorm: their gradient w.r.t. each video token is non-zero and
        orthogonal to a constant shift of that token (sums to 0 over C)."""
        torch.manual_seed(0)
        mmi = MultiModalityIntegration(
            embed_dims=32, num_layers=2, num_heads=4).eval()
        video = torch.randn(1, 32, 3, 4, requires_grad=True)
        _, audio = mmi(video, torch.randn(1, 5, 32), torch.randn(1, 5, 32))
        (audio * torch.randn_like(audio)).sum().backward()
        grad = video.grad  # [1, C, h, w]
        assert grad.abs().amax(dim=1).min() > 1e-4  # every token is read
        torch.testing.assert_close(
            grad.sum(dim=1), torch.zeros(1, 3, 4), rtol=0, atol=1e-5)
