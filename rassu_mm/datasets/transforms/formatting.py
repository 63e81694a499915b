"""Pack a clip into model inputs and an :class:`SSUDataSample`."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from mmseg.registry import TRANSFORMS
from rassu_mm.structures import SSUDataSample


@TRANSFORMS.register_module()
class PackSSUInputs(BaseTransform):
    """Pack a clip for the model (``docs/data_contract.md``).

    Output: ``dict(inputs=dict(frames=uint8 [T, 3, H, W] BGR tensor,
    audio=float32 [T, 1, 96, 64] tensor), data_samples=SSUDataSample)``
    where the sample holds ``gt_sem_seg`` (PixelData, int64 ``[T, H, W]``)
    if ``gt_masks`` were loaded, ``gt_captions`` if captions were loaded,
    ``categories`` and the ``meta_keys`` present in ``results``.

    Args:
        meta_keys (tuple[str]): Keys copied into the sample's metainfo.
    """

    def __init__(self,
                 meta_keys=('clip_id', 'num_frames', 'frame_paths',
                            'audio_path', 'fps', 'dataset_name', 'seg_mode',
                            'ori_shape', 'img_shape', 'scale_factor', 'flip',
                            'flip_direction', 'reduce_zero_label')) -> None:
        self.meta_keys = meta_keys

    def transform(self, results: dict) -> dict:
        frames = np.stack(results['frames'])  # [T, H, W, 3]
        inputs = dict(
            frames=torch.from_numpy(
                np.ascontiguousarray(frames.transpose(0, 3, 1, 2))),
            audio=torch.from_numpy(
                np.ascontiguousarray(results['audio'], dtype=np.float32)))
        sample = SSUDataSample()
        if 'gt_masks' in results:
            masks = np.stack(results['gt_masks']).astype(np.int64)
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(masks))
        if 'gt_captions' in results:
            sample.gt_captions = results['gt_captions']
        sample.categories = results.get('categories', [])
        sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
