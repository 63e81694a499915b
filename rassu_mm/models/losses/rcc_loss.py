"""Region-caption consistency (RCC) loss: our reading of the paper's RCC."""
from typing import Sequence

import torch
from mmseg.registry import MODELS
from torch import Tensor

from .clip_text_loss import CLIPTextLoss


@MODELS.register_module()
class RegionCaptionConsistencyLoss(CLIPTextLoss):
    """Contrastive consistency of regions and captions within a batch.

    The paper names an "RCC" loss without defining it, next to (and
    separate from) the CLIP consistency loss (:class:`CLIPConsistencyLoss`).
    We read it as region-caption consistency *relative to the other
    captions*: a symmetric InfoNCE loss between the L2-normalised CLIP
    image embeddings ``r_i`` of the masked frames (MCM's ``region_embeds``)
    and the CLIP text embeddings ``t_j`` of the captions of the batch::

        s_ij = r_i . t_j / temperature
        loss = (mean_i -log sum_{j in P(i)} softmax_j(s_i.)
                + mean_j -log sum_{i in P(j)} softmax_i(s_.j)) / 2

    where ``P(i)`` are the frames whose caption is identical to frame
    ``i``'s (repeated captions are not negatives of each other). With
    frozen CLIP towers only the masks (through MCM's straight-through mask)
    move: a mask must select the region its own caption describes rather
    than the regions of the other captions. Unlike the absolute distance of
    the CLIP consistency loss, this is unaffected by the constant offset
    between CLIP's image and text embeddings (the modality gap). A batch
    with a single distinct caption gives zero.

    Args:
        temperature (float): softmax temperature (CLIP's trained logit
            scale 100 is ``0.01``).
        loss_name (str): key of the loss in the loss dict.
        **kwargs: :class:`CLIPTextLoss` arguments (``clip``,
            ``pretrained``, ``tokenizer``, ``normalize``, ``loss_weight``).
    """

    def __init__(self,
                 temperature: float = 0.01,
                 loss_name: str = 'loss_rcc',
                 **kwargs):
        super().__init__(loss_name=loss_name, **kwargs)
        self.temperature = temperature

    def loss_by_embeds(self, region: Tensor, text: Tensor,
                       captions: Sequence[str]) -> Tensor:
        """Symmetric multi-positive InfoNCE of regions ``[M, D]`` and
        captions ``[M, D]``."""
        index = {c: i for i, c in enumerate(dict.fromkeys(captions))}
        ids = torch.tensor([index[c] for c in captions],
                           device=region.device)
        positive = ids[:, None] == ids[None]
        logits = region @ text.t() / self.temperature
        return (_multi_positive_nll(logits, positive) +
                _multi_positive_nll(logits.t(), positive.t())) / 2


def _multi_positive_nll(logits: Tensor, positive: Tensor) -> Tensor:
    """``mean_i -log sum_{j: positive[i, j]} softmax(logits[i])_j``.

    Written as ``logsumexp(all) - logsumexp(positives)``, so a row whose
    entries are all positives gives exactly zero.
    """
    logits = logits.float()
    return (torch.logsumexp(logits, dim=-1) - torch.logsumexp(
        logits.masked_fill(~positive, float('-inf')), dim=-1)).mean()
