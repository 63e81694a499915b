"""Streaming video and audio decoding (rassu_mm/apis/video_io.py)."""
from fractions import Fraction

import numpy as np
import pytest

from rassu_mm.apis import (decode_audio, has_audio_stream, iter_audio,
                           iter_frames, iter_sampled_frames, probe_video,
                           sample_frames, write_video)
from rassu_mm.datasets import ClipDataError
from .conftest import make_video


def test_sampled_frames_are_the_frames_shown_at_each_second(tmp_path):
    path = make_video(tmp_path / 'v.mp4', 3)
    frames = sample_frames(path, 'v', fps=1)
    assert len(frames) == 3 and frames[0].shape == (40, 48, 3)
    # frame k is the one shown at k seconds: 4 fps -> source frame 4k
    # (grey 20 * 4k; neighbours differ by 20, lossy coding by a few levels)
    np.testing.assert_allclose([f.mean() for f in frames], [0, 80, 160],
                               atol=5)
    # position 0.5: the frame shown at k + 0.5 s -> source frame 4k + 2
    middle = sample_frames(path, 'v', fps=1, position=0.5)
    np.testing.assert_allclose([f.mean() for f in middle], [40, 120, 200],
                               atol=5)


def test_a_partial_last_window_is_dropped(tmp_path):
    """2.5 s at 1 fps: two whole 1 s windows; the streaming decoder yields
    exactly those, though it cannot know the length in advance."""
    path = make_video(tmp_path / 'v.mp4', 2.5)
    assert len(list(iter_sampled_frames(path, 'v', fps=1))) == 2
    assert len(sample_frames(path, 'v', fps=2)) == 5
    with pytest.raises(ClipDataError, match='shorter than one'):
        sample_frames(make_video(tmp_path / 's.mp4', 0.5), 's', fps=1)


def test_probe_and_every_source_frame(tmp_path):
    path = make_video(
        tmp_path / 'v.mp4', 2, fps=25, channels=2, rate=48000)
    info = probe_video(path, 'v')
    assert (info.width, info.height, info.fps) == (48, 40, 25.0)
    assert info.has_audio and info.audio_codec == 'aac'
    assert (info.audio_rate, info.audio_layout) == (48000, 'stereo')
    assert abs(info.duration - 2.0) < 0.05
    assert isinstance(info.time_base, Fraction)
    times = [frame.time for frame in iter_frames(path, 'v')]
    assert len(times) == 50
    np.testing.assert_allclose(np.diff(times), 0.04, atol=1e-6)
    mute = probe_video(make_video(tmp_path / 'm.mp4', 1, channels=0), 'm')
    assert not mute.has_audio and mute.audio_rate == 0


def test_audio_decoded_incrementally_to_mono(tmp_path):
    path = make_video(tmp_path / 'v.mp4', 3, channels=2, rate=48000)
    chunks = list(iter_audio(path, 'v', 16000))
    assert len(chunks) > 10  # streamed, not one array
    assert all(c.dtype == np.float32 and c.ndim == 1 for c in chunks)
    total = sum(len(c) for c in chunks)
    assert abs(total - 48000) < 2048  # AAC priming/padding
    # the 440 Hz tone of amplitude 8000/32768 survives the downmix
    wave = np.concatenate(chunks)
    assert abs(np.abs(wave[4000:40000]).max() - 8000 / 32768) < 0.02
    as_int = decode_audio(path, 'v', 16000)
    assert as_int.dtype == np.int16 and len(as_int) == total
    assert has_audio_stream(path)


def test_write_video_stereo_round_trip(tmp_path):
    frames = [np.full((40, 48, 3), 100, np.uint8)] * 4
    audio = np.zeros((32000, 2), np.int16)
    path = str(tmp_path / 'w.mp4')
    write_video(frames, 2, path, audio=audio, audio_rate=16000)
    info = probe_video(path, 'w')
    assert info.audio_layout == 'stereo' and info.fps == 2.0


def test_unusable_files_name_the_file_and_the_problem(tmp_path):
    corrupt = tmp_path / 'corrupt.mp4'
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ClipDataError, match=r'unreadable video.*corrupt'):
        probe_video(str(corrupt), 'corrupt')
    with pytest.raises(ClipDataError, match='unreadable video'):
        list(iter_frames(str(tmp_path / 'missing.mp4'), 'missing'))
    audio_only = make_video(tmp_path / 'only.m4a', 1, with_video=False)
    with pytest.raises(ClipDataError, match='no video stream'):
        probe_video(audio_only, 'only')
    with pytest.raises(ClipDataError, match='no audio track'):
        next(iter_audio(make_video(tmp_path / 'm.mp4', 1, channels=0), 'm',
                        16000))
