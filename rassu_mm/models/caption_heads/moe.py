"""Mixture-of-experts feed-forward layer with top-k routing."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MoEFeedForward(nn.Module):
    """Top-k routed mixture of FFN experts (dropless, GShard/Switch style).

    Each token's router sees the token and a context vector (the
    hierarchical prompt), picks the ``top_k`` experts with the highest
    softmax probability and sums their outputs weighted by the gates (the
    top-k probabilities renormalised to sum to 1 when ``top_k > 1``; the raw
    probability when ``top_k == 1``, as in Switch, so the router still learns
    from the task loss). Every token is processed by its experts (no capacity
    limit, no dropped tokens), so a token's output never depends on the other
    tokens of the batch and cached decoding equals uncached decoding.

    Load-balancing loss (Switch Transformer, Fedus et al. 2021), over the
    valid tokens::

        loss = E * sum_e f_e * P_e

    where ``f_e`` is the fraction of the ``k * M`` routing assignments that
    went to expert ``e`` and ``P_e`` the mean router probability of ``e``.
    It equals 1 whenever the assignments are balanced (``f_e = 1 / E``) and
    approaches ``E`` when every token goes to one expert with probability
    close to 1 (for ``top_k = 1``). Only ``P`` carries gradient.

    Args:
        embed_dims (int): token channels ``C``.
        feedforward_channels (int): hidden channels of each expert.
        num_experts (int): ``E``.
        top_k (int): experts per token.
        context_dims (int): channels of the router's extra context (0: the
            router sees only the token).
        dropout (float): dropout inside the experts.
    """

    def __init__(self,
                 embed_dims: int,
                 feedforward_channels: int,
                 num_experts: int = 4,
                 top_k: int = 2,
                 context_dims: int = 0,
                 dropout: float = 0.):
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f'top_k must be in [1, {num_experts}], '
                             f'got {top_k}')
        self.num_experts = num_experts
        self.top_k = top_k
        self.router = nn.Linear(embed_dims + context_dims, num_experts)
        self.experts = nn.ModuleList(
            nn.Sequential(
                nn.Linear(embed_dims, feedforward_channels), nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(feedforward_channels, embed_dims))
            for _ in range(num_experts))

    def forward(self,
                x: Tensor,
                context: Optional[Tensor] = None,
                valid: Optional[Tensor] = None
                ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Route and transform tokens.

        Args:
            x (Tensor): tokens ``[..., C]``.
            context (Tensor, optional): router context ``[..., Cc]``
                (broadcast to ``x``'s leading dims).
            valid (Tensor, optional): bool ``[...]``; only True tokens count
                in the load-balancing statistics (e.g. not padding).

        Returns:
            tuple: output ``[..., C]`` and ``dict(loss_balance=scalar,
            usage=[E] fraction of assignments per expert)``.
        """
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])
        router_in = tokens
        if context is not None:
            context = context.expand(*shape[:-1], context.shape[-1])
            router_in = torch.cat([tokens, context.reshape(len(tokens), -1)],
                                  -1)
        probs = F.softmax(self.router(router_in).float(), dim=-1)
        gates, experts = probs.topk(self.top_k, dim=-1)
        if self.top_k > 1:
            gates = gates / gates.sum(-1, keepdim=True)
        out = torch.zeros_like(tokens)
        for e, expert in enumerate(self.experts):
            token_idx, slot = torch.nonzero(experts == e, as_tuple=True)
            if len(token_idx):
                # under autocast the experts return float16/bfloat16
                y = expert(tokens[token_idx]) * gates[token_idx, slot, None]
                out.index_add_(0, token_idx, y.to(out.dtype))
        return out.reshape(shape), self._balance(probs, experts, valid)

    def _balance(self, probs: Tensor, experts: Tensor,
                 valid: Optional[Tensor]) -> Dict[str, Tensor]:
        """Switch load-balancing loss and expert usage over valid tokens."""
        if valid is not None:
            keep = valid.reshape(-1)
            probs, experts = probs[keep], experts[keep]
        counts = F.one_hot(experts, self.num_experts).sum((0, 1)).float()
        usage = counts / counts.sum().clamp(min=1)
        mean_prob = probs.mean(0) if len(probs) else probs.sum(0)
        loss = self.num_experts * (usage * mean_prob).sum()
        return dict(loss_balance=loss, usage=usage)
