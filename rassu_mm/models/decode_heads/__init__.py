from .fpn_pixel_decoder import FPNPixelDecoder
from .ssu_mask_head import SSUMaskHead

__all__ = ['FPNPixelDecoder', 'SSUMaskHead']
