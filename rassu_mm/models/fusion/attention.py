"""Multi-head attention on ``F.scaled_dot_product_attention``."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class SDPAttention(nn.Module):
    """Batch-first multi-head attention.

    Args:
        embed_dims (int): Token size ``C``.
        num_heads (int): Heads; must divide ``embed_dims``.
        dropout (float): Attention dropout in training. Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        assert embed_dims % num_heads == 0
        self.num_heads = num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.v_proj = nn.Linear(embed_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, embed_dims)

    def forward(self,
                query: torch.Tensor,
                key: torch.Tensor,
                value: torch.Tensor,
                query_pos: Optional[torch.Tensor] = None,
                key_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend ``query`` ``[N, Lq, C]`` to ``key``/``value``
        ``[N, Lk, C]``; positions are added to queries and keys only.

        Returns:
            Tensor: ``[N, Lq, C]``.
        """
        if query_pos is not None:
            query = query + query_pos
        if key_pos is not None:
            key = key + key_pos
        q, k, v = (self._split(proj(x))
                   for proj, x in ((self.q_proj, query), (self.k_proj, key),
                                   (self.v_proj, value)))
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).flatten(2))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, C]`` -> ``[N, heads, L, C / heads]``."""
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)
