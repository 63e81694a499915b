"""mmdet's ``MSDeformAttnPixelDecoder`` with activation checkpointing."""
from mmdet.models.layers import MSDeformAttnPixelDecoder as _MMDetDecoder

from mmseg.registry import MODELS
from ..utils.checkpointing import checkpoint_layers


@MODELS.register_module()
class MSDeformAttnPixelDecoder(_MMDetDecoder):
    """``mmdet.MSDeformAttnPixelDecoder`` whose encoder layers can
    recompute their activations in the backward pass.

    mmdet's own switch (the encoder's ``num_cp``) needs fairscale; this one
    uses :func:`torch.utils.checkpoint.checkpoint` through
    :func:`~rassu_mm.models.utils.checkpointing.checkpoint_layers`. Without
    ``with_cp`` it is mmdet's class: same weights at the same seed, same
    names, same outputs.

    Args:
        with_cp (bool): Checkpoint each deformable-attention encoder layer
            (only while a gradient is recorded; outputs and gradients
            unchanged). Defaults to False.
        **kwargs: The arguments of mmdet's ``MSDeformAttnPixelDecoder``.
    """

    def __init__(self, with_cp: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.with_cp = with_cp
        if with_cp:
            checkpoint_layers(self.encoder.layers)
