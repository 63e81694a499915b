"""Clip-level loading: frames, masks, audio features, captions."""
import os.path as osp
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ..audio import AudioFeatureCache, LogMelParams, load_waveform, \
    log_mel_patches
from ..errors import ClipDataError


def _read_bytes(clip_id: str, path: str, what: str,
                backend_args: Optional[dict]) -> bytes:
    try:
        return fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise ClipDataError(clip_id, path, f'{what} file not found') from None


@TRANSFORMS.register_module()
class LoadClipFrames(BaseTransform):
    """Load the ``T`` frames of a clip.

    Required keys: ``clip_id``, ``frame_paths``.
    Added keys: ``frames`` (``T`` uint8 ``[H, W, 3]`` BGR arrays),
    ``num_frames``, ``ori_shape`` and ``img_shape`` (``(H, W)``).

    Args:
        to_float32 (bool): Convert frames to float32. Defaults to False.
        imdecode_backend (str): mmcv decoding backend. Defaults to 'cv2'.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 to_float32: bool = False,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        self.to_float32 = to_float32
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        clip_id = results['clip_id']
        frames = []
        for path in results['frame_paths']:
            data = _read_bytes(clip_id, path, 'frame', self.backend_args)
            try:
                img = mmcv.imfrombytes(
                    data, flag='color', backend=self.imdecode_backend)
            except Exception as err:  # backends raise various types
                raise ClipDataError(clip_id, path,
                                    f'unreadable frame: {err}') from None
            if img is None:
                raise ClipDataError(clip_id, path, 'unreadable frame')
            if frames and img.shape != frames[0].shape:
                raise ClipDataError(
                    clip_id, path, f'frame size {img.shape[:2]} differs from '
                    f'the first frame {frames[0].shape[:2]}')
            frames.append(img.astype(np.float32) if self.to_float32 else img)
        results['frames'] = frames
        results['num_frames'] = len(frames)
        results['ori_shape'] = frames[0].shape[:2]
        results['img_shape'] = frames[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f"imdecode_backend='{self.imdecode_backend}')")


@TRANSFORMS.register_module()
class LoadClipMasks(BaseTransform):
    """Load the ``T`` masks of a clip and map them to training labels.

    Binary mode (``results['seg_mode'] == 'binary'``): pixels
    ``>= binary_threshold`` (255 in SSU files) become 1, others 0.
    Semantic mode: class index ``1..C``, 0 background, 255 ignore; the
    dataset's ``label_map`` (file value -> dataset value) is applied first,
    then mmseg's ``reduce_zero_label``. A frame without a mask (``None``
    path: test inputs, partially annotated clips) gets an all-255 mask.

    Required keys: ``clip_id``, ``mask_paths``, ``ori_shape``.
    Added keys: ``gt_masks`` (``T`` uint8 ``[H, W]`` arrays at
    ``ori_shape``).

    Args:
        binary_threshold (int): Binary-mode threshold. Defaults to 128.
        num_classes (int, optional): ``C``; if given, semantic values
            outside ``0..C`` and 255 are errors. Defaults to None.
        ignore_index (int): Label of ignored pixels. Defaults to 255.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 binary_threshold: int = 128,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 backend_args: Optional[dict] = None) -> None:
        self.binary_threshold = binary_threshold
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.backend_args = backend_args

    def _decode(self, clip_id: str, path: str, shape: tuple) -> np.ndarray:
        data = _read_bytes(clip_id, path, 'mask', self.backend_args)
        try:
            mask = mmcv.imfrombytes(data, flag='unchanged', backend='pillow')
        except Exception as err:  # PIL raises various types
            raise ClipDataError(clip_id, path,
                                f'unreadable mask: {err}') from None
        if mask.ndim == 3:
            if not (mask == mask[..., :1]).all():
                raise ClipDataError(clip_id, path,
                                    'mask must have a single channel')
            mask = mask[..., 0]
        if mask.shape != tuple(shape):
            raise ClipDataError(
                clip_id, path, f'mask size {mask.shape} differs from its '
                f'frame size {tuple(shape)}')
        return mask

    def _to_semantic(self, clip_id: str, path: str, mask: np.ndarray,
                     results: dict) -> np.ndarray:
        label_map = results.get('label_map')
        if label_map:
            out = mask.copy()
            for old, new in label_map.items():
                out[mask == old] = new
            unknown = set(np.unique(mask).tolist()) - set(label_map) - {
                0, self.ignore_index
            }
            mask = out
        elif self.num_classes is not None:
            unknown = {
                v
                for v in np.unique(mask).tolist()
                if v > self.num_classes and v != self.ignore_index
            }
        else:
            unknown = set()
        if unknown:
            raise ClipDataError(clip_id, path,
                                f'unknown class indices {sorted(unknown)}')
        if results.get('reduce_zero_label', False):
            mask = mask.copy()
            mask[mask == 0] = 255
            mask = mask - 1
            mask[mask == 254] = 255
        return mask

    def transform(self, results: dict) -> dict:
        clip_id, shape = results['clip_id'], results['ori_shape']
        semantic = results.get('seg_mode', 'binary') == 'semantic'
        masks = []
        for path in results['mask_paths']:
            if path is None:
                masks.append(np.full(shape, self.ignore_index, np.uint8))
                continue
            mask = self._decode(clip_id, path, shape)
            if semantic:
                mask = self._to_semantic(clip_id, path, mask, results)
            else:
                mask = mask >= self.binary_threshold
            masks.append(mask.astype(np.uint8))
        results['gt_masks'] = masks
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'binary_threshold={self.binary_threshold}, '
                f'num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')


@TRANSFORMS.register_module()
class LoadClipAudio(BaseTransform):
    """Load the clip's audio as one VGGish-style log-mel patch per frame.

    Any rate or channel count is resampled to ``sample_rate`` and mixed to
    mono (librosa). Frame ``k`` gets the ``patch_sec`` (0.96 s) of audio
    starting at ``k / fps``; audio shorter than that is zero-padded at the
    end (see :mod:`rassu_mm.datasets.audio`).

    Entirely silent audio is a legitimate input at test and inference time
    ("nothing is sounding") and is accepted by default. In training it more
    likely means a broken file, so training pipelines set
    ``reject_silence=True`` (as the dataset configs do).

    Required keys: ``clip_id``, ``audio_path``, ``frame_paths``, ``fps``.
    Added keys: ``audio`` (float32 ``[T, 1, 96, 64]``).

    Args:
        cache_dir (str, optional): Folder of an
            :class:`~rassu_mm.datasets.audio.AudioFeatureCache`; None
            disables caching. Defaults to None.
        reject_silence (bool): Reject audio whose peak amplitude is below
            ``silence_threshold`` (for training pipelines). Defaults to
            False.
        silence_threshold (float): The peak amplitude below which audio
            counts as silent. Defaults to 1e-4 (-80 dBFS).
        **params: :class:`~rassu_mm.datasets.audio.LogMelParams` fields
            (``sample_rate``, ``window_sec``, ``hop_sec``, ``num_mel_bins``,
            ``fmin``, ``fmax``, ``log_offset``, ``patch_sec``).

    Raises:
        ClipDataError: Missing, truncated or unreadable file; no samples;
            NaN/Inf samples; silent audio with ``reject_silence``.
    """

    def __init__(self,
                 cache_dir: Optional[str] = None,
                 reject_silence: bool = False,
                 silence_threshold: float = 1e-4,
                 **params) -> None:
        self.params = LogMelParams(**params)
        self.reject_silence = reject_silence
        self.silence_threshold = silence_threshold
        self.cache = AudioFeatureCache(cache_dir) if cache_dir else None

    def transform(self, results: dict) -> dict:
        clip_id, path = results['clip_id'], results['audio_path']
        num_frames = len(results['frame_paths'])
        fps = results.get('fps', 1)
        if not osp.isfile(path):
            raise ClipDataError(clip_id, path, 'audio file not found')
        key = None
        silence_threshold = (
            self.silence_threshold if self.reject_silence else None)
        if self.cache is not None:
            key = AudioFeatureCache.make_key(
                path,
                dict(
                    self.params.to_dict(),
                    num_frames=num_frames,
                    fps=fps,
                    silence_threshold=silence_threshold))
            cached = self.cache.get(key)
            if cached is not None:
                results['audio'] = cached
                return results
        try:
            wave = load_waveform(path, self.params.sample_rate,
                                 silence_threshold)
        except ValueError as err:
            raise ClipDataError(clip_id, path, str(err)) from None
        feats = log_mel_patches(wave, num_frames, fps, self.params)
        if self.cache is not None:
            self.cache.put(key, feats)
        results['audio'] = feats
        return results

    def __repr__(self) -> str:
        cache = self.cache.cache_dir if self.cache else None
        return (f'{self.__class__.__name__}(params={self.params}, '
                f'cache_dir={cache!r}, '
                f'reject_silence={self.reject_silence}, '
                f'silence_threshold={self.silence_threshold})')


@TRANSFORMS.register_module()
class LoadClipCaptions(BaseTransform):
    """Take the clip's per-frame captions as ``gt_captions``.

    Whitespace is collapsed; a missing caption stays ``None``.

    Required keys: ``clip_id``, ``captions``, ``frame_paths``.
    Added keys: ``gt_captions`` (``T`` strings or None).

    Raises:
        ClipDataError: The number of captions differs from the number of
            frames (the error names the clip's frame folder).
    """

    def transform(self, results: dict) -> dict:
        captions, frame_paths = results['captions'], results['frame_paths']
        if len(captions) != len(frame_paths):
            raise ClipDataError(
                results['clip_id'], osp.dirname(frame_paths[0]),
                f'{len(captions)} captions for {len(frame_paths)} frames')
        results['gt_captions'] = [
            ' '.join(c.split()) if c is not None else None for c in captions
        ]
        return results
