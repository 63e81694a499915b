from .formatting import PackSSUInputs
from .inference_loading import (LoadClipAudioFromNDArray,
                                LoadClipFramesFromNDArray)
from .loading import (LoadClipAudio, LoadClipCaptions, LoadClipFrames,
                      LoadClipMasks)
from .transforms import (ClipPhotoMetricDistortion, ClipRandomCrop,
                         ClipRandomFlip, ClipResize, swap_position_words)

__all__ = [
    'LoadClipFrames', 'LoadClipMasks', 'LoadClipAudio', 'LoadClipCaptions',
    'LoadClipFramesFromNDArray', 'LoadClipAudioFromNDArray',
    'ClipResize', 'ClipRandomCrop', 'ClipRandomFlip',
    'ClipPhotoMetricDistortion', 'PackSSUInputs', 'swap_position_words'
]
