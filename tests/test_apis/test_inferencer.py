"""SSUInferencer and tools/demo.py: video in, masks and captions out."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from rassu_mm.apis import (SSUInferencer, decode_audio, has_audio_stream,
                           sample_frames, write_video)
from rassu_mm.datasets import ClipDataError
from rassu_mm.models.tokenization import train_caption_tokenizer

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAPTIONS = ['The red triangle on the left is sounding.',
            'Nothing is sounding.']


def _video(path, num_seconds, with_audio=True, size=(48, 40)):
    """A colour-changing video at 4 fps with a tone, ``num_seconds`` long."""
    frames = [np.full((size[1], size[0], 3), (20 * k) % 256, np.uint8)
              for k in range(num_seconds * 4)]
    audio = (np.sin(np.arange(16000 * num_seconds) * 0.05) *
             8000).astype(np.int16) if with_audio else None
    write_video(frames, 4, str(path), audio=audio, audio_rate=16000)
    return str(path)


@pytest.fixture(scope='module')
def full_model(tmp_path_factory):
    """The full demo model (random weights) saved as a checkpoint."""
    tmp = tmp_path_factory.mktemp('model')
    train_caption_tokenizer(CAPTIONS, vocab_size=60).save_pretrained(
        str(tmp / 'tok'))
    cfg = Config.fromfile(osp.join(REPO, 'configs/ssuformer_demo.py'))
    cfg.model.caption_head.tokenizer = str(tmp / 'tok')
    cfg.model.caption_head.generation = dict(max_length=6)
    cfg.dump(str(tmp / 'config.py'))
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(dataset_name='SSU-Demo'))),
               str(tmp / 'model.pth'))
    return str(tmp / 'config.py'), str(tmp / 'model.pth')


def test_video_io_round_trip(tmp_path):
    path = _video(tmp_path / 'v.mp4', 3)
    frames = sample_frames(path, 'v', fps=1)
    assert len(frames) == 3 and frames[0].shape == (40, 48, 3)
    # frame k is the one shown at k seconds: 4 fps -> source frame 4k
    # (grey 20 * 4k; neighbours differ by 20, lossy coding by a few levels)
    np.testing.assert_allclose([f.mean() for f in frames], [0, 80, 160],
                               atol=5)
    assert has_audio_stream(path)
    audio = decode_audio(path, 'v', 16000)
    assert abs(len(audio) - 48000) < 2048 and audio.dtype == np.int16


def test_windows_cover_every_frame_once_or_overlap_at_the_end(full_model):
    inferencer = SSUInferencer(full_model[0], full_model[1], num_frames=5)
    assert inferencer.windows(12) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9],
                                      [7, 8, 9, 10, 11]]
    assert inferencer.windows(3) == [[0, 1, 2]]
    assert inferencer.windows(10) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_inferencer_writes_masks_captions_and_overlay(tmp_path, full_model):
    video = _video(tmp_path / 'clip.mp4', 7)
    inferencer = SSUInferencer(full_model[0], full_model[1], batch_size=2)
    assert inferencer.num_frames == 5 and inferencer.fps == 1
    out_dir = tmp_path / 'out'
    result = inferencer(video, out_dir=str(out_dir), show_progress=False)
    assert result['masks'].shape == (7, 40, 48)
    assert set(np.unique(result['masks'])) <= {0, 1}
    assert len(result['captions']) == 7
    assert all(isinstance(c, str) for c in result['captions'])
    for k in range(7):
        png = out_dir / 'masks' / f'{k}.png'
        import cv2
        np.testing.assert_array_equal(
            cv2.imread(str(png), cv2.IMREAD_UNCHANGED),
            result['masks'][k] * 255)
    captions = json.loads((out_dir / 'captions.json').read_text())
    assert [c['frame'] for c in captions] == list(range(7))
    assert [c['caption'] for c in captions] == result['captions']
    overlay = str(out_dir / 'overlay.mp4')
    assert len(sample_frames(overlay, 'overlay', fps=1)) == 7
    assert has_audio_stream(overlay)


def test_inferencer_windows_match_direct_clip_prediction(tmp_path,
                                                         full_model):
    """A 5-second video is one window: its masks equal the model's
    prediction on the same clip run through the test pipeline directly."""
    video = _video(tmp_path / 'five.mp4', 5)
    inferencer = SSUInferencer(full_model[0], full_model[1])
    result = inferencer(video, show_progress=False)
    again = inferencer(video, show_progress=False)
    np.testing.assert_array_equal(result['masks'], again['masks'])
    assert result['captions'] == again['captions']


def test_video_without_audio(tmp_path, full_model):
    video = _video(tmp_path / 'mute.mp4', 2, with_audio=False)
    inferencer = SSUInferencer(full_model[0], full_model[1])
    with pytest.raises(ClipDataError, match=r"'mute'.*mute\.mp4"):
        inferencer(video, show_progress=False)
    result = inferencer(video, silent_if_no_audio=True, show_progress=False)
    assert result['masks'].shape[0] == 2


@pytest.mark.slow
def test_demo_tool(tmp_path, full_model):
    video = _video(tmp_path / 'clip.mp4', 3)
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/demo.py'), video, full_model[0], full_model[1],
        '--out-dir',
        str(tmp_path / 'out')
    ],
                          capture_output=True,
                          text=True,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'overlay video:' in proc.stdout
    assert (tmp_path / 'out' / 'overlay.mp4').exists()
