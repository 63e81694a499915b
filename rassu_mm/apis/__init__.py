from .inferencer import SSUInferencer
from .overlay import FramePainter, OverlayWriter, SubtitleWriter
from .video_io import (VideoInfo, decode_audio, has_audio_stream, iter_audio,
                       iter_frames, iter_sampled_frames, probe_video,
                       sample_frames, write_video, write_wav)

__all__ = [
    'SSUInferencer', 'FramePainter', 'OverlayWriter', 'SubtitleWriter',
    'VideoInfo', 'decode_audio', 'has_audio_stream', 'iter_audio',
    'iter_frames', 'iter_sampled_frames', 'probe_video', 'sample_frames',
    'write_video', 'write_wav'
]
