"""rassu_mm.testing's stand-in caption tokenizer."""
from mmengine.config import Config

from rassu_mm.models.utils.tokenization import CaptionTokenizer
from rassu_mm.testing import (DEMO_CAPTION, use_stand_in_tokenizer,
                              write_caption_tokenizer)


def test_written_tokenizer_encodes_its_captions(tmp_path):
    folder = write_caption_tokenizer(tmp_path / 'tok')
    assert folder == str(tmp_path / 'tok')
    tokenizer = CaptionTokenizer(folder)
    assert tokenizer.vocab_size <= 60
    ids, _ = tokenizer.encode([DEMO_CAPTION], max_length=20)
    # every word in the vocabulary: decoding gives the caption back
    assert tokenizer.decode(ids[:, 1:]) == [DEMO_CAPTION]


def test_stand_in_only_for_a_missing_folder(tmp_path):
    cfg = Config(dict(model=dict(caption_head=dict(tokenizer='no/such'))))
    stand_in = str(tmp_path / 'stand_in')
    assert use_stand_in_tokenizer(cfg, stand_in, ['a b c']) == 'no/such'
    assert cfg.model.caption_head.tokenizer == stand_in
    # the folder now exists: left alone
    assert use_stand_in_tokenizer(cfg, str(tmp_path / 'other')) is None
    assert cfg.model.caption_head.tokenizer == stand_in
    no_head = Config(dict(model=dict(caption_head=None)))
    assert use_stand_in_tokenizer(no_head, stand_in) is None
