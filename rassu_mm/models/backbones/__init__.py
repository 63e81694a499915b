from .pvt_v2 import PVTv2
from .resnet import StrictResNetV1c

__all__ = ['PVTv2', 'StrictResNetV1c']
