import pytest
import torch
from torch import nn

from rassu_mm.models.utils import SDPAttention

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


def test_cached_causal_steps_equal_one_full_pass():
    attn = _attention()
    x = torch.randn(N, LQ, C)
    full = attn(x, x, x, causal=True)
    cache = {}
    first = attn(x[:, :2], x[:, :2], x[:, :2], causal=True, cache=cache)
    steps = [first] + [
        attn(x[:, i:i + 1], x[:, i:i + 1], x[:, i:i + 1], causal=True,
             cache=cache) for i in range(2, LQ)
    ]
    assert cache['k'].shape == (N, HEADS, LQ, C // HEADS)
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-6,
                               rtol=1e-5)


def test_static_cache_computes_memory_keys_once():
    attn = _attention()
    x, memory, pos = (torch.randn(N, LQ, C), torch.randn(N, LK, C),
                      torch.randn(N, LK, C))
    cache = {}
    first = attn(x, memory, memory, key_pos=pos, cache=cache,
                 static_kv=True)
    # the cached keys/values are used; new key/value inputs are ignored
    again = attn(x, memory * 0, memory * 0, cache=cache, static_kv=True)
    assert torch.equal(first, again)
    torch.testing.assert_close(first, attn(x, memory, memory, key_pos=pos))


def test_heads_must_divide_channels():
    with pytest.raises(ValueError, match='divisible'):
        SDPAttention(10, 4)
