"""VGGish audio encoder (the torchvggish architecture)."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmseg.registry import MODELS

from ..utils.pretrained import StrictPretrainedMixin

# (name, out_channels, max-pool after the conv)
VGGISH_CONVS = (('conv1', 64, True), ('conv2', 128, True),
                ('conv3_1', 256, False), ('conv3_2', 256, True),
                ('conv4_1', 512, False), ('conv4_2', 512, True))
VGGISH_FCS = (
    ('fc1', 512 * 4 * 6, 4096),
    ('fc2', 4096, 4096),
    ('fc3', 4096, 128),
)


@MODELS.register_module()
class VGGish(StrictPretrainedMixin, BaseModule):
    """VGGish: one 128-d embedding per 0.96 s log-mel window.

    Same layers and weight shapes as torchvggish (Hershey et al., 2017):
    six 3x3 convs with ReLU and four 2x2 max-pools, then three fully
    connected layers 12288 -> 4096 -> 4096 -> 128, each followed by ReLU.
    ``tools/model_converters/vggish2mmseg.py`` converts the torchvggish
    weight file into this module's parameter names. The pretrained file is
    loaded strictly: a missing file, or one whose keys or shapes differ
    (e.g. an unconverted torchvggish file), raises in :meth:`init_weights`.

    Args:
        frozen (bool): Freeze every parameter and keep the module in eval
            mode. Defaults to True.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint='pretrain/vggish_mmseg.pth')`` (``prefix`` selects
            and strips a key prefix, as MMEngine's ``Pretrained``).
    """
    embed_dims = 128
    pretrained_kind = 'vggish'
    pretrained_hint = ('; torchvggish files (vggish-10086976.pth) must be '
                       'converted with tools/model_converters/vggish2mmseg.py')

    def __init__(self,
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = 1
        for name, channels, _ in VGGISH_CONVS:
            self.add_module(
                name,
                ConvModule(in_channels, channels, 3, padding=1, norm_cfg=None))
            in_channels = channels
        self.pool = nn.MaxPool2d(2, 2)
        self.fcs = nn.ModuleDict({
            name: nn.Linear(i, o)
            for name, i, o in VGGISH_FCS
        })
        self.frozen = frozen
        if frozen:
            self.requires_grad_(False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``[N, 1, 96, 64]`` log-mel (time x mel) -> ``[N, 128]``."""
        x = audio
        for name, _, pool in VGGISH_CONVS:
            x = getattr(self, name)(x)
            if pool:
                x = self.pool(x)
        # [N, 512, 6, 4] -> [N, 6, 4, 512]: torchvggish's TF-compatible order
        x = x.permute(0, 2, 3, 1).flatten(1)
        for fc in self.fcs.values():
            x = torch.relu(fc(x))
        return x

    def train(self, mode: bool = True) -> 'VGGish':
        """Keep a frozen encoder in eval mode."""
        return super().train(mode and not self.frozen)
