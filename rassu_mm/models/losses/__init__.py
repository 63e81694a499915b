from .caption_loss import CaptionCrossEntropyLoss
from .clip_consistency_loss import CLIPConsistencyLoss
from .clip_text_loss import CLIPTextLoss
from .rcc_loss import RegionCaptionConsistencyLoss

__all__ = [
    'CaptionCrossEntropyLoss', 'CLIPConsistencyLoss', 'CLIPTextLoss',
    'RegionCaptionConsistencyLoss'
]
