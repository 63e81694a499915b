"""Generated videos and a tiny full SSU model for the inference tests."""
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from rassu_mm.testing import (build_tiny_model, get_config, tiny_model_cfg,
                              write_caption_tokenizer)

CAPTIONS = ['The red triangle on the left is sounding.',
            'Nothing is sounding.']


def make_video(path,
               seconds: float,
               fps: int = 4,
               size=(48, 40),
               channels: int = 1,
               rate: int = 16000,
               audio_codec='aac',
               container_format=None,
               with_video: bool = True) -> str:
    """A video whose frame ``i`` is uniformly grey ``(20 * i) % 256``, with
    a 440 Hz tone on ``channels`` channels (``channels=0``: no audio track)
    encoded as ``audio_codec`` (``with_video=False``: the audio alone)."""
    width, height = size
    with av.open(str(path), mode='w', format=container_format) as out:
        if with_video:
            video = out.add_stream('libx264', rate=Fraction(fps))
            video.width, video.height = width, height
            video.pix_fmt = 'yuv420p'
        audio = None
        if channels:
            layout = 'mono' if channels == 1 else 'stereo'
            audio = out.add_stream(audio_codec, rate=rate, layout=layout)
        for i in range(int(round(seconds * fps)) if with_video else 0):
            img = np.full((height, width, 3), (20 * i) % 256, np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(img, 'bgr24')))
        if with_video:
            out.mux(video.encode())
        if audio is not None:
            num = int(seconds * rate)
            tone = np.sin(2 * np.pi * 440 * np.arange(num) / rate) * 8000
            pcm = np.repeat(tone.astype(np.int16)[:, None], channels, 1)
            for start in range(0, num, 1024):
                piece = pcm[start:start + 1024].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(piece), format='s16', layout=layout)
                frame.sample_rate = rate
                out.mux(audio.encode(frame))
            out.mux(audio.encode())
    return str(path)


@pytest.fixture(scope='session')
def tiny_ssu(tmp_path_factory):
    """The demo config with the half-width full model (caption branch,
    6-token captions) and a seeded checkpoint of it: the paths
    ``(config, weights)``."""
    tmp = tmp_path_factory.mktemp('tiny_ssu')
    write_caption_tokenizer(tmp / 'tok', CAPTIONS, vocab_size=60)
    overrides = dict(caption_head=dict(generation=dict(max_length=6)))
    cfg = get_config('ssuformer_demo.py')
    cfg.model = tiny_model_cfg(
        'ssuformer_demo.py', tokenizer=str(tmp / 'tok'), **overrides)
    model = build_tiny_model(
        'ssuformer_demo.py', tokenizer=str(tmp / 'tok'), **overrides)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(dataset_name='SSU-Demo'))),
        str(tmp / 'model.pth'))
    cfg.dump(str(tmp / 'config.py'))
    return str(tmp / 'config.py'), str(tmp / 'model.pth')
