"""Label-smoothed token cross-entropy for caption decoders."""
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class CaptionCrossEntropyLoss(nn.Module):
    """Cross-entropy over tokens with label smoothing, ignoring padding.

    The loss is the mean over all non-ignored tokens of the batch.

    Args:
        label_smoothing (float): smoothing of the one-hot targets.
        ignore_index (int): target value of padding positions.
        loss_weight (float): multiplier of the loss.
        loss_name (str): key of the loss in the loss dict.
    """

    def __init__(self,
                 label_smoothing: float = 0.1,
                 ignore_index: int = -100,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_caption'):
        super().__init__()
        self.label_smoothing = label_smoothing
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Args: logits ``[N, S, V]``, targets ``[N, S]`` long. Returns a
        scalar."""
        return self.loss_weight * F.cross_entropy(
            logits.flatten(0, 1).float(), targets.flatten(),
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing)
