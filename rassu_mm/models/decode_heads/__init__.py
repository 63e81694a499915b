from .fpn_pixel_decoder import FPNPixelDecoder
from .msdeformattn_pixel_decoder import MSDeformAttnPixelDecoder
from .ssu_mask_head import SSUMaskHead

__all__ = ['FPNPixelDecoder', 'MSDeformAttnPixelDecoder', 'SSUMaskHead']
