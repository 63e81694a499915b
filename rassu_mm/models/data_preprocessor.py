"""Batches clips of frames and audio into frame-level tensors."""
from numbers import Number
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseDataPreprocessor

from mmseg.registry import MODELS
from mmseg.utils import stack_batch


@MODELS.register_module()
class SSUDataPreprocessor(BaseDataPreprocessor):
    """Normalise, pad and stack clips into frame batches.

    Input (``pseudo_collate`` of ``PackSSUInputs`` outputs)::

        inputs = dict(frames=[B x uint8 [T, 3, H_b, W_b] BGR],
                      audio=[B x float [T, 1, 96, 64]])
        data_samples = [B x SSUDataSample]

    Output::

        inputs = dict(frames=float [B*T, 3, Hp, Wp] (RGB, normalised),
                      audio=float [B*T, 1, 96, 64])
        data_samples = the same B samples with metainfo ``img_shape``,
            ``pad_shape`` and ``padding_size`` set; in training their
            ``gt_sem_seg`` is padded to ``[T, Hp, Wp]`` with ``seg_pad_val``.

    Frame ``b * T + t`` is frame ``t`` of clip ``b``. All clips of a batch
    must have the same number of frames. Frames are padded on the right and
    bottom to a common size: ``size`` if given, else the largest frame of
    the batch rounded up to ``size_divisor`` (as mmseg's ``stack_batch``).
    Frames are padded in training and testing alike.

    Args:
        mean (Sequence[Number], optional): Per-channel mean (in the order
            after ``bgr_to_rgb``). Defaults to None (no normalisation).
        std (Sequence[Number], optional): Per-channel std.
        size (tuple[int, int], optional): Fixed padded size ``(H, W)``.
        size_divisor (int, optional): Pad to a multiple of this.
        pad_val (float): Padding value of frames. Defaults to 0.
        seg_pad_val (int): Padding value of ``gt_sem_seg``. Defaults to 255.
        bgr_to_rgb (bool): Convert the BGR frames to RGB. Defaults to True.
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 size: Optional[tuple] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: float = 0,
                 seg_pad_val: int = 255,
                 bgr_to_rgb: bool = True) -> None:
        super().__init__()
        assert (mean is None) == (std is None), \
            'mean and std must be given together'
        self._enable_normalize = mean is not None
        if self._enable_normalize:
            self.register_buffer('mean',
                                 torch.tensor(mean).view(1, -1, 1, 1), False)
            self.register_buffer('std',
                                 torch.tensor(std).view(1, -1, 1, 1), False)
        assert size is None or size_divisor is None, \
            'only one of size and size_divisor may be set'
        self.size = size
        # stack_batch pads to the batch maximum only with a size_divisor
        self.size_divisor = None if size is not None else size_divisor or 1
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.bgr_to_rgb = bgr_to_rgb

    @property
    def rgb_mean_std(self) -> Tuple[List[float], List[float]]:
        """The ``mean`` and ``std`` (0-255 scale) the frames are normalised
        with, ``([0, 0, 0], [1, 1, 1])`` without normalisation; modules that
        undo the normalisation (MCM) are given these by the segmentor."""
        if not self._enable_normalize:
            return [0.0] * 3, [1.0] * 3
        return self.mean.flatten().tolist(), self.std.flatten().tolist()

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Preprocess one batch.

        Args:
            data (dict): ``inputs`` (dict of lists) and ``data_samples``.
            training (bool): Pad ``gt_sem_seg`` along with the frames.

        Returns:
            dict: ``inputs`` (dict of frame-level tensors) and
            ``data_samples``.
        """
        data = self.cast_data(data)
        inputs, data_samples = data['inputs'], data.get('data_samples')
        clips = [self._normalize(clip) for clip in inputs['frames']]
        num_frames = {clip.shape[0] for clip in clips}
        assert len(num_frames) == 1, \
            f'all clips of a batch need the same number of frames, ' \
            f'got {sorted(num_frames)}'
        # like mmseg: ground truth is padded for training only, test-time
        # ground truth keeps its (original) size for the metrics
        # stack_batch pads [C, H, W] tensors: fold the frames into channels
        frames, _ = stack_batch([clip.flatten(0, 1) for clip in clips],
                                data_samples if training else None,
                                size=self.size,
                                size_divisor=self.size_divisor,
                                pad_val=self.pad_val,
                                seg_pad_val=self.seg_pad_val)
        pad_h, pad_w = frames.shape[-2:]
        for clip, sample in zip(clips, data_samples or []):
            height, width = clip.shape[-2:]
            sample.set_metainfo(
                dict(
                    img_shape=(height, width),
                    pad_shape=(pad_h, pad_w),
                    padding_size=(0, pad_w - width, 0, pad_h - height)))
        audio = torch.cat([clip.float() for clip in inputs['audio']])
        frames = frames.view(-1, 3, pad_h, pad_w)
        assert audio.shape[0] == frames.shape[0], \
            'each clip needs one audio window per frame'
        return dict(
            inputs=dict(frames=frames, audio=audio), data_samples=data_samples)

    def _normalize(self, clip: torch.Tensor) -> torch.Tensor:
        """uint8 ``[T, 3, H, W]`` -> float ``[T, 3, H, W]``."""
        clip = clip.float()
        if self.bgr_to_rgb:
            clip = clip[:, [2, 1, 0]]
        if self._enable_normalize:
            clip = (clip - self.mean) / self.std
        return clip
