"""Clip-consistent geometric and photometric augmentation.

Each transform takes ONE random decision per clip and applies it to all
``T`` frames and masks, reusing the single-image logic of mmcv/mmseg.
"""
import re

import mmcv
import numpy as np
from mmcv.transforms import RandomFlip, Resize

from mmseg.datasets.transforms import PhotoMetricDistortion, RandomCrop
from mmseg.registry import TRANSFORMS

_SWAPS = {
    'horizontal': {
        'left': 'right',
        'right': 'left',
        'leftmost': 'rightmost',
        'rightmost': 'leftmost',
    },
    'vertical': {
        'top': 'bottom',
        'bottom': 'top',
        'upper': 'lower',
        'lower': 'upper',
        'above': 'below',
        'below': 'above',
        'topmost': 'bottommost',
        'bottommost': 'topmost',
    },
}
_SWAPS['diagonal'] = {**_SWAPS['horizontal'], **_SWAPS['vertical']}
_PATTERNS = {
    direction: re.compile(r'\b(' + '|'.join(words) + r')\b', re.IGNORECASE)
    for direction, words in _SWAPS.items()
}


def swap_position_words(caption: str, direction: str) -> str:
    """Swap position words to match a flipped frame, keeping their case.

    ``'horizontal'`` swaps left/right (and leftmost/rightmost),
    ``'vertical'`` top/bottom, upper/lower, above/below; ``'diagonal'``
    both. Words are matched whole (``'bright'`` is untouched).
    """
    swaps = _SWAPS[direction]

    def replace(match: re.Match) -> str:
        word = match.group(0)
        new = swaps[word.lower()]
        if word.isupper() and len(word) > 1:
            return new.upper()
        if word[0].isupper():
            return new.capitalize()
        return new

    return _PATTERNS[direction].sub(replace, caption)


@TRANSFORMS.register_module()
class ClipResize(Resize):
    """:class:`mmcv.transforms.Resize` applied to every frame and mask.

    Frames use ``interpolation``, masks nearest neighbour. Works as the
    ``resize_type`` of mmcv's ``RandomResize``/``RandomChoiceResize``.

    Required keys: ``frames``; optional ``gt_masks``.
    Modified keys: ``frames``, ``gt_masks``, ``img_shape``.
    Added keys: ``scale``, ``scale_factor`` (w, h), ``keep_ratio``.

    Args: see :class:`mmcv.transforms.Resize` (``scale``, ``scale_factor``,
        ``keep_ratio``, ``backend``, ``interpolation``).
    """

    def transform(self, results: dict) -> dict:
        masks = results.get('gt_masks')
        frames, new_masks = [], []
        for t, frame in enumerate(results['frames']):
            single = dict(img=frame)
            if masks is not None:
                single['gt_seg_map'] = masks[t]
            single = super().transform(single)
            frames.append(single['img'])
            if masks is not None:
                new_masks.append(single['gt_seg_map'])
        results['frames'] = frames
        if masks is not None:
            results['gt_masks'] = new_masks
        for key in ('img_shape', 'scale', 'scale_factor', 'keep_ratio'):
            results[key] = single[key]
        return results


@TRANSFORMS.register_module()
class ClipRandomCrop(RandomCrop):
    """:class:`mmseg.datasets.transforms.RandomCrop` with one crop box for
    all frames; ``cat_max_ratio`` counts labels over all masks of the clip.

    Required keys: ``frames``; optional ``gt_masks`` (required when
    ``cat_max_ratio < 1``).
    Modified keys: ``frames``, ``gt_masks``, ``img_shape``.

    Args:
        crop_size (int | tuple[int, int]): ``(h, w)`` of the crop.
        cat_max_ratio (float): Max area ratio of a single label.
        ignore_index (int): Label ignored by ``cat_max_ratio``.
    """

    def transform(self, results: dict) -> dict:
        masks = results.get('gt_masks')
        probe = dict(img=results['frames'][0])
        if masks is not None:
            probe['gt_seg_map'] = np.stack(masks, axis=-1)  # [H, W, T]
        elif self.cat_max_ratio < 1.:
            raise KeyError('ClipRandomCrop with cat_max_ratio < 1 needs '
                           'gt_masks: put it after LoadClipMasks')
        bbox = self.crop_bbox(probe)
        results['frames'] = [self.crop(f, bbox) for f in results['frames']]
        if masks is not None:
            results['gt_masks'] = [self.crop(m, bbox) for m in masks]
        results['img_shape'] = results['frames'][0].shape[:2]
        return results


@TRANSFORMS.register_module()
class ClipRandomFlip(RandomFlip):
    """:class:`mmcv.transforms.RandomFlip` with ONE decision per clip.

    All frames and masks are flipped (or none), and the position words of
    every caption are swapped accordingly (:func:`swap_position_words`).

    Required keys: ``frames``; optional ``gt_masks``, ``gt_captions``.
    Modified keys: ``frames``, ``gt_masks``, ``gt_captions``.
    Added keys: ``flip`` (bool), ``flip_direction`` (str or None).

    Args:
        prob (float | list[float]): Flip probability (per direction).
        direction (str | list[str]): ``'horizontal'``, ``'vertical'``,
            ``'diagonal'``. Defaults to ``'horizontal'``.
        swap_seg_labels (list[tuple[int, int]], optional): Label pairs to
            swap in flipped masks (mmcv semantics).
    """

    def transform(self, results: dict) -> dict:
        direction = self._choose_direction()
        results['flip'] = direction is not None
        results['flip_direction'] = direction
        if direction is None:
            return results
        results['frames'] = [
            mmcv.imflip(f, direction=direction) for f in results['frames']
        ]
        if 'gt_masks' in results:
            results['gt_masks'] = [
                self._flip_seg_map(m, direction) for m in results['gt_masks']
            ]
        if 'gt_captions' in results:
            results['gt_captions'] = [
                None if c is None else swap_position_words(c, direction)
                for c in results['gt_captions']
            ]
        return results


@TRANSFORMS.register_module()
class ClipPhotoMetricDistortion(PhotoMetricDistortion):
    """mmseg's :class:`PhotoMetricDistortion` with the same random draws
    (brightness, contrast, saturation, hue, their order) for every frame.

    The numpy random state is saved once and restored before each frame,
    so mmseg's per-image logic is replayed identically across the clip.

    Required / modified keys: ``frames`` (uint8 ``[H, W, 3]`` BGR).

    Args: as :class:`mmseg.datasets.transforms.PhotoMetricDistortion`.
    """

    def transform(self, results: dict) -> dict:
        state = np.random.get_state()
        frames = []
        for frame in results['frames']:
            np.random.set_state(state)
            frames.append(super().transform(dict(img=frame))['img'])
        results['frames'] = frames
        return results
