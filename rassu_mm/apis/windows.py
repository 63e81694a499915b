"""Cut a video into the windows of sampled frames and audio the model
predicts, decoding only what each window needs."""
import math
from collections import deque
from typing import Iterable, Iterator, List, Optional

import numpy as np

from rassu_mm.datasets.audio import LogMelParams
from rassu_mm.datasets.errors import ClipDataError
from .stage_timer import StageTimer
from .video_io import VideoInfo, iter_audio, iter_sampled_frames


class AudioWindow:
    """The decoded audio from the current window's start on: filled from an
    incremental decoder as windows ask for it, trimmed as they advance.

    Args:
        chunks (Iterator[np.ndarray], optional): mono float32 chunks at
            ``rate``; None for a silent video.
        rate (int): Sample rate.
    """

    def __init__(self, chunks: Optional[Iterator[np.ndarray]],
                 rate: int) -> None:
        self.chunks, self.rate = chunks, rate
        self.start = 0  # sample index of self.samples[0]
        self.samples = np.zeros(0, np.float32)

    def take(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` (fewer past the end of the audio,
        zeros for a silent video); earlier samples are then dropped, also
        those decoded past a window's end but before the next one's start
        (windows shorter than ``1 / fps`` apart leave gaps)."""
        pieces = [self.samples[start - self.start:]]
        end = self.start + len(self.samples)
        while self.chunks is not None and end < stop:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.chunks = None
                break
            pieces.append(chunk[max(0, start - end):])
            end += len(chunk)
        self.samples = np.concatenate(pieces)
        self.start = start
        if self.chunks is None and end < stop and not len(self.samples):
            return np.zeros(stop - start, np.float32)
        return self.samples[:stop - start]


class VideoWindows:
    """The successive windows of a video, as test pipeline inputs.

    Sampled frames are cut into windows of ``num_frames``; a last, shorter
    remainder is given as the final ``num_frames`` frames, of which only
    the new ones (``num_new``) are not in an earlier window. A window whose
    first frame is sampled frame ``i`` gets the audio from ``i / fps`` on,
    long enough for the log-mel patch of its last frame.

    Args:
        frames (Iterable[np.ndarray]): The sampled frames, [H, W, 3] uint8.
        audio (AudioWindow): The video's audio.
        clip_id (str): Name of the video; a window is ``<clip_id>@<i>``.
        num_frames (int): Frames per window.
        fps (float): Sampled frames per second.
        audio_params (LogMelParams): The audio loader's parameters.
        timer (StageTimer, optional): Counts the audio decoding for
            ``decode``.
        duration (float, optional): The video's length in seconds, when
            known (for :meth:`num_batches`).
        **meta: Further keys of every window (``video_path``,
            ``dataset_name``, ``seg_mode``).
    """

    def __init__(self,
                 frames: Iterable[np.ndarray],
                 audio: AudioWindow,
                 clip_id: str,
                 num_frames: int,
                 fps: float,
                 audio_params: LogMelParams,
                 timer: Optional[StageTimer] = None,
                 duration: Optional[float] = None,
                 **meta) -> None:
        self.frames, self.audio = frames, audio
        self.clip_id, self.num_frames, self.fps = clip_id, num_frames, fps
        self.audio_params = audio_params
        self.timer = timer or StageTimer()
        self.duration = duration
        self.meta = meta

    @classmethod
    def from_video(cls,
                   info: VideoInfo,
                   clip_id: str,
                   num_frames: int,
                   fps: float,
                   audio_params: LogMelParams,
                   timer: StageTimer,
                   silent_if_no_audio: bool = False,
                   **meta) -> 'VideoWindows':
        """The windows of the video ``info``, decoded as they are iterated
        (both decoders counted for ``decode``): frames sampled at ``fps``,
        audio mixed to mono and resampled to the audio loader's rate.

        Raises:
            ClipDataError: A video shorter than one ``1 / fps`` frame or,
                without ``silent_if_no_audio``, without an audio track.
        """
        if info.duration is not None and info.duration * fps < 1 - 1e-3:
            raise ClipDataError(
                clip_id, info.path, f'video too short: {info.duration:.2f} '
                f's, less than one sampled frame at {fps:g} fps')
        if not info.has_audio and not silent_if_no_audio:
            raise ClipDataError(
                clip_id, info.path, 'no audio track (pass '
                '--silent-if-no-audio to treat the video as silent)')
        rate = audio_params.sample_rate
        chunks = iter_audio(info.path, clip_id, rate) \
            if info.has_audio else None
        frames = timer.iter(iter_sampled_frames(info.path, clip_id, fps),
                            'decode')
        return cls(frames, AudioWindow(chunks, rate), clip_id, num_frames,
                   fps, audio_params, timer, info.duration,
                   video_path=info.path, **meta)

    def num_batches(self, batch_size: int = 1) -> Optional[int]:
        """The number of batches of ``batch_size`` windows, from the
        video's stated ``duration`` (a progress bar's total); None when it
        is not known."""
        if self.duration is None:
            return None
        return math.ceil(self.duration * self.fps / self.num_frames /
                         batch_size)

    def __iter__(self) -> Iterator[dict]:
        size = self.num_frames
        recent: deque = deque(maxlen=size)
        num = new = 0
        for frame in self.frames:
            recent.append(frame)
            num, new = num + 1, new + 1
            if new == size:
                yield self.window(list(recent), num, new)
                new = 0
        if new:
            yield self.window(list(recent), num, new)

    def window(self, frames: List[np.ndarray], num: int, new: int) -> dict:
        """The window of ``frames`` ending at sampled frame ``num - 1``, of
        which the last ``new`` are not in an earlier window."""
        first = num - len(frames)
        params, fps, rate = self.audio_params, self.fps, self.audio.rate
        span = (len(frames) - 1) / fps + params.patch_sec + params.window_sec
        start = int(round(first / fps * rate))
        with self.timer('decode'):
            waveform = self.audio.take(start,
                                       start + int(math.ceil(span * rate)))
        return dict(
            clip_id=f'{self.clip_id}@{first}',
            frames=frames,
            waveform=waveform,
            fps=fps,
            frame_indices=list(range(first, num)),
            num_new=new,
            categories=[],
            **self.meta)
