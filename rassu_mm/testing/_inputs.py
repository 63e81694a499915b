"""Tiny generated inputs: clips as ``PackSSUInputs`` packs them and
batches as ``pseudo_collate`` hands them to the model."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData

from rassu_mm.structures import SSUDataSample

DEMO_CAPTION = 'the man on the left is playing the violin in the room'
SeedType = Union[int, torch.Generator]


def _generator(seed: SeedType) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(seed)


def demo_clip(shape: Tuple[int, int] = (32, 32),
              num_frames: int = 2,
              num_classes: int = 2,
              seed: SeedType = 0,
              captions: Optional[Sequence[Optional[str]]] = None,
              categories: Sequence[str] = (),
              with_gt: bool = True,
              zeros: bool = False,
              **metainfo) -> dict:
    """One clip as the data pipeline packs it (``docs/data_contract.md``).

    Args:
        shape (tuple[int]): Frame ``(H, W)`` after the pipeline
            (``img_shape``).
        num_frames (int): ``T``.
        num_classes (int): Labels of ``gt_sem_seg`` are drawn from
            ``[0, num_classes)``.
        seed (int | torch.Generator): Seed of the random content, or a
            generator to draw it from (several clips from one stream).
        captions (list[str | None], optional): ``gt_captions``, one per
            frame (``None``: a frame without caption). Defaults to
            :data:`DEMO_CAPTION` for every frame.
        categories (list[str]): Sounding categories of the clip.
        with_gt (bool): Attach ``gt_sem_seg``, ``gt_captions`` and
            ``categories`` (False: an inference input).
        zeros (bool): All-zero frames and audio and an all-background mask
            instead of random ones.
        **metainfo: Overrides of the metainfo (``clip_id``,
            ``ori_shape``, ``flip``, ``dataset_name``...).

    Returns:
        dict: ``inputs=dict(frames=uint8 [T, 3, H, W] BGR, audio=float32
        [T, 1, 96, 64])`` and ``data_samples`` (:class:`SSUDataSample`).
    """
    gen = _generator(seed)
    height, width = shape
    meta = dict(
        clip_id='demo_clip',
        num_frames=num_frames,
        ori_shape=(height, width),
        img_shape=(height, width),
        flip=False,
        flip_direction=None,
        dataset_name=None)
    meta.update(metainfo)
    sample = SSUDataSample(metainfo=meta)
    if zeros:
        frames = torch.zeros(num_frames, 3, height, width, dtype=torch.uint8)
        audio = torch.zeros(num_frames, 1, 96, 64)
        labels = torch.zeros(num_frames, height, width, dtype=torch.long)
    else:
        labels = torch.randint(
            0, num_classes, (num_frames, height, width), generator=gen)
        frames = torch.randint(
            0,
            256, (num_frames, 3, height, width),
            generator=gen,
            dtype=torch.uint8)
        audio = torch.randn(num_frames, 1, 96, 64, generator=gen)
    if with_gt:
        sample.gt_sem_seg = PixelData(data=labels)
        sample.gt_captions = list(captions) if captions is not None else \
            [DEMO_CAPTION] * num_frames
        sample.categories = list(categories)
    return dict(inputs=dict(frames=frames, audio=audio), data_samples=sample)


def demo_mm_inputs(shapes: Sequence[Tuple[int, int]] = ((32, 32), ),
                   num_frames: int = 2,
                   seed: int = 0,
                   **kwargs) -> dict:
    """A batch of clips as ``pseudo_collate`` gives it to the model's
    data preprocessor: ``dict(inputs=dict(frames=[...], audio=[...]),
    data_samples=[...])``.

    Args:
        shapes (list[tuple[int]]): ``(H, W)`` of each clip (clips of one
            batch may differ in size).
        num_frames (int): ``T`` of every clip.
        seed (int): Clip ``i`` is :func:`demo_clip` with seed ``seed + i``
            and ``clip_id`` ``'demo_<i>'``.
        **kwargs: Passed to :func:`demo_clip`.
    """
    clips = [
        demo_clip(
            tuple(shape),
            num_frames,
            seed=seed + i,
            **{'clip_id': f'demo_{i}', **kwargs})
        for i, shape in enumerate(shapes)
    ]
    return pseudo_collate(clips)
