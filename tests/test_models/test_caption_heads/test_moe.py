import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile

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
            ref = sum(g * _expert(moe, e, x[i, j])
                      for g, e in zip(gates, chosen))
            torch.testing.assert_close(out[i, j], ref)


def _expert(moe, e, x):
    """Expert ``e``: ``Linear -> GELU -> Linear`` on its stacked weights."""
    hidden = F.gelu(x @ moe.w1[e].T + moe.b1[e])
    return hidden @ moe.w2[e].T + moe.b2[e]


def _linear_pair():
    """A ``Linear(8, 16)``, ``Linear(16, 8)`` pair from the global RNG."""
    first, second = nn.Linear(8, 16), nn.Linear(16, 8)
    return first.weight, first.bias, second.weight, second.bias


def test_experts_initialise_as_linear_layers():
    """The router and the experts get the draws of ``Linear`` layers: the
    router in its stream, expert 0 from the global RNG, experts 1.. in
    theirs (a seed each, drawn first)."""
    moe = _moe(num_experts=3, context_dims=4)
    torch.manual_seed(0)
    router_seed, others_seed = (torch.randint(2**62, (1, )).item()
                                for _ in range(2))
    pairs = [_linear_pair()]
    torch.manual_seed(others_seed)
    pairs += [_linear_pair() for _ in range(2)]
    torch.manual_seed(router_seed)
    router = nn.Linear(12, 3)
    assert torch.equal(moe.router.weight, router.weight)
    for e, pair in enumerate(pairs):
        for value, ref in zip((moe.w1[e], moe.b1[e], moe.w2[e], moe.b2[e]),
                              pair):
            assert torch.equal(value, ref), e


def test_initial_weights_pair_across_expert_counts():
    """With one seed, layers of 1, 3 and 5 experts with or without router
    context share their common experts, and leave the global RNG in the
    same state (what is built after them gets the same weights)."""
    layers, after = [], []
    for num_experts, context_dims in ((1, 0), (3, 0), (5, 12)):
        layers.append(_moe(num_experts, context_dims=context_dims))
        after.append(torch.rand(4))
    for moe, rng in zip(layers[1:], after[1:]):
        assert torch.equal(rng, after[0])
        for name in ('w1', 'b1', 'w2', 'b2'):
            common = min(moe.num_experts, layers[1].num_experts)
            assert torch.equal(
                getattr(moe, name)[:common],
                getattr(layers[1], name)[:common])
            assert torch.equal(
                getattr(moe, name)[:1], getattr(layers[0], name))
    assert not torch.equal(layers[2].w1[1], layers[2].w1[2])


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


def test_dense_and_sparse_dispatch_agree():
    """The dense dispatch (inference) gives the sparse one's output (CPU
    training) and the same gradients."""
    moe = _moe(num_experts=4, top_k=2, context_dims=5)
    x = torch.randn(30, 8)
    gates, experts = torch.rand(30, 4).softmax(-1).topk(2, -1)
    results = []
    for dispatch in (moe._sparse, moe._dense):
        xi = x.clone().requires_grad_()
        gi = gates.clone().requires_grad_()
        out = dispatch(xi, gi, experts)
        moe.zero_grad()
        out.pow(2).sum().backward()
        results.append([out.detach(), xi.grad, gi.grad] +
                       [p.grad.clone() for p in (moe.w1, moe.b1, moe.w2,
                                                 moe.b2)])
    for dense, sparse in zip(results[1], results[0]):
        torch.testing.assert_close(dense, sparse)


def test_inference_is_sync_free_and_skips_the_statistics():
    moe = _moe(num_experts=4, top_k=2, context_dims=5)
    x, ctx = torch.randn(3, 7, 8), torch.randn(3, 1, 5)
    train_out, aux = moe.train()(x, ctx)
    assert aux is not None
    moe.eval()
    assert moe(x, ctx)[1] is not None  # a loss with gradients needs them
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        out, aux = moe(x, ctx)
    assert aux is None
    syncs = [e.name for e in prof.events()
             if e.name in ('aten::nonzero', 'aten::_local_scalar_dense')]
    assert syncs == []
    torch.testing.assert_close(out, train_out)


@pytest.mark.parametrize('train', [True, False])
def test_mixed_precision_matches_float32(train):
    """Under autocast the experts compute in bfloat16 and their outputs are
    gathered into the float32 tokens (on CUDA AMP this failed with a dtype
    mismatch in ``index_add_``); with a decisive routing (logit margin 50,
    so both precisions pick the same experts) the result stays within
    bfloat16 rounding of the float32 one."""
    moe = _moe(num_experts=4, top_k=1).train(train)  # sparse / dense
    x = _route_to(moe, torch.arange(4).repeat(3))
    ref, _ = moe(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out, _ = moe(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=0.05, atol=0.05)
