"""Transformer text decoder with MoE FFNs and a key/value cache."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .moe import MoEFeedForward

# One dict per layer: self-attention 'k'/'v' [N, heads, S, d] grow by one
# step per call; cross-attention 'mem_k'/'mem_v' are computed once.
LayerCache = Dict[str, Tensor]


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
        self.head_dims = embed_dims // num_heads
        self.dropout = dropout
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))
        self.self_qkv = nn.Linear(embed_dims, 3 * embed_dims)
        self.self_out = nn.Linear(embed_dims, embed_dims)
        self.cross_q = nn.Linear(embed_dims, embed_dims)
        self.cross_kv = nn.Linear(embed_dims, 2 * embed_dims)
        self.cross_out = nn.Linear(embed_dims, embed_dims)
        self.ffn = MoEFeedForward(embed_dims, feedforward_channels,
                                  num_experts, top_k, context_dims, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, context: Optional[Tensor],
                valid: Optional[Tensor], cache: Optional[LayerCache]
                ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Run one layer on ``S`` new positions.

        Args:
            x (Tensor): new hidden states ``[N, S, C]``.
            memory (Tensor): ``[N, L, C]`` (ignored once cached).
            context (Tensor, optional): router context ``[N, 1, Cc]``.
            valid (Tensor, optional): bool ``[N, S]`` for the MoE statistics.
            cache (dict, optional): this layer's cache, updated in place.

        Returns:
            tuple: ``[N, S, C]`` and the MoE aux dict.
        """
        q, k, v = self._heads(self.self_qkv(self.norms[0](x))).chunk(3, 1)
        if cache is not None:
            if 'k' in cache:
                k = torch.cat([cache['k'], k], 2)
                v = torch.cat([cache['v'], v], 2)
            cache['k'], cache['v'] = k, v
        x = x + self.drop(self.self_out(self._attend(q, k, v, causal=True)))

        if cache is not None and 'mem_k' in cache:
            mem_k, mem_v = cache['mem_k'], cache['mem_v']
        else:
            mem_k, mem_v = self._heads(self.cross_kv(memory)).chunk(2, 1)
            if cache is not None:
                cache['mem_k'], cache['mem_v'] = mem_k, mem_v
        q = self._heads(self.cross_q(self.norms[1](x)))
        x = x + self.drop(self.cross_out(self._attend(q, mem_k, mem_v)))

        y, aux = self.ffn(self.norms[2](x), context, valid)
        return x + self.drop(y), aux

    def _heads(self, x: Tensor) -> Tensor:
        """``[N, S, m*C]`` -> ``[N, m*heads, S, C/heads]``."""
        n, s, _ = x.shape
        return x.view(n, s, -1, self.head_dims).transpose(1, 2)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor,
                causal: bool = False) -> Tensor:
        """Attention of ``q`` ``[N, h, S, d]`` over ``k, v`` ``[N, h, K, d]``.

        With ``causal``, query ``i`` sees keys up to ``K - S + i`` (the
        cached prefix plus the new positions up to itself).
        """
        mask = None
        s, kl = q.shape[2], k.shape[2]
        if causal and s > 1:
            mask = torch.ones(s, kl, dtype=torch.bool, device=q.device).tril(
                kl - s)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.)
        return out.transpose(1, 2).flatten(2)


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
                cache: Optional[List[LayerCache]] = None
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

        Returns:
            tuple: logits ``[N, P+S, V]`` and ``dict(loss_balance=mean over
            layers, usage=[num_layers, E])``.
        """
        x = self.token_embed(input_ids)
        if prefix is not None:
            x = torch.cat([prefix, x], 1)
        start = cache[0]['k'].shape[2] if cache and 'k' in cache[0] else 0
        if start + x.shape[1] > self.max_positions:
            raise ValueError(f'Sequence longer than max_positions='
                             f'{self.max_positions}.')
        pos = torch.arange(start, start + x.shape[1], device=x.device)
        x = self.drop(x + self.pos_embed(pos))
        if context is not None:
            context = context[:, None]
        losses, usages = [], []
        for i, layer in enumerate(self.layers):
            x, aux = layer(x, memory, context, valid,
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
    """

    def __init__(self, decoder: MoETextDecoder, memory: Tensor,
                 prefix: Optional[Tensor], context: Optional[Tensor],
                 use_cache: bool):
        self.decoder = decoder
        self.memory, self.prefix, self.context = memory, prefix, context
        self.cache = [{} for _ in decoder.layers] if use_cache else None

    def log_probs(self, tokens: Tensor) -> Tensor:
        """Log-probabilities ``[N, V]`` of the token after ``tokens``
        ``[N, t]`` (BOS first)."""
        if self.cache is not None and 'k' in self.cache[0]:
            logits, _ = self.decoder(tokens[:, -1:], self.memory,
                                     context=self.context, cache=self.cache)
        else:
            logits, _ = self.decoder(tokens, self.memory, self.prefix,
                                     self.context, cache=self.cache)
        return F.log_softmax(logits[:, -1].float(), dim=-1)

    def reorder(self, index: Tensor) -> None:
        """Keep rows ``index`` (beam search re-ranking / expansion)."""
        self.memory = self.memory.index_select(0, index)
        if self.prefix is not None:
            self.prefix = self.prefix.index_select(0, index)
        if self.context is not None:
            self.context = self.context.index_select(0, index)
        if self.cache is not None:
            self.cache = [{k: v.index_select(0, index)
                           for k, v in layer.items()} for layer in self.cache]
