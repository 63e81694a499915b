"""Video decoding and encoding with PyAV.

Everything here streams: frames and audio are decoded and handed out one
at a time, so the memory used does not depend on the video's length
(:func:`sample_frames`, :func:`decode_audio` and :func:`write_video` are
list/array conveniences for short clips built on the same code).
"""
import wave
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, List, Optional, Sequence

import av
import numpy as np

from rassu_mm.datasets.errors import ClipDataError

# PyAV raises FFmpegError subclasses for bad data, OSError subclasses for
# missing files; both are "unreadable" for a user
_OPEN_ERRORS = (av.error.FFmpegError, OSError)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` reads from a container's header.

    Attributes:
        path (str): The file.
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        fps (float): Average frame rate of the first video stream.
        time_base (Fraction): Time base of its timestamps.
        duration (float, optional): Length in seconds, when the container
            states it.
        audio_codec (str, optional): Codec of the first audio stream, None
            without one.
        audio_rate (int): Its sample rate (0 without audio).
        audio_layout (str): Its channel layout (``''`` without audio).
    """
    path: str
    width: int
    height: int
    fps: float
    time_base: Fraction
    duration: Optional[float]
    audio_codec: Optional[str]
    audio_rate: int
    audio_layout: str

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def open_video(path: str, clip_id: str) -> 'av.container.InputContainer':
    """``av.open(path)``, with a :class:`ClipDataError` for unreadable or
    missing files."""
    try:
        return av.open(path)
    except _OPEN_ERRORS as err:
        raise ClipDataError(clip_id, path,
                            f'unreadable video: {err}') from None


def probe_video(path: str, clip_id: str) -> VideoInfo:
    """Read the header of ``path``.

    Raises:
        ClipDataError: Unreadable file or no video stream.
    """
    with open_video(path, clip_id) as container:
        if not container.streams.video:
            raise ClipDataError(clip_id, path, 'no video stream')
        video = container.streams.video[0]
        audio = container.streams.audio[0] \
            if container.streams.audio else None
        fps = float(video.average_rate or video.guessed_rate or 25)
        duration = None
        if video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        return VideoInfo(
            path=path,
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=fps,
            time_base=video.time_base or Fraction(1, 90000),
            duration=duration,
            audio_codec=None if audio is None else audio.codec_context.name,
            audio_rate=0 if audio is None else int(audio.rate or 0),
            audio_layout='' if audio is None else audio.layout.name)


def has_audio_stream(path: str) -> bool:
    """Whether the file at ``path`` has at least one audio stream."""
    return probe_video(path, path).has_audio


def iter_frames(path: str, clip_id: str) -> Iterator['av.VideoFrame']:
    """Every decoded frame of the first video stream, in display order,
    without their timeless (``frame.time is None``) ones.

    Raises:
        ClipDataError: Unreadable file, no video stream, a decoding error
            part-way, or no frame at all.
    """
    with open_video(path, clip_id) as container:
        if not container.streams.video:
            raise ClipDataError(clip_id, path, 'no video stream')
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        count = 0
        try:
            for frame in container.decode(stream):
                if frame.time is not None:
                    count += 1
                    yield frame
        except av.error.FFmpegError as err:
            raise ClipDataError(clip_id, path, 'video decoding failed after '
                                f'{count} frames: {err}') from None
    if count == 0:
        raise ClipDataError(clip_id, path, 'no decodable video frames')


def iter_sampled_frames(path: str,
                        clip_id: str,
                        fps: float,
                        position: float = 0.0) -> Iterator[np.ndarray]:
    """Decode the frames shown at ``(k + position) / fps``, one at a time.

    Frame ``k`` is yielded once the video is known to cover the whole
    ``1 / fps`` window ``[k / fps, (k + 1) / fps)``, so exactly the ``T``
    whole windows of the video are yielded (a last, partial window is
    dropped) and at most a few decoded frames are held at any time.

    Args:
        path (str): any video PyAV can read.
        clip_id (str): named in errors.
        fps (float): sampled frames per second.
        position (float): where in each ``1 / fps`` window to sample
            (0 = window start, 0.5 = its middle).

    Yields:
        np.ndarray: BGR uint8 ``[H, W, 3]`` frames.

    Raises:
        ClipDataError: see :func:`iter_frames`; also a video shorter than
            one ``1 / fps`` window.
    """
    pending: List[np.ndarray] = []  # chosen, window not yet known whole
    chosen, prev, rate = 0, None, float(probe_video(path, clip_id).fps)
    for frame in iter_frames(path, clip_id):
        # the frame shown at a target time is the last one before it
        while frame.time > (chosen + position) / fps + 1e-6:
            pending.append((frame if prev is None else prev).to_ndarray(
                format='bgr24'))
            chosen += 1
        # a frame at or after the end of window j proves window j whole
        while pending and \
                frame.time >= (chosen - len(pending) + 1) / fps - 1e-6:
            yield pending.pop(0)
        prev = frame
    duration = float(prev.time) + 1.0 / rate
    num = int(np.floor(duration * fps + 1e-3))
    if num < 1:
        raise ClipDataError(
            clip_id, path,
            f'video shorter than one 1/fps window ({duration:.2f} s)')
    yielded = chosen - len(pending)
    last = prev.to_ndarray(format='bgr24')
    for k in range(yielded, num):
        yield pending[k - yielded] if k - yielded < len(pending) else last


def sample_frames(path: str, clip_id: str, fps: float,
                  position: float = 0.0) -> List[np.ndarray]:
    """All frames of :func:`iter_sampled_frames` as a list."""
    return list(iter_sampled_frames(path, clip_id, fps, position))


def iter_audio(path: str, clip_id: str, rate: int) -> Iterator[np.ndarray]:
    """Decode the first audio stream incrementally to mono float32 chunks
    (``[n]``, in [-1, 1]) at ``rate``; channels are averaged (as librosa
    mixes to mono).

    Raises:
        ClipDataError: Unreadable file, no audio track, a decoding error or
            no samples.
    """
    with open_video(path, clip_id) as container:
        if not container.streams.audio:
            raise ClipDataError(clip_id, path, 'no audio track')
        stream = container.streams.audio[0]
        # packed float at the source layout: [1, n * channels] interleaved
        resampler = av.AudioResampler(format='flt', rate=rate)
        count = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    count += out.samples
                    yield _to_mono(out)
        except av.error.FFmpegError as err:
            raise ClipDataError(clip_id, path,
                                f'audio decoding failed: {err}') from None
        for out in resampler.resample(None):
            count += out.samples
            yield _to_mono(out)
    if count == 0:
        raise ClipDataError(clip_id, path, 'no decodable audio')


def _to_mono(frame: 'av.AudioFrame') -> np.ndarray:
    channels = len(frame.layout.channels)
    return frame.to_ndarray().reshape(-1, channels).mean(axis=1,
                                                         dtype=np.float32)


def decode_audio(path: str, clip_id: str, rate: int) -> np.ndarray:
    """Decode the first audio stream to mono int16 samples at ``rate``
    (see :func:`iter_audio`).

    Returns:
        np.ndarray: ``[num_samples]`` int16.
    """
    wave = np.concatenate(list(iter_audio(path, clip_id, rate)))
    return np.clip(np.round(wave * 32768), -32768, 32767).astype('<i2')


def write_wav(samples: np.ndarray, rate: int, out_path: str) -> None:
    """Write mono int16 ``samples`` as a 16-bit wav."""
    with wave.open(out_path, 'wb') as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.asarray(samples, dtype='<i2').tobytes())


def write_video(frames: Sequence[np.ndarray],
                fps: float,
                out_path: str,
                audio: Optional[np.ndarray] = None,
                audio_rate: int = 16000) -> None:
    """Encode BGR frames as H.264 video, optionally with an int16
    ``audio`` track (AAC; ``[N]`` mono or ``[N, C]`` with ``C`` channels),
    so the result plays with sound. Meant for generated test and demo
    clips.

    Frames are shown for ``1 / fps`` seconds each. Frames of different
    sizes are padded (bottom/right, black) to the largest one, rounded up to
    even dimensions as H.264 with yuv420p needs.
    """
    height = max(f.shape[0] for f in frames)
    width = max(f.shape[1] for f in frames)
    even_h, even_w = height + height % 2, width + width % 2
    with av.open(out_path, mode='w') as container:
        stream = container.add_stream(
            'libx264', rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = even_w, even_h
        stream.pix_fmt = 'yuv420p'
        stream.options = {'crf': '18'}
        audio_stream = None
        if audio is not None:
            samples = np.asarray(audio, dtype=np.int16)
            samples = samples.reshape(len(samples), -1)
            layout = 'mono' if samples.shape[1] == 1 else 'stereo'
            audio_stream = container.add_stream(
                'aac', rate=audio_rate, layout=layout)
        for img in frames:
            padded = np.zeros((even_h, even_w, 3), np.uint8)
            padded[:img.shape[0], :img.shape[1]] = img
            frame = av.VideoFrame.from_ndarray(padded, format='bgr24')
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if audio_stream is not None:
            chunk = 1024
            for start in range(0, len(samples), chunk):
                # packed s16: [1, n * C] interleaved
                piece = samples[start:start + chunk].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(piece), format='s16', layout=layout)
                frame.sample_rate = audio_rate
                container.mux(audio_stream.encode(frame))
            container.mux(audio_stream.encode())
