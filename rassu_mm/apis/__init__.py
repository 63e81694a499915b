from .inferencer import SSUInferencer
from .inputs import list_videos
from .overlay import FramePainter, OverlayWriter, SubtitleWriter
from .stage_timer import StageTimer
from .video_io import (VideoInfo, decode_audio, has_audio_stream, iter_audio,
                       iter_frames, iter_sampled_frames, probe_video,
                       sample_frames, write_video, write_wav)
from .video_job import VideoJob
from .windows import AudioWindow, VideoWindows

__all__ = [
    'SSUInferencer', 'list_videos', 'FramePainter', 'OverlayWriter',
    'SubtitleWriter', 'StageTimer', 'VideoJob', 'AudioWindow', 'VideoWindows',
    'VideoInfo', 'decode_audio', 'has_audio_stream', 'iter_audio',
    'iter_frames', 'iter_sampled_frames', 'probe_video', 'sample_frames',
    'write_video', 'write_wav'
]
