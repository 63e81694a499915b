import pytest
import torch
from torch import nn

from rassu_mm.models.utils import KVCache, SDPAttention

N, LQ, LK, C, HEADS = 2, 5, 7, 16, 4


def _attention():
    torch.manual_seed(0)
    return SDPAttention(C, HEADS).eval()


def _reference(attn):
    """``nn.MultiheadAttention`` with the same weights."""
    ref = nn.MultiheadAttention(C, HEADS, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(
            torch.cat([attn.q_proj.weight, attn.k_proj.weight,
                       attn.v_proj.weight]))
        ref.in_proj_bias.copy_(
            torch.cat([attn.q_proj.bias, attn.k_proj.bias,
                       attn.v_proj.bias]))
        ref.out_proj.load_state_dict(attn.out_proj.state_dict())
    return ref


def test_matches_torch_multihead_attention_with_positions_and_mask():
    attn = _attention()
    torch.manual_seed(1)
    q, k, v = (torch.randn(N, LQ, C), torch.randn(N, LK, C),
               torch.randn(N, LK, C))
    q_pos, k_pos = torch.randn(N, LQ, C), torch.randn(N, LK, C)
    allowed = torch.rand(LQ, LK) > 0.3
    allowed[:, 0] = True  # every query sees at least one key
    out = attn(q, k, v, q_pos, k_pos, attn_mask=allowed)
    # positions go into queries and keys, never into values
    ref, _ = _reference(attn)(q + q_pos, k + k_pos, v, attn_mask=~allowed)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_causal_equals_lower_triangular_mask():
    attn = _attention()
    x = torch.randn(N, LQ, C)
    tril = torch.ones(LQ, LQ, dtype=torch.bool).tril()
    torch.testing.assert_close(
        attn(x, x, x, causal=True), attn(x, x, x, attn_mask=tril))
    with pytest.raises(ValueError):
        attn(x, x, x, causal=True, attn_mask=tril)
    with pytest.raises(ValueError):
        attn(x, x, x, causal=True, cache=KVCache(LQ),
             positions=torch.arange(LQ))


def test_static_cache_steps_equal_one_full_pass():
    """A prefix of 2 positions, then one position per step, written in place
    into a preallocated cache of 8 positions (3 never written), gives the
    causal full pass; the buffers never move."""
    attn = _attention()
    x = torch.randn(N, LQ, C)
    full = attn(x, x, x, causal=True)
    cache = KVCache(LQ + 3)
    steps = [attn(x[:, :2], x[:, :2], x[:, :2], cache=cache,
                  positions=torch.arange(2))]
    assert cache.k.shape == cache.v.shape == (N, HEADS, LQ + 3, C // HEADS)
    addresses = cache.k.data_ptr(), cache.v.data_ptr()
    for i in range(2, LQ):
        steps.append(attn(x[:, i:i + 1], x[:, i:i + 1], x[:, i:i + 1],
                          cache=cache, positions=torch.tensor([i])))
    assert (cache.k.data_ptr(), cache.v.data_ptr()) == addresses
    assert not cache.k[:, :, LQ:].any()  # positions never written stay 0
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-6,
                               rtol=1e-5)


def test_static_cache_computes_memory_keys_once():
    attn = _attention()
    x, memory, pos = (torch.randn(N, LQ, C), torch.randn(N, LK, C),
                      torch.randn(N, LK, C))
    cache = KVCache(LK)
    first = attn(x, memory, memory, key_pos=pos, cache=cache)
    # later calls attend to the cached memory keys/values
    again = attn(x, None, None, cache=cache)
    assert torch.equal(first, again)
    torch.testing.assert_close(first, attn(x, memory, memory, key_pos=pos))


def test_cache_reorder_and_clear_keep_the_buffers():
    cache = KVCache(3)
    k, v = torch.randn(4, 2, 3, 5), torch.randn(4, 2, 3, 5)
    cache.write(k, v)
    address = cache.k.data_ptr()
    index = torch.tensor([2, 2, 0, 1])
    cache.reorder_(index)
    assert torch.equal(cache.k, k[index]) and torch.equal(cache.v, v[index])
    cache.clear()
    assert cache.k.data_ptr() == address
    assert not cache.k.any() and not cache.v.any()
    # another row count (or dtype) allocates new buffers
    cache.write(k[:2], v[:2], torch.arange(3))
    assert cache.k.shape == (2, 2, 3, 5) and torch.equal(cache.k, k[:2])


def test_heads_must_divide_channels():
    with pytest.raises(ValueError, match='divisible'):
        SDPAttention(10, 4)
