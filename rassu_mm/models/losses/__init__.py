from .caption_loss import CaptionCrossEntropyLoss
from .rcc_loss import RegionCaptionConsistencyLoss

__all__ = ['CaptionCrossEntropyLoss', 'RegionCaptionConsistencyLoss']
