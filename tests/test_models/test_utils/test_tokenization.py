import json

import pytest
import torch
from transformers import AutoTokenizer

from rassu_mm.models.utils.tokenization import (CaptionTokenizer,
                                                train_caption_tokenizer)
from rassu_mm.testing import load_tool

CAPTIONS = [
    'The red triangle on the left is sounding.',
    'The blue circle on the right is sounding.',
    'The green square in the middle is sounding, while the red triangle '
    'is silent.',
    'A woman on the left is playing a flute.',
]


@pytest.mark.parametrize('model', ['wordpiece', 'bpe'])
def test_build_save_load_round_trip(tmp_path, model):
    tokenizer = train_caption_tokenizer(CAPTIONS, model, vocab_size=400)
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(str(tmp_path))
    assert [loaded.pad_token_id, loaded.unk_token_id, loaded.bos_token_id,
            loaded.eos_token_id] == [0, 1, 2, 3]

    tok = CaptionTokenizer(str(tmp_path))
    ids, mask = tok.encode(CAPTIONS, max_length=64)
    lengths = mask.sum(1)
    assert (ids[:, 0] == tok.bos_id).all()
    assert (ids[torch.arange(len(ids)), lengths - 1] == tok.eos_id).all()
    assert (ids[~mask] == tok.pad_id).all()
    assert tok.decode(ids[:, 1:]) == [c.lower() for c in CAPTIONS]
    # the post-processor wraps text for a CLIP text tower (EOS pooling)
    wrapped = loaded('violin')['input_ids']
    assert wrapped[0] == tok.bos_id and wrapped[-1] == tok.eos_id


def test_truncation_keeps_eos(tmp_path):
    train_caption_tokenizer(CAPTIONS, vocab_size=200).save_pretrained(
        tmp_path)
    tok = CaptionTokenizer(str(tmp_path))
    ids, mask = tok.encode(CAPTIONS, max_length=5)
    assert ids.shape == (len(CAPTIONS), 5) and mask.all()
    assert (ids[:, -1] == tok.eos_id).all()


def test_decode_stops_at_eos(tmp_path):
    train_caption_tokenizer(CAPTIONS, vocab_size=200).save_pretrained(
        tmp_path)
    tok = CaptionTokenizer(str(tmp_path))
    ids, _ = tok.encode(['the red triangle', 'blue'], max_length=16)
    junk = torch.tensor([[tok.eos_id] + ids[0, 1:3].tolist()])
    assert tok.decode(junk) == ['']
    assert tok.decode(ids[:, 1:]) == ['the red triangle', 'blue']


def test_build_tokenizer_tool(tmp_path):
    ann = dict(
        metainfo=dict(dataset_name='demo'),
        clips=[
            dict(clip_id='a', frames=[dict(caption=CAPTIONS[0]),
                                      dict(caption=None)]),
            dict(clip_id='b', frames=[dict(caption=c) for c in CAPTIONS[1:]]),
        ])
    ann_file = tmp_path / 'train.json'
    ann_file.write_text(json.dumps(ann))
    tool = load_tool('tools/build_tokenizer.py')
    assert list(tool.iter_captions([str(ann_file)])) == CAPTIONS
    out = tmp_path / 'tok'
    tool.main([str(ann_file), str(out), '--model', 'bpe', '--vocab-size',
               '400'])
    tok = CaptionTokenizer(str(out))
    ids, _ = tok.encode(CAPTIONS[:1], 32)
    assert tok.decode(ids[:, 1:]) == [CAPTIONS[0].lower()]
