"""A light FPN pixel decoder with the interface of mmdet's
``MSDeformAttnPixelDecoder``."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList

from mmseg.registry import MODELS


@MODELS.register_module()
class FPNPixelDecoder(BaseModule):
    """Top-down FPN over backbone features; no transformer encoder.

    A cheap replacement for ``mmdet.MSDeformAttnPixelDecoder`` (same
    constructor keywords that :class:`SSUMaskHead` fills in, same outputs)
    for tiny CPU configs.

    Args:
        in_channels (list[int]): Channels of the backbone outputs, from high
            to low resolution.
        feat_channels (int): Channels of the FPN levels.
        out_channels (int): Channels of the mask feature.
        num_outs (int): How many of the coarsest levels to return for the
            transformer decoder. Defaults to 3.
        norm_cfg (dict): Defaults to ``GN`` with 32 groups.
        act_cfg (dict): Defaults to ReLU.
    """

    def __init__(self,
                 in_channels: List[int],
                 feat_channels: int,
                 out_channels: int,
                 num_outs: int = 3,
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        assert num_outs <= len(in_channels)
        self.num_outs = num_outs
        self.lateral_convs = ModuleList(
            ConvModule(c, feat_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for c in in_channels)
        self.output_convs = ModuleList(
            ConvModule(
                feat_channels,
                feat_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for _ in in_channels)
        self.mask_feature = nn.Conv2d(feat_channels, out_channels, 1)

    def forward(
            self, feats: List[torch.Tensor]
    ) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Decode multi-scale features.

        Args:
            feats (list[Tensor]): Backbone maps ``[N, C_i, H_i, W_i]``, from
                high to low resolution.

        Returns:
            tuple: ``mask_feature`` ``[N, out_channels, H_0, W_0]`` and
            ``num_outs`` maps ``[N, feat_channels, H_i, W_i]`` from low to
            high resolution.
        """
        outs = []
        top = None
        for i in range(len(feats) - 1, -1, -1):
            x = self.lateral_convs[i](feats[i])
            if top is not None:
                x = x + F.interpolate(
                    top,
                    size=x.shape[-2:],
                    mode='bilinear',
                    align_corners=False)
            top = self.output_convs[i](x)
            outs.append(top)
        return self.mask_feature(outs[-1]), outs[:self.num_outs]
