"""VideoWindows and AudioWindow: the windows the inferencer predicts."""
import numpy as np

from rassu_mm.apis import StageTimer, iter_audio, probe_video
from rassu_mm.apis.windows import AudioWindow, VideoWindows
from rassu_mm.datasets.audio import LogMelParams
from .conftest import make_video


def test_audio_window_returns_exact_slices():
    """Windows cut from chunks of any size are slices of the whole
    waveform (zero-padded by the features past its end)."""
    wave = np.random.default_rng(0).standard_normal(10000).astype(np.float32)
    cuts = [0, 7, 1000, 1001, 4000, 9999, 10000]
    chunks = iter([wave[a:b] for a, b in zip(cuts[:-1], cuts[1:])])
    audio = AudioWindow(chunks, rate=1000)
    for start, stop in [(0, 500), (200, 3000), (2500, 6000), (6000, 12000)]:
        np.testing.assert_array_equal(audio.take(start, stop),
                                      wave[start:stop])
    # a gap between two takes: the samples in it are skipped, not shifted
    chunks = iter(np.array_split(wave, 10))
    audio = AudioWindow(chunks, rate=1000)
    for start, stop in [(0, 900), (1500, 2500), (2600, 2700), (7000, 9000)]:
        np.testing.assert_array_equal(audio.take(start, stop),
                                      wave[start:stop])
    silent = AudioWindow(None, rate=1000)
    np.testing.assert_array_equal(silent.take(100, 400), np.zeros(300))


def test_video_windows_cut_frames_and_audio():
    """12 sampled frames at 2 fps in windows of 5: [0, 5), [5, 10) and the
    last 5 frames [7, 12), of which 2 are new. Each window's audio starts
    at its first frame (0, 2.5 and 3.5 s) and spans 4 frame steps, a
    patch and an STFT window: 2 + 0.5 + 0.1 = 2.6 s, cut short by the end
    of the 5.8 s waveform for the last one."""
    frames = [np.full((2, 3, 3), i, np.uint8) for i in range(12)]
    wave = np.random.default_rng(0).standard_normal(5800).astype(np.float32)
    chunks = iter(np.array_split(wave, 7))
    params = LogMelParams(sample_rate=1000, patch_sec=0.5, window_sec=0.1)
    windows = list(
        VideoWindows(
            iter(frames), AudioWindow(chunks, 1000), 'v', num_frames=5,
            fps=2.0, audio_params=params, video_path='v.mp4',
            seg_mode='binary'))
    assert [w['frame_indices'] for w in windows] == [
        list(range(0, 5)), list(range(5, 10)), list(range(7, 12))]
    assert [w['num_new'] for w in windows] == [5, 5, 2]
    assert [w['clip_id'] for w in windows] == ['v@0', 'v@5', 'v@7']
    for window in windows:
        assert [f[0, 0, 0] for f in window['frames']] == \
            window['frame_indices']
        assert (window['fps'], window['video_path'], window['seg_mode'],
                window['categories']) == (2.0, 'v.mp4', 'binary', [])
    for window, (start, stop) in zip(windows, [(0, 2600), (2500, 5100),
                                               (3500, 5800)]):
        np.testing.assert_array_equal(window['waveform'], wave[start:stop])


def test_video_windows_shorter_than_one_window():
    """Fewer frames than a window: one window of all of them, all new."""
    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(3)]
    params = LogMelParams(sample_rate=100)
    windows = VideoWindows(iter(frames), AudioWindow(None, 100), 'v', 5, 1.0,
                           params)
    assert windows.num_batches() is None  # no duration given
    windows = list(windows)
    assert len(windows) == 1
    assert (windows[0]['frame_indices'], windows[0]['num_new']) == \
        ([0, 1, 2], 3)
    span = 2 + params.patch_sec + params.window_sec
    np.testing.assert_array_equal(windows[0]['waveform'],
                                  np.zeros(int(np.ceil(span * 100))))


def test_windows_of_a_video_are_slices_of_its_whole_audio(tmp_path):
    """At 1 fps, windows of 5 frames and their 4.985 s of audio leave
    gaps of 15 ms: each window's audio still starts at its first frame."""
    video = make_video(tmp_path / 'v.mp4', 12)
    params = LogMelParams()
    rate = params.sample_rate
    whole = np.concatenate(list(iter_audio(video, 'v', rate)))
    windows = list(
        VideoWindows.from_video(
            probe_video(video, 'v'), 'v', 5, 1.0, params, StageTimer()))
    assert [w['frame_indices'][0] for w in windows] == [0, 5, 7]
    length = int(np.ceil((4 + params.patch_sec + params.window_sec) * rate))
    for window in windows:
        start = window['frame_indices'][0] * rate
        np.testing.assert_array_equal(window['waveform'],
                                      whole[start:start + length])
