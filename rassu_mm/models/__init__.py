from . import (audio_encoders, backbones, caption_heads, decode_heads,
               fusion, losses, necks, segmentors)
from .audio_encoders import AudioCNN, VGGish
from .data_preprocessor import SSUDataPreprocessor
from .decode_heads import FPNPixelDecoder, SSUMaskHead
from .fusion import AudioQueryGenerator, MultiModalityIntegration
from .segmentors import SSUFormer

__all__ = [
    'audio_encoders', 'backbones', 'caption_heads', 'decode_heads', 'fusion',
    'losses', 'necks', 'segmentors', 'AudioCNN', 'AudioQueryGenerator',
    'FPNPixelDecoder', 'MultiModalityIntegration', 'SSUDataPreprocessor',
    'SSUFormer', 'SSUMaskHead', 'VGGish'
]
