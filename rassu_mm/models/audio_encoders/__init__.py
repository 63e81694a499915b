from .audio_cnn import AudioCNN
from .vggish import VGGish

__all__ = ['AudioCNN', 'VGGish']
