"""Video decoding and encoding with PyAV (frames at a fixed fps + audio)."""
import wave
from typing import List, Optional, Sequence

import av
import numpy as np

from rassu_mm.datasets.errors import ClipDataError


def sample_frames(path: str, clip_id: str, fps: float,
                  position: float = 0.0) -> List[np.ndarray]:
    """Decode the frames shown at ``(k + position) / fps``.

    Args:
        path (str): any video PyAV can read.
        clip_id (str): named in errors.
        fps (float): sampled frames per second.
        position (float): where in each ``1 / fps`` window to sample
            (0 = window start, 0.5 = its middle).

    Returns:
        list[np.ndarray]: ``T`` BGR uint8 ``[H, W, 3]`` frames, ``T`` the
        number of whole ``1 / fps`` windows in the video.
    """
    chosen, prev, rate = [], None, 25.0
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as err:
        raise ClipDataError(clip_id, path, f'unreadable video: {err}')
    with container:
        if not container.streams.video:
            raise ClipDataError(clip_id, path, 'no video stream')
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or rate)
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            # the frame shown at a target time is the last one before it
            while frame.time > (len(chosen) + position) / fps + 1e-6:
                shown = frame if prev is None else prev
                chosen.append(shown.to_ndarray(format='bgr24'))
            prev = frame
        last = None if prev is None else prev.to_ndarray(format='bgr24')
    if prev is None:
        raise ClipDataError(clip_id, path, 'no decodable video frames')
    duration = float(prev.time) + 1.0 / rate
    num = int(np.floor(duration * fps + 1e-3))
    if num < 1:
        raise ClipDataError(
            clip_id, path,
            f'video shorter than one 1/fps window ({duration:.2f} s)')
    return (chosen + [last] * num)[:num]


def has_audio_stream(path: str) -> bool:
    """Whether the file at ``path`` has at least one audio stream."""
    with av.open(path) as container:
        return bool(container.streams.audio)


def decode_audio(path: str, clip_id: str, rate: int) -> np.ndarray:
    """Decode the first audio stream to mono int16 samples at ``rate``.

    Returns:
        np.ndarray: ``[num_samples]`` int16.
    """
    with av.open(path) as container:
        if not container.streams.audio:
            raise ClipDataError(clip_id, path, 'no audio stream')
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format='s16', layout='mono', rate=rate)
        chunks = []
        for frame in container.decode(stream):
            chunks += [f.to_ndarray() for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
    if not chunks:
        raise ClipDataError(clip_id, path, 'no decodable audio')
    return np.concatenate([c.reshape(-1) for c in chunks]).astype('<i2')


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
    """Encode BGR frames as H.264 video, optionally with a mono int16
    ``audio`` track (AAC), so the result plays with sound.

    Frames are shown for ``1 / fps`` seconds each. Frames of different
    sizes are padded (bottom/right, black) to the largest one, rounded up to
    even dimensions as H.264 with yuv420p needs.
    """
    from fractions import Fraction
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
            audio_stream = container.add_stream('aac', rate=audio_rate)
            audio_stream.layout = 'mono'
        for img in frames:
            padded = np.zeros((even_h, even_w, 3), np.uint8)
            padded[:img.shape[0], :img.shape[1]] = img
            frame = av.VideoFrame.from_ndarray(padded, format='bgr24')
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if audio_stream is not None:
            chunk = 1024
            samples = np.asarray(audio, dtype=np.int16)
            for start in range(0, len(samples), chunk):
                piece = samples[start:start + chunk].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(
                    piece, format='s16', layout='mono')
                frame.sample_rate = audio_rate
                container.mux(audio_stream.encode(frame))
            container.mux(audio_stream.encode())
