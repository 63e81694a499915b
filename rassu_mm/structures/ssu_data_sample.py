"""Clip-level data sample shared by datasets, models, metrics and tools."""
from typing import List, Optional

from mmseg.structures import SegDataSample


class SSUDataSample(SegDataSample):
    """A :class:`SegDataSample` that describes one clip of ``T`` frames.

    Pixel fields (all :class:`mmengine.structures.PixelData`):

    - ``gt_sem_seg``: ``[T, H, W]`` long. Binary mode: 0 silent, 1 sounding;
      semantic mode: 0 background, ``1..C`` class index; 255 ignore.
    - ``pred_sem_seg``: ``[T, H, W]`` long, same coding as ``gt_sem_seg``.
    - ``seg_logits``: ``[T, H, W]`` float, the logit that a pixel is
      sounding (semantic mode: the logit of ``1 - P(background)``).

    Text fields:

    - ``gt_captions``: ``T`` reference sentences, ``None`` where a frame has
      no caption (then it is left out of caption losses and metrics).
    - ``pred_captions``: ``T`` generated sentences.
    - ``categories``: the clip's sounding categories (class names).

    Metainfo keys set by the pipeline: ``clip_id``, ``num_frames``,
    ``frame_paths``, ``ori_shape`` (H, W of the original frames),
    ``img_shape`` (after resizing/cropping), ``pad_shape`` (after padding in
    the data preprocessor), ``flip``, ``flip_direction``, ``dataset_name``.
    """

    @property
    def gt_captions(self) -> List[Optional[str]]:
        return self._gt_captions

    @gt_captions.setter
    def gt_captions(self, value: List[Optional[str]]) -> None:
        self.set_field(list(value), '_gt_captions', dtype=list)

    @gt_captions.deleter
    def gt_captions(self) -> None:
        del self._gt_captions

    @property
    def pred_captions(self) -> List[str]:
        return self._pred_captions

    @pred_captions.setter
    def pred_captions(self, value: List[str]) -> None:
        self.set_field(list(value), '_pred_captions', dtype=list)

    @pred_captions.deleter
    def pred_captions(self) -> None:
        del self._pred_captions

    @property
    def categories(self) -> List[str]:
        return self._categories

    @categories.setter
    def categories(self, value: List[str]) -> None:
        self.set_field(list(value), '_categories', dtype=list)

    @categories.deleter
    def categories(self) -> None:
        del self._categories
