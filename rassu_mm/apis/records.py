"""The per-frame records of window predictions: which sampled frames a
window predicts first, and what is recorded of each."""
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np


def new_frames(sample) -> Iterator[Tuple[int, np.ndarray, Optional[str]]]:
    """``(k, mask [H, W] uint8, caption)`` of the sampled frames of a
    window's prediction (an ``SSUDataSample`` with the window's
    ``frame_indices`` and ``num_new``) that no earlier window predicted."""
    masks = sample.pred_sem_seg.data.cpu().numpy().astype(np.uint8)
    captions = sample.get('pred_captions') or [None] * len(masks)
    indices = sample.frame_indices
    for t in range(len(indices) - sample.num_new, len(indices)):
        yield indices[t], masks[t], captions[t]


def frame_record(k: int,
                 mask: np.ndarray,
                 caption: Optional[str],
                 sample_fps: float,
                 classes: Optional[Sequence[str]] = None) -> dict:
    """The record of sampled frame ``k``.

    Args:
        k (int): The sampled frame's index.
        mask (np.ndarray): Its mask ``[H, W]`` uint8 (0: background, 255:
            ignored, others: sounding).
        caption (str, optional): Its caption.
        sample_fps (float): Sampled frames per second.
        classes (Sequence[str], optional): A semantic model's class names
            (label ``i`` is ``classes[i - 1]``); None for a binary model.

    Returns:
        dict: ``frame`` (``k``), ``time`` (s), ``caption``,
        ``sounding_area`` (share of sounding pixels) and, with ``classes``,
        ``labels`` (the mask's sounding labels) and ``classes`` (their
        names; a label past ``classes`` has none).
    """
    record = dict(
        frame=k,
        time=k / sample_fps,
        caption=caption,
        sounding_area=float(((mask != 0) & (mask != 255)).mean()))
    if classes is not None:
        labels = [int(v) for v in np.unique(mask) if v not in (0, 255)]
        record.update(
            labels=labels,
            classes=[classes[v - 1] for v in labels if v <= len(classes)])
    return record


def new_frame_records(
        preds: Sequence,
        sample_fps: float,
        classes: Optional[Sequence[str]] = None
) -> Tuple[List[dict], List[np.ndarray]]:
    """The records (:func:`frame_record`) and the masks ([H, W] uint8) of
    the sampled frames new in the window predictions ``preds``
    (:func:`new_frames`), in order."""
    new = [frame for sample in preds for frame in new_frames(sample)]
    records = [frame_record(*frame, sample_fps, classes) for frame in new]
    return records, [mask for _, mask, _ in new]
