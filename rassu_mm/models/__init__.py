from . import (audio_encoders, backbones, caption_heads, collaboration,
               decode_heads, fusion, losses, segmentors, task_modules)
from .audio_encoders import AudioCNN, VGGish
from .data_preprocessor import SSUDataPreprocessor
from .decode_heads import FPNPixelDecoder, SSUMaskHead
from .fusion import AudioQueryGenerator, MultiModalityIntegration
from .segmentors import SSUFormer
from .task_modules import BatchedHungarianAssigner

__all__ = [
    'audio_encoders', 'backbones', 'caption_heads', 'collaboration',
    'decode_heads', 'fusion', 'losses', 'segmentors', 'task_modules',
    'AudioCNN', 'AudioQueryGenerator', 'BatchedHungarianAssigner',
    'FPNPixelDecoder', 'MultiModalityIntegration', 'SSUDataPreprocessor',
    'SSUFormer', 'SSUMaskHead', 'VGGish'
]
