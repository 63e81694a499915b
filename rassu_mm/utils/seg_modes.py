"""Mask modes of a dataset in the SSU format (``SSUDataset(seg_mode=...)``).

The dataset writes its mode into its metainfo; the metric and the
visualizer read it there (as mmseg's read the classes), so a config states
it once, on the dataset.
"""
from typing import Optional

SEG_MODES = ('binary', 'semantic')


def seg_mode_of(dataset_meta: Optional[dict], reader: str) -> str:
    """``dataset_meta['seg_mode']``, checked.

    Args:
        dataset_meta (dict, optional): A dataset's metainfo.
        reader (str): Who reads it, named in the error.

    Raises:
        ValueError: The metainfo has no valid ``seg_mode``.
    """
    mode = (dataset_meta or {}).get('seg_mode')
    if mode not in SEG_MODES:
        raise ValueError(f'{reader} reads seg_mode {SEG_MODES} from '
                         f'dataset_meta (SSUDataset writes it), got {mode!r}')
    return mode
