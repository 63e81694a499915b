"""Paired ablation rows: with one seed, a row with or without an optional
part (MCM, temporal MMI, hierarchical prompts, extra experts, region losses)
starts from the same weights in every part the rows share."""
import pytest
import torch
from mmseg.registry import MODELS

from rassu_mm.testing import tiny_model_cfg, write_caption_tokenizer

# The stacked experts ``[E, ...]`` of every MoE FFN: the rows share expert 0.
EXPERT_KEYS = ('.ffn.w1', '.ffn.b1', '.ffn.w2', '.ffn.b2')
# Entries whose shape depends on the row and that the rows do not share:
# the router (its outputs are the experts, its inputs include the prompts)
# and the decoder's position table (the prompts take the first positions).
ROW_SHAPED_KEYS = ('.ffn.router.weight', '.ffn.router.bias',
                   'caption_head.decoder.pos_embed.weight')


@pytest.fixture(scope='module')
def tokenizer(tmp_path_factory):
    return write_caption_tokenizer(
        tmp_path_factory.mktemp('tokenizer'),
        ['the small striped hexagon at the top left is ringing'])


def _state(config, tokenizer, seed=0, **overrides):
    """State dict of a tiny ``configs/<config>`` built and initialised (as
    the Runner does) with the torch seed ``seed``."""
    cfg = tiny_model_cfg(config, tokenizer=tokenizer, **overrides)
    for name in ('loss_clip', 'loss_rcc'):
        if cfg.caption_head.get(name):
            cfg.caption_head[name].tokenizer = tokenizer
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    return {
        k: v
        for k, v in model.state_dict().items()
        if not k.startswith('data_preprocessor')
    }


def _assert_shared_equal(row, baseline):
    """Every entry both state dicts have is equal (the first expert of
    stacked experts); returns the number of entries compared."""
    shared = [k for k in baseline if k in row]
    assert any(k.startswith('caption_head.') for k in shared)
    for key in shared:
        a, b = row[key], baseline[key]
        if key.endswith(EXPERT_KEYS) and a.shape[1:] == b.shape[1:]:
            a, b = a[:len(b)], b[:len(a)]
        if a.shape != b.shape:
            assert key.endswith(ROW_SHAPED_KEYS), key
            continue
        assert torch.equal(a, b), key
    return len(shared)


def test_rows_share_initial_weights(tokenizer):
    with_mcm = _state('ssuformer_demo.py', tokenizer)
    without = _state('ssuformer_demo.py', tokenizer, mask_collaboration=None)
    assert set(without) <= set(with_mcm)
    _assert_shared_equal(with_mcm, without)


@pytest.mark.parametrize('row', ['temporal', 'mohe', 'full'])
def test_ablation_rows_share_the_baselines_weights(tokenizer, row):
    baseline = _state('ablations/ssuformer_hard_baseline.py', tokenizer)
    other = _state(f'ablations/ssuformer_hard_{row}.py', tokenizer)
    assert _assert_shared_equal(other, baseline) == len(baseline)
    # the optional parts are there, and drawn (not all equal to a default)
    extra = {
        'temporal': 'fusion.layers.0.temporal_attn.',
        'mohe': 'caption_head.prompter.',
        'full': 'mask_collaboration.',
    }[row]
    assert any(k.startswith(extra) for k in other)


def test_other_seeds_give_other_weights(tokenizer):
    """The shared parts follow the seed (the streams are not fixed)."""
    first = _state('ablations/ssuformer_hard_full.py', tokenizer, seed=0)
    second = _state('ablations/ssuformer_hard_full.py', tokenizer, seed=1)
    for prefix in ('backbone.', 'fusion.layers.0.temporal_attn.',
                   'caption_head.prompter.', 'caption_head.decoder.layers.'):
        key = next(k for k in first
                   if k.startswith(prefix) and k.endswith('weight')
                   and first[k].float().std() > 0)
        assert not torch.equal(first[key], second[key]), key
