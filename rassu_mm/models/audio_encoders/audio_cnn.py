"""A small CNN audio encoder for tiny configs and tests."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from ..utils.pretrained import StrictPretrainedMixin


@MODELS.register_module()
class AudioCNN(StrictPretrainedMixin, BaseModule):
    """Strided conv stack over a log-mel window, pooled over time only.

    Each conv halves time and frequency; the output is averaged over time
    but keeps the frequency axis (sounds are told apart by their spectrum),
    which is flattened and projected to ``embed_dims``.

    Args:
        embed_dims (int): Output embedding size. Defaults to 128.
        channels (Sequence[int]): Channels of the strided convs.
        num_mels (int): Mel bins of the input. Defaults to 64.
        norm_cfg (dict): Norm of the convs. Defaults to BN.
        frozen (bool): Freeze every parameter and keep the module in eval
            mode (a pretrained encoder, as VGGish in the paper). Defaults
            to False.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=...)`` loads a file strictly (every key must match).
    """

    def __init__(self,
                 embed_dims: int = 128,
                 channels: Sequence[int] = (16, 32, 64),
                 num_mels: int = 64,
                 norm_cfg: dict = dict(type='BN'),
                 frozen: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        convs, in_channels = [], 1
        for out_channels in channels:
            convs.append(
                ConvModule(
                    in_channels,
                    out_channels,
                    3,
                    stride=2,
                    padding=1,
                    norm_cfg=norm_cfg))
            in_channels = out_channels
        self.convs = nn.Sequential(*convs)
        num_freqs = num_mels
        for _ in channels:
            num_freqs = (num_freqs + 1) // 2
        self.proj = nn.Linear(in_channels * num_freqs, embed_dims)
        self.frozen = frozen
        if frozen:
            self.requires_grad_(False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``[N, 1, time, num_mels]`` -> ``[N, embed_dims]``."""
        x = self.convs(audio).mean(dim=2)  # [N, C, F]
        return self.proj(x.flatten(1))

    def train(self, mode: bool = True) -> 'AudioCNN':
        """Keep a frozen encoder in eval mode."""
        return super().train(mode and not self.frozen)
