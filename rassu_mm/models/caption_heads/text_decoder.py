"""Transformer text decoder with MoE FFNs and a key/value cache."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import KVCache, SDPAttention
from .moe import MoEFeedForward

# One dict per layer: 'self' (keys/values of the causal self-attention, one
# step longer per call) and 'cross' (keys/values of the memory, computed
# once).
LayerCache = Dict[str, KVCache]


class DecoderLayer(nn.Module):
    """Pre-norm layer: causal self-attention, cross-attention, MoE FFN.

    Args:
        embed_dims (int): channels ``C``.
        num_heads (int): attention heads.
        feedforward_channels (int): hidden channels of each expert.
        num_experts (int): experts of the FFN.
        top_k (int): experts per token.
        context_dims (int): channels of the router context.
        dropout (float): dropout of attention weights and residual branches.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 feedforward_channels: int, num_experts: int, top_k: int,
                 context_dims: int, dropout: float):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))
        self.self_attn = SDPAttention(embed_dims, num_heads, dropout)
        self.cross_attn = SDPAttention(embed_dims, num_heads, dropout)
        self.ffn = MoEFeedForward(embed_dims, feedforward_channels,
                                  num_experts, top_k, context_dims, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, memory_pos: Optional[Tensor],
                context: Optional[Tensor], valid: Optional[Tensor],
                cache: Optional[LayerCache]
                ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Run one layer on ``S`` new positions.

        Args:
            x (Tensor): new hidden states ``[N, S, C]``.
            memory (Tensor): ``[N, L, C]`` (ignored once cached).
            memory_pos (Tensor, optional): ``[N, L, C]`` positions added to
                the memory keys of the cross-attention.
            context (Tensor, optional): router context ``[N, 1, Cc]``.
            valid (Tensor, optional): bool ``[N, S]`` for the MoE statistics.
            cache (dict, optional): this layer's cache, updated in place.

        Returns:
            tuple: ``[N, S, C]`` and the MoE aux dict.
        """
        self_cache = cross_cache = None
        if cache is not None:
            self_cache = cache.setdefault('self', {})
            cross_cache = cache.setdefault('cross', {})
        h = self.norms[0](x)
        x = x + self.drop(
            self.self_attn(h, h, h, causal=True, cache=self_cache))
        x = x + self.drop(
            self.cross_attn(self.norms[1](x), memory, memory,
                            key_pos=memory_pos, cache=cross_cache,
                            static_kv=True))
        y, aux = self.ffn(self.norms[2](x), context, valid)
        return x + self.drop(y), aux


class MoETextDecoder(nn.Module):
    """Token + position embeddings, decoder layers, tied output projection.

    The input sequence is ``[prefix_1 .. prefix_P, BOS, w_1, ...]``: the
    prefix (hierarchical prompt embeddings) is prepended to the token
    embeddings and attended causally like any other position.

    Args:
        vocab_size (int): ``V``.
        embed_dims (int): channels ``C``.
        num_layers (int): decoder layers.
        num_heads (int): attention heads.
        feedforward_channels (int): hidden channels of each expert.
        num_experts (int): experts per FFN (1 gives a dense FFN).
        top_k (int): experts per token.
        context_dims (int): channels of the router context.
        max_positions (int): longest ``prefix + tokens`` sequence.
        dropout (float): dropout rate.
    """

    def __init__(self, vocab_size: int, embed_dims: int, num_layers: int,
                 num_heads: int, feedforward_channels: int, num_experts: int,
                 top_k: int, context_dims: int, max_positions: int,
                 dropout: float):
        super().__init__()
        self.token_embed = nn.Embedding(vocab_size, embed_dims)
        self.pos_embed = nn.Embedding(max_positions, embed_dims)
        self.layers = nn.ModuleList(
            DecoderLayer(embed_dims, num_heads, feedforward_channels,
                         num_experts, top_k, context_dims, dropout)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dims)
        self.drop = nn.Dropout(dropout)
        self.max_positions = max_positions
        nn.init.normal_(self.token_embed.weight, std=0.02)
        nn.init.normal_(self.pos_embed.weight, std=0.02)

    def forward(self,
                input_ids: Tensor,
                memory: Tensor,
                prefix: Optional[Tensor] = None,
                context: Optional[Tensor] = None,
                valid: Optional[Tensor] = None,
                cache: Optional[List[LayerCache]] = None,
                memory_pos: Optional[Tensor] = None
                ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Logits of the next token at every new position.

        Args:
            input_ids (Tensor): new token ids ``[N, S]``.
            memory (Tensor): ``[N, L, C]``.
            prefix (Tensor, optional): ``[N, P, C]`` prepended embeddings
                (give them only on the first call of a cached decode).
            context (Tensor, optional): router context ``[N, Cc]``.
            valid (Tensor, optional): bool ``[N, P+S]`` for MoE statistics.
            cache (list[dict], optional): per-layer caches (a list of empty
                dicts starts a cached decode); updated in place.
            memory_pos (Tensor, optional): ``[N, L, C]`` positions added to
                the memory keys of every cross-attention.

        Returns:
            tuple: logits ``[N, P+S, V]`` and ``dict(loss_balance=mean over
            layers, usage=[num_layers, E])``.
        """
        x = self.token_embed(input_ids)
        if prefix is not None:
            x = torch.cat([prefix, x], 1)
        start = _cached_length(cache)
        if start + x.shape[1] > self.max_positions:
            raise ValueError(f'Sequence longer than max_positions='
                             f'{self.max_positions}.')
        pos = torch.arange(start, start + x.shape[1], device=x.device)
        x = self.drop(x + self.pos_embed(pos))
        if context is not None:
            context = context[:, None]
        losses, usages = [], []
        for i, layer in enumerate(self.layers):
            x, aux = layer(x, memory, memory_pos, context, valid,
                           None if cache is None else cache[i])
            losses.append(aux['loss_balance'])
            usages.append(aux['usage'])
        logits = F.linear(self.norm(x), self.token_embed.weight)
        return logits, dict(
            loss_balance=torch.stack(losses).mean(),
            usage=torch.stack(usages))


class DecodeState:
    """Step-wise next-token scores for greedy and beam search.

    With ``use_cache`` each step feeds only the newest token and reuses the
    cached keys/values; without it the whole sequence is re-run. Both give
    the same scores.

    Args:
        decoder (MoETextDecoder): the decoder.
        memory (Tensor): ``[N, L, C]``.
        prefix (Tensor, optional): ``[N, P, C]``.
        context (Tensor, optional): ``[N, Cc]``.
        use_cache (bool): use the key/value cache.
        memory_pos (Tensor, optional): ``[N, L, C]`` memory key positions.
    """

    def __init__(self,
                 decoder: MoETextDecoder,
                 memory: Tensor,
                 prefix: Optional[Tensor],
                 context: Optional[Tensor],
                 use_cache: bool,
                 memory_pos: Optional[Tensor] = None):
        self.decoder = decoder
        self.memory, self.memory_pos = memory, memory_pos
        self.prefix, self.context = prefix, context
        self.cache = [{} for _ in decoder.layers] if use_cache else None

    def log_probs(self, tokens: Tensor) -> Tensor:
        """Log-probabilities ``[N, V]`` of the token after ``tokens``
        ``[N, t]`` (BOS first)."""
        if _cached_length(self.cache):
            logits, _ = self.decoder(tokens[:, -1:], self.memory,
                                     context=self.context, cache=self.cache)
        else:
            logits, _ = self.decoder(tokens, self.memory, self.prefix,
                                     self.context, cache=self.cache,
                                     memory_pos=self.memory_pos)
        return F.log_softmax(logits[:, -1].float(), dim=-1)

    def reorder(self, index: Tensor) -> None:
        """Keep rows ``index`` (beam search re-ranking / expansion)."""
        for name in ('memory', 'memory_pos', 'prefix', 'context'):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.index_select(0, index))
        if self.cache is not None:
            self.cache = [{
                attn: {k: v.index_select(0, index)
                       for k, v in kv.items()}
                for attn, kv in layer.items()
            } for layer in self.cache]


def _cached_length(cache: Optional[List[LayerCache]]) -> int:
    """Positions already in the self-attention cache (0 without one)."""
    if not cache or 'k' not in cache[0].get('self', {}):
        return 0
    return cache[0]['self']['k'].shape[2]
