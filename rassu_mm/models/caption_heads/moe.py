"""Mixture-of-experts feed-forward layer with top-k routing."""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import draw_seeds, rng_stream


class MoEFeedForward(nn.Module):
    """Top-k routed mixture of FFN experts (dropless, GShard/Switch style).

    Each token's router sees the token and a context vector (the
    hierarchical prompt), picks the ``top_k`` experts with the highest
    softmax probability and sums their outputs weighted by the gates (the
    top-k probabilities renormalised to sum to 1 when ``top_k > 1``; the raw
    probability when ``top_k == 1``, as in Switch, so the router still learns
    from the task loss). Every token is processed by its experts (no capacity
    limit, no dropped tokens), so a token's output never depends on the other
    tokens of the batch and cached decoding equals uncached decoding. Two
    dispatches give the same output: dense (every expert on every token,
    weight 0 where not chosen; no host sync, compiles to one graph) in
    inference and on accelerators, sparse (each expert on its tokens:
    ``top_k / E`` of the FLOPs, one host sync per expert) in training on the
    CPU, where it is faster.

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

    The experts' weights are stacked: ``w1`` ``[E, F, C]``, ``b1``
    ``[E, F]``, ``w2`` ``[E, C, F]``, ``b2`` ``[E, C]`` (expert ``e`` is
    ``Linear(C, F) -> GELU -> Dropout -> Linear(F, C)`` with weights
    ``w1[e]``, ``b1[e]``, ``w2[e]``, ``b2[e]``), so the dense dispatch runs
    all experts in two batched matrix products.
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
        # the router's shape depends on the experts and the context: drawn
        # from a stream of its own, it shifts no other draw
        router_seed, = draw_seeds(1)
        with rng_stream(router_seed):
            self.router = nn.Linear(embed_dims + context_dims, num_experts)
        self.w1 = nn.Parameter(
            torch.empty(num_experts, feedforward_channels, embed_dims))
        self.b1 = nn.Parameter(torch.empty(num_experts, feedforward_channels))
        self.w2 = nn.Parameter(
            torch.empty(num_experts, embed_dims, feedforward_channels))
        self.b2 = nn.Parameter(torch.empty(num_experts, embed_dims))
        self.drop = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Each expert's layers as ``nn.Linear`` initialises them: expert 0
        from the global RNG, the others from a stream of their own (its
        seed drawn first, whatever ``E``). So the global RNG moves by the
        same draws for any number of experts, and a dense FFN (``E = 1``)
        and a mixture start expert 0, and everything built after them, from
        the same weights."""
        others_seed, = draw_seeds(1)
        self._reset_expert(0)
        with rng_stream(others_seed):
            for e in range(1, self.num_experts):
                self._reset_expert(e)

    def _reset_expert(self, e: int) -> None:
        """The draws of ``Linear(C, F)`` then ``Linear(F, C)`` for expert
        ``e``."""
        for weight, bias in ((self.w1, self.b1), (self.w2, self.b2)):
            nn.init.kaiming_uniform_(weight[e], a=math.sqrt(5))
            bound = 1 / math.sqrt(weight.shape[-1])
            nn.init.uniform_(bias[e], -bound, bound)

    def expert(self, e: int, tokens: Tensor) -> Tensor:
        """Expert ``e`` on ``tokens`` ``[M, C]`` -> ``[M, C]``."""
        hidden = self.drop(F.gelu(F.linear(tokens, self.w1[e], self.b1[e])))
        return F.linear(hidden, self.w2[e], self.b2[e])

    def forward(self,
                x: Tensor,
                context: Optional[Tensor] = None,
                valid: Optional[Tensor] = None
                ) -> Tuple[Tensor, Optional[Dict[str, Tensor]]]:
        """Route and transform tokens.

        Args:
            x (Tensor): tokens ``[..., C]``.
            context (Tensor, optional): router context ``[..., Cc]``
                (broadcast to ``x``'s leading dims).
            valid (Tensor, optional): bool ``[...]``; only True tokens count
                in the load-balancing statistics (e.g. not padding).

        Returns:
            tuple: output ``[..., C]`` and ``dict(loss_balance=scalar,
            usage=[E] fraction of assignments per expert)``, or None in
            inference (eval mode without gradients).
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
        if self.training and tokens.device.type == 'cpu':
            out = self._sparse(tokens, gates, experts)
        else:
            out = self._dense(tokens, gates, experts)
        aux = None
        if self.training or torch.is_grad_enabled():
            aux = self._balance(probs, experts, valid)
        return out.reshape(shape), aux

    def _dense(self, tokens: Tensor, gates: Tensor,
               experts: Tensor) -> Tensor:
        """Every expert on every token ``[M, C]``, weighted by the token's
        gate (0 for the experts it did not choose). The shapes never depend
        on the routing: no host sync, one graph under ``torch.compile``."""
        weights = gates.new_zeros(len(tokens), self.num_experts).scatter(
            -1, experts, gates)
        hidden = self.drop(F.gelu(torch.baddbmm(
            self.b1[:, None], tokens.expand(self.num_experts, -1, -1),
            self.w1.transpose(1, 2))))
        out = torch.baddbmm(self.b2[:, None], hidden, self.w2.transpose(1, 2))
        # [E, M, C] -> [M, C]; under autocast the experts return float16 or
        # bfloat16
        return (out * weights.t()[..., None]).sum(0).to(tokens.dtype)

    def _sparse(self, tokens: Tensor, gates: Tensor,
                experts: Tensor) -> Tensor:
        """Each expert on its own tokens only: ``top_k / E`` of the dense
        FLOPs, but one host sync per expert (``nonzero``)."""
        out = torch.zeros_like(tokens)
        for e in range(self.num_experts):
            token_idx, slot = torch.nonzero(experts == e, as_tuple=True)
            y = self.expert(e, tokens[token_idx]) * gates[token_idx, slot,
                                                          None]
            out.index_add_(0, token_idx, y.to(out.dtype))
        return out

    def _balance(self, probs: Tensor, experts: Tensor,
                 valid: Optional[Tensor]) -> Dict[str, Tensor]:
        """Switch load-balancing loss and expert usage over valid tokens
        (weighted sums rather than boolean indexing: no host sync)."""
        keep = probs.new_ones(len(probs), 1)
        if valid is not None:
            keep = valid.reshape(-1, 1).to(probs.dtype)
        chosen = torch.zeros_like(probs).scatter(-1, experts, 1.)
        counts = (chosen * keep).sum(0)
        usage = counts / counts.sum().clamp(min=1)
        mean_prob = (probs * keep).sum(0) / keep.sum().clamp(min=1)
        loss = self.num_experts * (usage * mean_prob).sum()
        return dict(loss_balance=loss, usage=usage)
