"""In-memory loaders give what the file loaders give from the same data."""
import cv2
import numpy as np
import pytest
import soundfile
import torch

from mmseg.registry import TRANSFORMS
from rassu_mm.datasets import ClipDataError
from rassu_mm.datasets.transforms import (LoadClipAudio,
                                          LoadClipAudioFromNDArray,
                                          LoadClipFrames,
                                          LoadClipFramesFromNDArray)


def test_registered():
    for name in ('LoadClipFramesFromNDArray', 'LoadClipAudioFromNDArray'):
        assert TRANSFORMS.get(name) is not None, name


def test_frames_equal_the_file_loader(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
              for _ in range(3)]
    paths = []
    for k, frame in enumerate(frames):
        paths.append(str(tmp_path / f'{k}.png'))
        cv2.imwrite(paths[-1], frame)
    from_files = LoadClipFrames()(dict(clip_id='c', frame_paths=paths))
    in_memory = LoadClipFramesFromNDArray()(dict(clip_id='c', frames=frames))
    for key in ('num_frames', 'ori_shape', 'img_shape'):
        assert in_memory[key] == from_files[key]
    for a, b in zip(in_memory['frames'], from_files['frames']):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ClipDataError, match='frame of shape'):
        LoadClipFramesFromNDArray()(
            dict(clip_id='c', frames=[frames[0], frames[1][:10]]))


@pytest.mark.parametrize('fps', [1.0, 4.0])
def test_audio_equals_the_file_loader(tmp_path, fps):
    rate = 16000
    wave = (np.random.default_rng(1).standard_normal(rate * 3) *
            0.1).astype(np.float32)
    path = str(tmp_path / 'a.wav')
    soundfile.write(path, wave, rate, subtype='FLOAT')
    from_file = LoadClipAudio()(
        dict(clip_id='c', audio_path=path, frame_paths=[None] * 5, fps=fps))
    in_memory = LoadClipAudioFromNDArray()(
        dict(clip_id='c', waveform=wave, num_frames=5, fps=fps))
    assert in_memory['audio'].shape == (5, 1, 96, 64)
    torch.testing.assert_close(
        torch.from_numpy(in_memory['audio']),
        torch.from_numpy(from_file['audio']), rtol=1e-5, atol=1e-5)
    with pytest.raises(ClipDataError, match='finite mono waveform'):
        LoadClipAudioFromNDArray()(
            dict(clip_id='c', waveform=np.full(100, np.nan), num_frames=1,
                 fps=1))
