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


def test_models_are_registered():
    for name in ('SSUDataPreprocessor', 'VGGish', 'AudioCNN',
                 'AudioQueryGenerator', 'MultiModalityIntegration',
                 'FPNPixelDecoder', 'SSUMaskHead', 'SSUFormer'):
        assert MODELS.get(name) is not None, name
