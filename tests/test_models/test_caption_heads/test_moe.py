import pytest
import torch

from rassu_mm.models.caption_heads import MoEFeedForward


def _moe(num_experts=4, top_k=1, context_dims=0):
    torch.manual_seed(0)
    return MoEFeedForward(8, 16, num_experts, top_k, context_dims)


def _route_to(moe, experts, scale=50.):
    """Router logits: ``scale`` for the expert of each token (one-hot x)."""
    with torch.no_grad():
        moe.router.weight.zero_()
        moe.router.bias.zero_()
        moe.router.weight[:, :moe.num_experts] = scale * torch.eye(
            moe.num_experts)
    x = torch.zeros(len(experts), 8)
    x[torch.arange(len(experts)), experts] = 1.
    return x


def test_balanced_routing_gives_minimum_one():
    moe = _moe(num_experts=4, top_k=1)
    x = _route_to(moe, torch.arange(4).repeat(5))
    _, aux = moe(x)
    torch.testing.assert_close(aux['usage'], torch.full((4, ), 0.25))
    torch.testing.assert_close(aux['loss_balance'], torch.tensor(1.))


def test_collapsed_routing_gives_num_experts():
    moe = _moe(num_experts=4, top_k=1)
    x = _route_to(moe, torch.zeros(20, dtype=torch.long))
    _, aux = moe(x)
    torch.testing.assert_close(aux['usage'], torch.tensor([1., 0, 0, 0]))
    torch.testing.assert_close(aux['loss_balance'], torch.tensor(4.))


def test_top_k_usage_and_valid_mask():
    moe = _moe(num_experts=4, top_k=2)
    x = torch.randn(3, 7, 8)
    valid = torch.rand(3, 7) > 0.3
    _, aux = moe(x, valid=valid)
    probs = torch.softmax(moe.router(x[valid]), -1)
    chosen = probs.topk(2, -1).indices
    counts = torch.bincount(chosen.flatten(), minlength=4).float()
    torch.testing.assert_close(aux['usage'], counts / counts.sum())
    expected = 4 * (aux['usage'] * probs.mean(0)).sum()
    torch.testing.assert_close(aux['loss_balance'], expected)


@pytest.mark.parametrize('top_k', [1, 2])
def test_output_is_gated_sum_of_chosen_experts(top_k):
    moe = _moe(num_experts=3, top_k=top_k, context_dims=5)
    x, ctx = torch.randn(2, 4, 8), torch.randn(2, 1, 5)
    out, _ = moe(x, ctx)
    for i in range(2):
        for j in range(4):
            logits = moe.router(torch.cat([x[i, j], ctx[i, 0]]))
            gates, chosen = logits.softmax(-1).topk(top_k)
            if top_k > 1:
                gates = gates / gates.sum()
            ref = sum(g * moe.experts[e](x[i, j])
                      for g, e in zip(gates, chosen))
            torch.testing.assert_close(out[i, j], ref)


def test_balance_loss_spreads_a_collapsed_router():
    moe = _moe(num_experts=4, top_k=1)
    x = torch.randn(256, 8)
    with torch.no_grad():
        moe.router.bias.copy_(torch.tensor([3., 0., 0., 0.]))
    _, aux = moe(x)
    start_usage = aux['usage'][0].item()
    assert start_usage > 0.9
    opt = torch.optim.SGD(moe.router.parameters(), lr=1.)
    for _ in range(50):
        _, aux = moe(x)
        opt.zero_grad()
        aux['loss_balance'].backward()
        opt.step()
    _, aux = moe(x)
    assert aux['usage'].max() < 0.5
    assert aux['loss_balance'] < 1.2


def test_mixed_precision_matches_float32():
    """Under autocast the experts compute in bfloat16 and their outputs are
    gathered into the float32 tokens (on CUDA AMP this failed with a dtype
    mismatch in ``index_add_``); with a decisive routing (logit margin 50,
    so both precisions pick the same experts) the result stays within
    bfloat16 rounding of the float32 one."""
    moe = _moe(num_experts=4, top_k=1)
    x = _route_to(moe, torch.arange(4).repeat(3))
    ref, _ = moe(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out, _ = moe(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=0.05, atol=0.05)
