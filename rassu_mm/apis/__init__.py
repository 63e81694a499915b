from .inferencer import SSUInferencer
from .video_io import (decode_audio, has_audio_stream, sample_frames,
                       write_video, write_wav)

__all__ = [
    'SSUInferencer', 'decode_audio', 'has_audio_stream', 'sample_frames',
    'write_video', 'write_wav'
]
