"""Loading for inference: frames and audio already decoded in memory.

The counterparts of :class:`LoadClipFrames` and :class:`LoadClipAudio` for
arrays (as mmseg's ``LoadImageFromNDArray`` is for ``LoadImageFromFile``):
the inferencer decodes a video once and hands each window's frames and
waveform to the test pipeline without writing image or WAV files.
"""
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ..audio import LogMelParams, log_mel_patches
from ..errors import ClipDataError


@TRANSFORMS.register_module()
class LoadClipFramesFromNDArray(BaseTransform):
    """Take the ``T`` decoded frames of a clip.

    Required keys: ``clip_id``, ``frames`` (``T`` uint8 ``[H, W, 3]`` BGR
    arrays, all of one size).
    Modified keys: ``frames`` (float32 with ``to_float32``).
    Added keys: ``num_frames``, ``ori_shape`` and ``img_shape``
    (``(H, W)``).

    Args:
        to_float32 (bool): Convert frames to float32. Defaults to False.
    """

    def __init__(self, to_float32: bool = False) -> None:
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        frames = list(results['frames'])
        shape = frames[0].shape
        for frame in frames:
            if frame.ndim != 3 or frame.shape != shape:
                raise ClipDataError(
                    results['clip_id'], results.get('video_path', '?'),
                    f'frame of shape {frame.shape} in a clip of {shape} '
                    'frames (need T equal [H, W, 3] arrays)')
        if self.to_float32:
            frames = [frame.astype(np.float32) for frame in frames]
        results['frames'] = frames
        results['num_frames'] = len(frames)
        results['ori_shape'] = shape[:2]
        results['img_shape'] = shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(to_float32={self.to_float32})'


@TRANSFORMS.register_module()
class LoadClipAudioFromNDArray(BaseTransform):
    """One VGGish-style log-mel patch per frame from an in-memory waveform.

    The waveform is mono at ``sample_rate`` and starts at the clip's first
    frame; frame ``k`` gets the ``patch_sec`` of audio from ``k / fps``
    (zero-padded past the end), exactly as :class:`LoadClipAudio` computes
    it from a file (see :mod:`rassu_mm.datasets.audio`).

    Required keys: ``clip_id``, ``waveform`` (float32 ``[N]``),
    ``num_frames``, ``fps``.
    Added keys: ``audio`` (float32 ``[T, 1, 96, 64]``).

    Args:
        **params: :class:`~rassu_mm.datasets.audio.LogMelParams` fields
            (``sample_rate``, ``window_sec``, ``hop_sec``, ``num_mel_bins``,
            ``fmin``, ``fmax``, ``log_offset``, ``patch_sec``).

    Raises:
        ClipDataError: The waveform is not 1-D or holds NaN/Inf samples.
    """

    def __init__(self, **params) -> None:
        self.params = LogMelParams(**params)

    def transform(self, results: dict) -> dict:
        wave = np.asarray(results['waveform'], dtype=np.float32)
        if wave.ndim != 1 or not np.all(np.isfinite(wave)):
            raise ClipDataError(
                results['clip_id'], results.get('video_path', '?'),
                'audio must be a finite mono waveform, got shape '
                f'{wave.shape}')
        results['audio'] = log_mel_patches(wave, results['num_frames'],
                                           results.get('fps', 1), self.params)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(params={self.params})'
