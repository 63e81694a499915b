"""PVT-v2 backbone whose pretrained weights load strictly."""
from mmdet.models.backbones.pvt import PyramidVisionTransformerV2, pvt_convert

from mmseg.registry import MODELS
from ..utils.checkpointing import checkpoint_layers
from ..utils.pretrained import load_checkpoint_strict


@MODELS.register_module()
class PVTv2(PyramidVisionTransformerV2):
    """mmdet's ``PyramidVisionTransformerV2``, loading pretrained weights
    strictly, with optional activation checkpointing.

    mmdet loads the ``init_cfg`` checkpoint with ``strict=False``: a file of
    another PVT variant, or a converted file passed with
    ``convert_weights=True``, leaves layers random with only a log line.
    Here the file (the official release, converted by mmdet's
    ``pvt_convert`` when ``convert_weights``) must provide every weight of
    the backbone with its shape, and nothing else than the classifier
    (``head``, dropped by the conversion); otherwise :meth:`init_weights`
    raises ``PretrainedKeysError`` naming the keys. A missing file raises
    ``FileNotFoundError`` saying how to get it. Same arguments as mmdet's
    class; ``init_cfg=dict(type='Pretrained', checkpoint=...)``.

    Args:
        with_cp (bool): Recompute each transformer block's activations in
            the backward pass instead of keeping them (less memory, about
            one more forward pass of the blocks per step); only while a
            gradient is recorded, so inference is unchanged. Outputs,
            gradients and weight names are those without it. Defaults to
            False.
        **kwargs: The arguments of mmdet's ``PyramidVisionTransformerV2``.
    """

    def __init__(self, with_cp: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.with_cp = with_cp
        if with_cp:
            for _, blocks, _ in self.layers:
                checkpoint_layers(blocks)

    def init_weights(self) -> None:
        """Load the ``Pretrained`` ``init_cfg`` file strictly, or initialise
        randomly as mmdet does without one."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        checkpoint = cfg['checkpoint']
        load_checkpoint_strict(
            self, checkpoint, f'{type(self).__name__} init_cfg.checkpoint',
            'pvt_v2_b5' if checkpoint.endswith('pvt_v2_b5.pth') else None,
            revise=pvt_convert if self.convert_weights else None)
