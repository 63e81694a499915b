"""Transformer text decoder with MoE FFNs and a static key/value cache."""
import functools
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import KVCache, SDPAttention, draw_seeds, rng_stream
from .moe import MoEFeedForward

# One dict per layer: 'self' (keys/values of the causal self-attention,
# filled one position per step) and 'cross' (keys/values of the memory,
# projected once).
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

    def forward(self, x: Tensor, memory: Optional[Tensor],
                memory_pos: Optional[Tensor], context: Optional[Tensor],
                valid: Optional[Tensor], cache: Optional[LayerCache],
                positions: Tensor
                ) -> Tuple[Tensor, Optional[Dict[str, Tensor]]]:
        """Run one layer on ``S`` new positions.

        Args:
            x (Tensor): new hidden states ``[N, S, C]``.
            memory (Tensor, optional): ``[N, L, C]`` (None once cached).
            memory_pos (Tensor, optional): ``[N, L, C]`` positions added to
                the memory keys of the cross-attention.
            context (Tensor, optional): router context ``[N, 1, Cc]``.
            valid (Tensor, optional): bool ``[N, S]`` for the MoE statistics.
            cache (dict, optional): this layer's cache, updated in place.
            positions (Tensor): int64 ``[S]`` positions of ``x`` (the cache
                positions written and attended causally).

        Returns:
            tuple: ``[N, S, C]`` and the MoE aux dict (None in inference).
        """
        self_cache = cross_cache = self_pos = None
        if cache is not None:
            self_cache, cross_cache = cache['self'], cache['cross']
            self_pos = positions
        h = self.norms[0](x)
        x = x + self.drop(
            self.self_attn(h, h, h, causal=cache is None, cache=self_cache,
                           positions=self_pos))
        x = x + self.drop(
            self.cross_attn(self.norms[1](x), memory, memory,
                            key_pos=memory_pos, cache=cross_cache))
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
        # the position table's length depends on the prompts: drawn from a
        # stream of its own (its seed drawn either way), it shifts no other
        # draw
        pos_seed, = draw_seeds(1)
        self.token_embed = nn.Embedding(vocab_size, embed_dims)
        with rng_stream(pos_seed):
            self.pos_embed = nn.Embedding(max_positions, embed_dims)
            nn.init.normal_(self.pos_embed.weight, std=0.02)
        self.layers = nn.ModuleList(
            DecoderLayer(embed_dims, num_heads, feedforward_channels,
                         num_experts, top_k, context_dims, dropout)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dims)
        self.drop = nn.Dropout(dropout)
        self.max_positions = max_positions
        self._kv_cache = (None, [])  # (sizes, caches) of the last decode
        nn.init.normal_(self.token_embed.weight, std=0.02)

    def forward(self,
                input_ids: Tensor,
                memory: Optional[Tensor],
                prefix: Optional[Tensor] = None,
                context: Optional[Tensor] = None,
                valid: Optional[Tensor] = None,
                cache: Optional[List[LayerCache]] = None,
                memory_pos: Optional[Tensor] = None,
                positions: Optional[Tensor] = None
                ) -> Tuple[Tensor, Optional[Dict[str, Tensor]]]:
        """Logits of the next token at every new position.

        Args:
            input_ids (Tensor): new token ids ``[N, S]``.
            memory (Tensor, optional): ``[N, L, C]`` (None once cached).
            prefix (Tensor, optional): ``[N, P, C]`` prepended embeddings
                (give them only on the first call of a cached decode).
            context (Tensor, optional): router context ``[N, Cc]``.
            valid (Tensor, optional): bool ``[N, P+S]`` for MoE statistics.
            cache (list[dict], optional): per-layer caches
                (:meth:`kv_cache`), updated in place.
            memory_pos (Tensor, optional): ``[N, L, C]`` positions added to
                the memory keys of every cross-attention.
            positions (Tensor, optional): int64 ``[P+S]`` positions of the
                new inputs (default ``0 .. P+S-1``; needed with a cache).

        Returns:
            tuple: logits ``[N, P+S, V]`` and ``dict(loss_balance=mean over
            layers, usage=[num_layers, E])`` (None in inference).
        """
        x = self.token_embed(input_ids)
        if prefix is not None:
            x = torch.cat([prefix, x], 1)
        if positions is None:
            if x.shape[1] > self.max_positions:
                raise ValueError(f'Sequence longer than max_positions='
                                 f'{self.max_positions}.')
            positions = torch.arange(x.shape[1], device=x.device)
        x = self.drop(x + self.pos_embed(positions))
        if context is not None:
            context = context[:, None]
        auxes = []
        for i, layer in enumerate(self.layers):
            x, aux = layer(x, memory, memory_pos, context, valid,
                           None if cache is None else cache[i], positions)
            auxes.append(aux)
        logits = F.linear(self.norm(x), self.token_embed.weight)
        if auxes[0] is None:
            return logits, None
        return logits, dict(
            loss_balance=torch.stack([a['loss_balance']
                                      for a in auxes]).mean(),
            usage=torch.stack([a['usage'] for a in auxes]))

    def kv_cache(self, length: int, memory_length: int) -> List[LayerCache]:
        """Per-layer caches for ``length`` decoded positions (prefix
        included) and a memory of ``memory_length`` positions.

        Consecutive decodes of the same sizes get the same caches back
        (cleared), so their buffers keep their addresses while the row
        count and dtype stay: CUDA graphs of a compiled decode step replay
        without re-recording.
        """
        if length > self.max_positions:
            raise ValueError(f'Sequence longer than max_positions='
                             f'{self.max_positions}.')
        sizes = (length, memory_length)
        if self._kv_cache[0] != sizes:
            self._kv_cache = (sizes, [
                dict(self=KVCache(length), cross=KVCache(memory_length))
                for _ in self.layers
            ])
        caches = self._kv_cache[1]
        for layer in caches:
            # stale non-finite keys/values would reach masked positions too
            layer['self'].clear()
        return caches


def decode_step(decoder: MoETextDecoder, token: Tensor, position: Tensor,
                context: Optional[Tensor],
                cache: List[LayerCache]) -> Tensor:
    """One cached decoding step (no data-dependent shapes or host syncs;
    compiles to one graph).

    Args:
        decoder (MoETextDecoder): the decoder.
        token (Tensor): the newest token ids ``[N, 1]``.
        position (Tensor): int64 ``[1]``, its position.
        context (Tensor, optional): router context ``[N, Cc]``.
        cache (list[dict]): filled per-layer caches, updated in place.

    Returns:
        Tensor: log-probabilities ``[N, V]`` of the next token.
    """
    logits, _ = decoder(token, None, context=context, cache=cache,
                        positions=position)
    return _last_log_probs(logits)


def _last_log_probs(logits: Tensor) -> Tensor:
    """float32 log-probabilities ``[N, V]`` at the last of ``[N, S, V]``."""
    return F.log_softmax(logits[:, -1].float(), dim=-1)


@functools.lru_cache(maxsize=None)
def compiled_decode_step(device_type: str, **kwargs):
    """:func:`decode_step` under ``torch.compile(fullgraph=True,
    **kwargs)``; on CUDA ``mode='reduce-overhead'`` (CUDA graphs) unless
    ``kwargs`` set a mode. One compiled function per device type and
    options."""
    if device_type == 'cuda':
        kwargs.setdefault('mode', 'reduce-overhead')
    return torch.compile(decode_step, fullgraph=True, **kwargs)


class DecodeState:
    """Step-wise next-token scores for greedy and beam search.

    With ``use_cache`` the first call runs the prefix and BOS and fills the
    decoder's preallocated caches (:meth:`MoETextDecoder.kv_cache`:
    ``P + max_length`` self-attention positions, the memory's keys/values
    projected once); every later call is one :func:`decode_step` on the
    newest token. Without it every call re-runs the whole sequence. Both
    give the same scores.

    Args:
        decoder (MoETextDecoder): the decoder.
        memory (Tensor): ``[N, L, C]``.
        prefix (Tensor, optional): ``[N, P, C]``.
        context (Tensor, optional): ``[N, Cc]``.
        use_cache (bool): use the key/value cache.
        max_length (int): tokens fed at most (BOS included): the cache's
            length beyond the prefix.
        memory_pos (Tensor, optional): ``[N, L, C]`` memory key positions.
        compile (dict, optional): ``torch.compile`` options of the cached
            decode step (see :func:`compiled_decode_step`); None: eager.
    """

    def __init__(self,
                 decoder: MoETextDecoder,
                 memory: Tensor,
                 prefix: Optional[Tensor],
                 context: Optional[Tensor],
                 use_cache: bool,
                 max_length: int,
                 memory_pos: Optional[Tensor] = None,
                 compile: Optional[dict] = None):
        self.decoder = decoder
        self.memory, self.memory_pos = memory, memory_pos
        self.prefix, self.context = prefix, context
        self.use_cache, self.max_length = use_cache, max_length
        self.cache = self.position = None
        self.step = decode_step
        if compile is not None:
            self.step = compiled_decode_step(memory.device.type, **compile)

    def log_probs(self, tokens: Tensor) -> Tensor:
        """Log-probabilities ``[N, V]`` of the token after ``tokens``
        ``[N, t]`` (BOS first)."""
        if self.position is not None:
            self.position = self.position + 1
            return self.step(self.decoder, tokens[:, -1:], self.position,
                             self.context, self.cache)
        if not self.use_cache:
            logits, _ = self.decoder(tokens, self.memory, self.prefix,
                                     self.context,
                                     memory_pos=self.memory_pos)
            return _last_log_probs(logits)
        num_prompts = 0 if self.prefix is None else self.prefix.shape[1]
        self.cache = self.decoder.kv_cache(num_prompts + self.max_length,
                                           self.memory.shape[1])
        positions = torch.arange(num_prompts + tokens.shape[1],
                                 device=tokens.device)
        logits, _ = self.decoder(tokens, self.memory, self.prefix,
                                 self.context, cache=self.cache,
                                 memory_pos=self.memory_pos,
                                 positions=positions)
        self.position = positions[-1:]
        return _last_log_probs(logits)

    def expand(self, repeats: int) -> None:
        """Repeat every row ``repeats`` times (beam search), before the
        first step."""
        for name in ('memory', 'memory_pos', 'prefix', 'context'):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.repeat_interleave(repeats, 0))

    def reorder(self, index: Tensor) -> None:
        """Row ``i`` continues the hypothesis of row ``index[i]`` (beam
        re-ranking within a frame's beams: the memory, prompts and
        cross-attention keys of both rows are the same, only the
        self-attention cache moves)."""
        if self.cache is not None:
            for layer in self.cache:
                layer['self'].reorder_(index)
