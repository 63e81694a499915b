"""Batched greedy and beam search over a :class:`DecodeState`.

Both write into preallocated token buffers and keep every stopping test on
the device: whether all rows emitted EOS is read on the host only every
``eos_check_interval`` steps, and the output length once at the end, so a
caption costs ``max_length / eos_check_interval + 1`` host syncs instead of
one per step. Steps run after every row finished change nothing, so the
output equals stopping at the first step where all rows are done.
"""
import torch
from torch import Tensor

from .text_decoder import DecodeState


def greedy_search(state: DecodeState, batch_size: int, max_length: int,
                  bos_id: int, eos_id: int, pad_id: int,
                  eos_check_interval: int = 8) -> Tensor:
    """Pick the most likely token at every step.

    Args:
        state (DecodeState): next-token scorer for ``batch_size`` rows.
        batch_size (int): ``N`` sequences.
        max_length (int): maximum number of generated tokens (EOS included).
        bos_id, eos_id, pad_id (int): special token ids.
        eos_check_interval (int): steps between host reads of "all rows
            emitted EOS".

    Returns:
        Tensor: ``[N, S]`` generated ids without BOS, ``S <= max_length``
        the first step at which every row had emitted EOS (or
        ``max_length``); after EOS a row holds PAD.
    """
    device = state.memory.device
    tokens = torch.full((batch_size, max_length + 1), pad_id,
                        dtype=torch.long, device=device)
    tokens[:, 0] = bos_id
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch_size, dtype=torch.long, device=device)
    for t in range(max_length):
        nxt = state.log_probs(tokens[:, :t + 1]).argmax(-1)
        tokens[:, t + 1] = nxt.masked_fill(done, pad_id)
        lengths += ~done
        done |= nxt == eos_id
        if _check(t, max_length, eos_check_interval) and done.all():
            break
    return tokens[:, 1:int(lengths.max()) + 1]


def beam_search(state: DecodeState, batch_size: int, max_length: int,
                bos_id: int, eos_id: int, pad_id: int, beam_size: int = 3,
                length_penalty: float = 1.,
                eos_check_interval: int = 8) -> Tensor:
    """Keep the ``beam_size`` best partial captions of every row.

    A finished beam (it emitted EOS) stays in the beam with a frozen score
    and continues with PAD. The final choice maximises
    ``sum log p / length ** length_penalty`` (length counts EOS). With
    ``beam_size=1`` this is exactly :func:`greedy_search`.

    Args:
        state (DecodeState): scorer for ``batch_size`` rows; it is expanded
            to ``batch_size * beam_size`` rows here.
        batch_size (int): ``N`` sequences.
        max_length (int): maximum number of generated tokens (EOS included).
        bos_id, eos_id, pad_id (int): special token ids.
        beam_size (int): ``K``.
        length_penalty (float): exponent of the length normalisation.
        eos_check_interval (int): steps between host reads of "all beams
            finished".

    Returns:
        Tensor: ``[N, S]`` ids of the best beam of each row, without BOS;
        ``S`` is the first step at which every beam had finished (or
        ``max_length``).
    """
    n, k = batch_size, beam_size
    device = state.memory.device
    state.expand(k)
    tokens = torch.full((n * k, max_length + 1), pad_id, dtype=torch.long,
                        device=device)
    tokens[:, 0] = bos_id
    # Only the first beam of a row is live at the start (no duplicates).
    scores = torch.full((n, k), float('-inf'), dtype=torch.float64,
                        device=device)
    scores[:, 0] = 0
    scores = scores.view(-1)
    done = torch.zeros(n * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(n * k, device=device)
    offsets = torch.arange(n, device=device)[:, None] * k
    rows = torch.arange(n * k, device=device)
    for t in range(max_length):
        # float64 scores: adding a beam score never merges distinct float32
        # log-probabilities into ties (keeps beam_size=1 == greedy).
        log_probs = state.log_probs(tokens[:, :t + 1]).double()
        log_probs = log_probs.masked_fill(done[:, None], float('-inf'))
        log_probs[:, pad_id].masked_fill_(done, 0)
        vocab = log_probs.shape[-1]
        cand = (scores[:, None] + log_probs).view(n, k * vocab)
        top_scores, top_idx = cand.topk(k, dim=-1)
        # once every beam finished, keep the beams in place (topk could
        # swap beams of equal score)
        beam = torch.where(done.all(), rows,
                           (top_idx // vocab + offsets).view(-1))
        state.reorder(beam)
        tokens = tokens[beam]
        tokens[:, t + 1] = (top_idx % vocab).view(-1)
        scores = top_scores.view(-1)
        lengths = lengths[beam] + (~done[beam]).float()
        done = done[beam] | (tokens[:, t + 1] == eos_id)
        if _check(t, max_length, eos_check_interval) and done.all():
            break
    norm = scores / lengths.clamp(min=1)**length_penalty
    best = norm.view(n, k).argmax(-1) + offsets[:, 0]
    return tokens[best, 1:int(lengths.max()) + 1]


def _check(step: int, max_length: int, interval: int) -> bool:
    """Whether to read "all done" after ``step`` (0-based; never after the
    last one)."""
    return (step + 1) % interval == 0 and step + 1 < max_length
