"""Batched greedy and beam search over a :class:`DecodeState`."""
import torch
from torch import Tensor

from .text_decoder import DecodeState


def greedy_search(state: DecodeState, batch_size: int, max_length: int,
                  bos_id: int, eos_id: int, pad_id: int) -> Tensor:
    """Pick the most likely token at every step.

    Args:
        state (DecodeState): next-token scorer for ``batch_size`` rows.
        batch_size (int): ``N`` sequences.
        max_length (int): maximum number of generated tokens (EOS included).
        bos_id, eos_id, pad_id (int): special token ids.

    Returns:
        Tensor: ``[N, S]`` generated ids without BOS, ``S <= max_length``;
        after EOS a row holds PAD. Stops early when all rows emitted EOS.
    """
    device = state.memory.device
    tokens = torch.full((batch_size, 1), bos_id, dtype=torch.long,
                        device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    for _ in range(max_length):
        nxt = state.log_probs(tokens).argmax(-1)
        nxt = nxt.masked_fill(done, pad_id)
        tokens = torch.cat([tokens, nxt[:, None]], 1)
        done |= nxt == eos_id
        if done.all():
            break
    return tokens[:, 1:]


def beam_search(state: DecodeState, batch_size: int, max_length: int,
                bos_id: int, eos_id: int, pad_id: int, beam_size: int = 3,
                length_penalty: float = 1.) -> Tensor:
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

    Returns:
        Tensor: ``[N, S]`` ids of the best beam of each row, without BOS.
    """
    n, k = batch_size, beam_size
    device = state.memory.device
    state.reorder(torch.arange(n, device=device).repeat_interleave(k))
    tokens = torch.full((n * k, 1), bos_id, dtype=torch.long, device=device)
    # Only the first beam of a row is live at the start (no duplicates).
    scores = torch.full((n, k), float('-inf'), dtype=torch.float64,
                        device=device)
    scores[:, 0] = 0
    scores = scores.view(-1)
    done = torch.zeros(n * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(n * k, device=device)
    for _ in range(max_length):
        # float64 scores: adding a beam score never merges distinct float32
        # log-probabilities into ties (keeps beam_size=1 == greedy).
        log_probs = state.log_probs(tokens).double()
        log_probs[done] = float('-inf')
        log_probs[done, pad_id] = 0
        vocab = log_probs.shape[-1]
        cand = (scores[:, None] + log_probs).view(n, k * vocab)
        top_scores, top_idx = cand.topk(k, dim=-1)
        beam = (top_idx // vocab + torch.arange(n, device=device)[:, None] *
                k).view(-1)
        nxt = (top_idx % vocab).view(-1)
        state.reorder(beam)
        tokens = torch.cat([tokens[beam], nxt[:, None]], 1)
        scores = top_scores.view(-1)
        lengths = lengths[beam] + (~done[beam]).float()
        done = done[beam] | (nxt == eos_id)
        if done.all():
            break
    norm = scores / lengths.clamp(min=1)**length_penalty
    best = norm.view(n, k).argmax(-1) + torch.arange(n, device=device) * k
    return tokens[best, 1:]
