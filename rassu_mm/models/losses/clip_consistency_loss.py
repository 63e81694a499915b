"""The paper's CLIP consistency loss between regions and captions."""
from typing import Sequence

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .clip_text_loss import CLIPTextLoss


@MODELS.register_module()
class CLIPConsistencyLoss(CLIPTextLoss):
    """``L = mean_i d(r_i, t_i)``: the paper's CLIP consistency loss.

    ``r_i = CLIP_image(masked frame i)`` (MCM's ``region_embeds``) and ``t_i
    = CLIP_text(caption_i)`` over the frames with a caption; with
    ``normalize`` both are L2-normalised first; ``d`` is the Euclidean
    distance ``||r - t||_2`` (``'l2'``, the paper's formula) or ``1 -
    cos(r, t)`` (``'cosine'``). Each region is pulled towards its own
    caption only.

    Args:
        distance (str): ``'l2'`` or ``'cosine'``.
        loss_name (str): key of the loss in the loss dict.
        **kwargs: :class:`CLIPTextLoss` arguments (``clip``,
            ``pretrained``, ``tokenizer``, ``normalize``, ``loss_weight``).
    """

    def __init__(self,
                 distance: str = 'l2',
                 loss_name: str = 'loss_clip',
                 **kwargs):
        super().__init__(loss_name=loss_name, **kwargs)
        if distance not in ('l2', 'cosine'):
            raise ValueError(f"distance must be 'l2' or 'cosine', "
                             f'got {distance!r}')
        self.distance = distance

    def loss_by_embeds(self, region: Tensor, text: Tensor,
                       captions: Sequence[str]) -> Tensor:
        """Mean distance of each region ``[M, D]`` to its caption
        ``[M, D]``."""
        if self.distance == 'l2':
            return (region - text).norm(dim=-1).mean()
        return (1 - F.cosine_similarity(region, text, dim=-1)).mean()
