"""Multi-head attention on ``F.scaled_dot_product_attention``.

One implementation for the whole model: MMI (bidirectional audio-visual
attention) and the caption decoder (causal self-attention and
cross-attention with a preallocated key/value cache) both use
:class:`SDPAttention`.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class KVCache:
    """Preallocated keys/values of one attention module while decoding.

    ``k`` and ``v`` are ``[N, heads, K, C / heads]`` buffers of
    ``K = length`` positions. The first write allocates them (zeros; ``N``,
    the head size, dtype and device come from the written keys), later
    writes fill positions in place, so shapes and addresses stay fixed from
    step to step: a compiled decode step with CUDA graphs replays on the same
    memory (the buffers are marked as static addresses). A write of another
    ``N``, dtype or device allocates new buffers.

    Args:
        length (int): positions ``K``.
    """

    def __init__(self, length: int) -> None:
        self.length = length
        self.k: Optional[Tensor] = None
        self.v: Optional[Tensor] = None

    def write(self, k: Tensor, v: Tensor,
              positions: Optional[Tensor] = None) -> None:
        """Store ``k``/``v`` ``[N, heads, S, C / heads]`` at ``positions``
        ``[S]`` (int64; None: all ``K = S`` positions, e.g. a memory)."""
        shape = (*k.shape[:2], self.length, k.shape[-1])
        if (self.k is None or self.k.shape != shape
                or self.k.dtype != k.dtype or self.k.device != k.device):
            self.k, self.v = k.new_zeros(shape), v.new_zeros(shape)
            torch._dynamo.mark_static_address(self.k)
            torch._dynamo.mark_static_address(self.v)
        if positions is None:
            self.k.copy_(k)
            self.v.copy_(v)
        else:
            self.k.index_copy_(2, positions, k)
            self.v.index_copy_(2, positions, v)

    def clear(self) -> None:
        """Zero the buffers (if allocated), keeping them."""
        if self.k is not None:
            self.k.zero_()
            self.v.zero_()

    def reorder_(self, index: Tensor) -> None:
        """Keep rows ``index`` ``[N]`` in place (beam re-ranking)."""
        self.k.copy_(self.k.index_select(0, index))
        self.v.copy_(self.v.index_select(0, index))


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
                key: Optional[Tensor],
                value: Optional[Tensor],
                query_pos: Optional[Tensor] = None,
                key_pos: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None,
                causal: bool = False,
                cache: Optional[KVCache] = None,
                positions: Optional[Tensor] = None) -> Tensor:
        """Attend ``query`` ``[N, Lq, C]`` to ``key``/``value``
        ``[N, Lk, C]``.

        Args:
            query, key, value (Tensor): ``[N, Lq, C]``, ``[N, Lk, C]``,
                ``[N, Lk, C]``; ``key``/``value`` may be None with a
                filled ``cache``.
            query_pos, key_pos (Tensor, optional): positions added to the
                queries ``[N, Lq, C]`` and keys ``[N, Lk, C]``.
            attn_mask (Tensor, optional): bool (True = attend) or additive
                float mask, broadcastable to ``[N, heads, Lq, Lk]``.
            causal (bool): query ``i`` sees keys ``0..i`` (``Lq == Lk``).
            cache (KVCache, optional): the keys/values to attend to. Given
                ``key``/``value`` are projected and written into it first:
                at ``positions`` (causal decoding), or whole (a fixed
                memory, e.g. cross-attention: written once, then called
                with ``key=value=None``).
            positions (Tensor, optional): int64 ``[Lq]`` cache positions of
                the queries (and of the new keys/values); query ``i`` sees
                the cached keys at positions ``<= positions[i]``. Only with
                ``cache``; at most one of ``causal``, ``attn_mask`` and
                ``positions``.

        Returns:
            Tensor: ``[N, Lq, C]``.
        """
        if causal + (attn_mask is not None) + (positions is not None) > 1:
            raise ValueError('Give one of causal=True, attn_mask and '
                             'positions.')
        if query_pos is not None:
            query = query + query_pos
        q = self._split(self.q_proj(query))
        if key is not None:
            if key_pos is not None:
                key = key + key_pos
            k, v = self._split(self.k_proj(key)), self._split(
                self.v_proj(value))
            if cache is not None:
                cache.write(k, v, positions)
        if cache is not None:
            k, v = cache.k, cache.v
            if positions is not None:
                attn_mask = torch.arange(
                    cache.length, device=q.device) <= positions[:, None]
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal)
        return self.out_proj(out.transpose(1, 2).flatten(2))

    def _split(self, x: Tensor) -> Tensor:
        """``[N, L, C]`` -> ``[N, heads, L, C / heads]``."""
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)
