"""mmseg's ResNetV1c with pretrained weights loaded strictly."""
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS
from ..utils.pretrained import StrictPretrainedMixin


@MODELS.register_module()
class StrictResNetV1c(StrictPretrainedMixin, ResNetV1c):
    """``ResNetV1c`` whose ``init_cfg=dict(type='Pretrained',
    checkpoint=...)`` must provide every weight of the backbone with its
    shape and nothing else (``PretrainedKeysError`` naming the keys
    otherwise), instead of MMEngine's non-strict load. Same arguments as
    mmseg's class; used by the sr-Music configs, whose backbone is
    pretrained on the training split (``docs/semireal.md``)."""
