"""Multi-head attention on ``F.scaled_dot_product_attention``.

One implementation for the whole model: MMI (bidirectional audio-visual
attention) and the caption decoder (causal self-attention and
cross-attention with a key/value cache) both use :class:`SDPAttention`.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Keys/values of one attention module during step-wise decoding:
# 'k' and 'v' are [N, heads, K, C / heads].
KVCache = Dict[str, Tensor]


class SDPAttention(nn.Module):
    """Batch-first multi-head attention with optional mask and KV cache.

    Positions are added to queries and keys only (DETR convention).

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
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.v_proj = nn.Linear(embed_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, embed_dims)

    def forward(self,
                query: Tensor,
                key: Tensor,
                value: Tensor,
                query_pos: Optional[Tensor] = None,
                key_pos: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None,
                causal: bool = False,
                cache: Optional[KVCache] = None,
                static_kv: bool = False) -> Tensor:
        """Attend ``query`` ``[N, Lq, C]`` to ``key``/``value``
        ``[N, Lk, C]``.

        Args:
            query, key, value (Tensor): ``[N, Lq, C]``, ``[N, Lk, C]``,
                ``[N, Lk, C]``.
            query_pos, key_pos (Tensor, optional): positions added to the
                queries ``[N, Lq, C]`` and keys ``[N, Lk, C]``.
            attn_mask (Tensor, optional): bool (True = attend) or additive
                float mask, broadcastable to ``[N, heads, Lq, K]``.
            causal (bool): query ``i`` sees the keys up to ``K - Lq + i``
                (a cached prefix plus the new positions up to itself), where
                ``K`` counts the cached keys too. Not with ``attn_mask``.
            cache (dict, optional): key/value cache, updated in place. With
                ``static_kv=False`` (self-attention while decoding) the new
                keys/values are appended to the cached ones; with
                ``static_kv=True`` (cross-attention to a fixed memory) they
                are computed on the first call and reused afterwards
                (``key``, ``value`` and ``key_pos`` are then ignored).
            static_kv (bool): see ``cache``.

        Returns:
            Tensor: ``[N, Lq, C]``.
        """
        if causal and attn_mask is not None:
            raise ValueError('Give either causal=True or attn_mask.')
        if query_pos is not None:
            query = query + query_pos
        q = self._split(self.q_proj(query))
        if cache is not None and static_kv and 'k' in cache:
            k, v = cache['k'], cache['v']
        else:
            if key_pos is not None:
                key = key + key_pos
            k, v = self._split(self.k_proj(key)), self._split(
                self.v_proj(value))
            if cache is not None and not static_kv and 'k' in cache:
                k = torch.cat([cache['k'], k], 2)
                v = torch.cat([cache['v'], v], 2)
            if cache is not None:
                cache['k'], cache['v'] = k, v
        if causal and q.shape[2] > 1:
            s, kl = q.shape[2], k.shape[2]
            attn_mask = torch.ones(
                s, kl, dtype=torch.bool, device=q.device).tril(kl - s)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).flatten(2))

    def _split(self, x: Tensor) -> Tensor:
        """``[N, L, C]`` -> ``[N, heads, L, C / heads]``."""
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)
