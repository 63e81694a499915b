"""Paired ablation rows: with one seed, a row with or without an optional
branch (MCM) starts from the same weights in every part the rows share."""
import torch
from mmseg.registry import MODELS

from rassu_mm.testing import tiny_model_cfg, write_caption_tokenizer


def _build(seed, tokenizer, **overrides):
    torch.manual_seed(seed)
    return MODELS.build(
        tiny_model_cfg('ssuformer_demo.py', tokenizer=tokenizer, **overrides))


def test_rows_share_initial_weights(tmp_path):
    tokenizer = write_caption_tokenizer(tmp_path,
                                        ['the red circle is sounding'])
    with_mcm = _build(0, tokenizer).state_dict()
    without = _build(0, tokenizer, mask_collaboration=None).state_dict()
    shared = [k for k in without if not k.startswith('data_preprocessor')]
    assert any(k.startswith('caption_head.') for k in shared)
    assert set(shared) <= set(with_mcm)
    for key in shared:
        assert torch.equal(with_mcm[key], without[key]), key
