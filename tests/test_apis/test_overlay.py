"""Painting, the overlay writer and subtitles (rassu_mm/apis/overlay.py)."""
import av
import numpy as np
import pytest

from rassu_mm.apis import (FramePainter, OverlayWriter, SubtitleWriter,
                           iter_frames, probe_video)
from rassu_mm.visualization import SSULocalVisualizer
from .conftest import make_video


def test_subtitles_merge_repeated_captions_with_exact_times(tmp_path):
    srt, vtt = tmp_path / 'c.srt', tmp_path / 'c.vtt'
    writer = SubtitleWriter(str(srt), str(vtt))
    for k, text in enumerate(['a dog', 'a dog', 'a cat', None, 'a cat']):
        writer.add(text, k * 0.5, (k + 1) * 0.5)
    writer.add('late', 3725.5, 3726.25)
    writer.close()
    assert srt.read_text() == (
        '1\n00:00:00,000 --> 00:00:01,000\na dog\n\n'
        '2\n00:00:01,000 --> 00:00:01,500\na cat\n\n'
        '3\n00:00:02,000 --> 00:00:02,500\na cat\n\n'
        '4\n01:02:05,500 --> 01:02:06,250\nlate\n\n')
    assert vtt.read_text() == (
        'WEBVTT\n\n'
        '00:00:00.000 --> 00:00:01.000\na dog\n\n'
        '00:00:01.000 --> 00:00:01.500\na cat\n\n'
        '00:00:02.000 --> 00:00:02.500\na cat\n\n'
        '01:02:05.500 --> 01:02:06.250\nlate\n\n')


@pytest.mark.parametrize('seg_mode', ['binary', 'semantic'])
def test_painter_matches_the_visualizer_overlay(seg_mode):
    """Prepared once and painted on a frame, a mask looks as the
    visualizer's per-clip overlay draws it (up to rounding)."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    mask = np.zeros((60, 80), np.uint8)
    mask[10:30, 20:50] = 1
    mask[40:55, 5:15] = 2 if seg_mode == 'semantic' else 1
    mask[0:5, 0:5] = 255  # ignored pixels stay untouched
    vis = SSULocalVisualizer(name=f'painter_{seg_mode}', alpha=0.5)
    vis.set_dataset_meta(seg_mode=seg_mode)
    painter = FramePainter(vis)
    painted = painter.paint(frame.copy(), painter.prepare(mask, None))
    expected = vis._overlay(frame[..., ::-1], mask)[..., ::-1]
    np.testing.assert_allclose(painted, expected, atol=1, rtol=0)
    np.testing.assert_array_equal(painted[0:5, 0:5], frame[0:5, 0:5])


def test_painter_burns_the_caption_into_a_band_of_the_frame():
    vis = SSULocalVisualizer(name='painter_caption')
    painter = FramePainter(vis)
    frame = np.full((120, 200, 3), 200, np.uint8)
    paint = painter.prepare(np.zeros((120, 200), np.uint8), 'a dog barks')
    painted = painter.paint(frame.copy(), paint)
    assert painted.shape == frame.shape
    assert 60 < paint.band_top < 120
    np.testing.assert_array_equal(painted[:paint.band_top],
                                  frame[:paint.band_top])
    band = painted[paint.band_top:]
    assert (band == 255).any()  # white text
    assert (band < 100).mean() > 0.5  # on a darkened band


def _written(tmp_path, source):
    info = probe_video(source, 'src')
    out = str(tmp_path / 'out.mp4')
    writer = OverlayWriter(out, info)
    for frame in iter_frames(source, 'src'):
        writer.write(frame.to_ndarray(format='bgr24'), frame.pts,
                     frame.time_base)
    writer.close()
    return info, out


def test_writer_keeps_every_frame_and_copies_aac(tmp_path):
    source = make_video(tmp_path / 's.mp4', 2, fps=25, channels=2,
                        rate=48000)
    info, out = _written(tmp_path, source)
    result = probe_video(out, 'out')
    assert result.fps == 25.0 and (result.width, result.height) == (48, 40)
    src_times = [f.time for f in iter_frames(source, 'src')]
    out_times = [f.time for f in iter_frames(out, 'out')]
    np.testing.assert_allclose(out_times, src_times, atol=1e-3)
    assert (result.audio_codec, result.audio_rate,
            result.audio_layout) == ('aac', 48000, 'stereo')
    with av.open(source) as a, av.open(out) as b:
        src_packets = [p.size for p in a.demux(a.streams.audio[0]) if p.size]
        out_packets = [p.size for p in b.demux(b.streams.audio[0]) if p.size]
    assert out_packets == src_packets  # copied, not re-encoded


def test_writer_reencodes_pcm_keeping_rate_and_layout(tmp_path):
    source = make_video(tmp_path / 's.mov', 1, fps=10, channels=2,
                        rate=44100, audio_codec='pcm_s16le')
    _, out = _written(tmp_path, source)
    result = probe_video(out, 'out')
    assert (result.audio_codec, result.audio_rate,
            result.audio_layout) == ('aac', 44100, 'stereo')
    assert len(list(iter_frames(out, 'out'))) == 10
