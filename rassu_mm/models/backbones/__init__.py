from .pvt_v2 import PVTv2

__all__ = ['PVTv2']
