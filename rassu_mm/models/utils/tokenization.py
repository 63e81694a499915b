"""Caption tokenizer: train one on captions, load any from a folder.

The caption head works with any ``transformers`` fast tokenizer. BOS and EOS
are added by :class:`CaptionTokenizer` itself (``add_special_tokens=False``),
so tokenizers with ``[CLS]/[SEP]`` (BERT) or a shared ``<|endoftext|>``
(GPT-2) work as well as the ones built by ``tools/build_tokenizer.py``.
"""
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import torch
from transformers import (AutoTokenizer, PreTrainedTokenizerBase,
                          PreTrainedTokenizerFast)

SPECIAL_TOKENS = dict(
    pad_token='[PAD]', unk_token='[UNK]', bos_token='[BOS]',
    eos_token='[EOS]')


def train_caption_tokenizer(captions: Iterable[str],
                            model: str = 'wordpiece',
                            vocab_size: int = 8000,
                            min_frequency: int = 1) -> PreTrainedTokenizerFast:
    """Train a lower-casing WordPiece or byte-level BPE tokenizer.

    WordPiece splits words at whitespace and punctuation (decoding joins
    punctuation back); byte-level BPE keeps spaces in its tokens (GPT-2
    style), so decoding restores the text exactly.

    Special tokens get the ids ``[PAD]=0, [UNK]=1, [BOS]=2, [EOS]=3``; a
    template post-processor wraps encoded text in ``[BOS] ... [EOS]`` (used
    when the tokenizer feeds a CLIP text model, which pools at EOS).

    Args:
        captions: training sentences.
        model: ``'wordpiece'`` or ``'bpe'``.
        vocab_size: maximum vocabulary size, special tokens included.
        min_frequency: minimum count of a merge / word piece.

    Returns:
        PreTrainedTokenizerFast: save it with ``save_pretrained(folder)`` and
        load it with ``AutoTokenizer.from_pretrained(folder)``.
    """
    from tokenizers import (Tokenizer, decoders, models, normalizers,
                            pre_tokenizers, processors, trainers)
    specials = [SPECIAL_TOKENS[k] for k in
                ('pad_token', 'unk_token', 'bos_token', 'eos_token')]
    unk = SPECIAL_TOKENS['unk_token']
    if model == 'wordpiece':
        tokenizer = Tokenizer(models.WordPiece(unk_token=unk))
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency,
            special_tokens=specials, show_progress=False)
        tokenizer.decoder = decoders.WordPiece()
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    elif model == 'bpe':
        tokenizer = Tokenizer(models.BPE(unk_token=unk))
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency,
            special_tokens=specials, show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(
            add_prefix_space=True)
        tokenizer.decoder = decoders.ByteLevel()
    else:
        raise ValueError(f"model must be 'wordpiece' or 'bpe', got {model!r}")
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFD(), normalizers.Lowercase(),
         normalizers.StripAccents()])
    tokenizer.train_from_iterator(list(captions), trainer)
    bos, eos = SPECIAL_TOKENS['bos_token'], SPECIAL_TOKENS['eos_token']
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f'{bos} $A {eos}',
        special_tokens=[(bos, tokenizer.token_to_id(bos)),
                        (eos, tokenizer.token_to_id(eos))])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        clean_up_tokenization_spaces=model == 'wordpiece', **SPECIAL_TOKENS)


def load_tokenizer(
    tokenizer: Union[str, PreTrainedTokenizerBase]
) -> PreTrainedTokenizerBase:
    """Load a tokenizer from a local folder (or return it unchanged)."""
    if isinstance(tokenizer, PreTrainedTokenizerBase):
        return tokenizer
    return AutoTokenizer.from_pretrained(str(tokenizer))


class CaptionTokenizer:
    """Encode captions to ``[BOS] ... [EOS]`` id tensors and decode back.

    BOS falls back to the CLS token and EOS to the SEP token; PAD falls back
    to EOS. Padding positions are also reported by a mask, so a PAD id that
    equals EOS is harmless.

    Args:
        tokenizer: a tokenizer folder (built by ``tools/build_tokenizer.py``
            or any pretrained one) or a tokenizer object.
    """

    def __init__(self, tokenizer: Union[str, PreTrainedTokenizerBase]):
        self.tokenizer = load_tokenizer(tokenizer)
        tok = self.tokenizer
        self.bos_id = _first_not_none(tok.bos_token_id, tok.cls_token_id)
        self.eos_id = _first_not_none(tok.eos_token_id, tok.sep_token_id)
        if self.bos_id is None or self.eos_id is None:
            raise ValueError('The tokenizer needs BOS/EOS (or CLS/SEP) '
                             'special tokens.')
        self.pad_id = _first_not_none(tok.pad_token_id, self.eos_id)

    @property
    def vocab_size(self) -> int:
        """Number of token ids, added special tokens included."""
        return len(self.tokenizer)

    def encode(self, captions: Sequence[str],
               max_length: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Tokenise ``N`` captions.

        Args:
            captions: ``N`` sentences.
            max_length: maximum length including BOS and EOS (longer
                captions are truncated before EOS).

        Returns:
            tuple: ``ids`` ``[N, S]`` long (``[BOS] w_1 .. w_n [EOS]``, right
            padded with PAD) and ``mask`` ``[N, S]`` bool (True on real
            tokens, BOS and EOS included).
        """
        pieces = self.tokenizer(
            list(captions), add_special_tokens=False)['input_ids']
        seqs = [[self.bos_id] + p[:max_length - 2] + [self.eos_id]
                for p in pieces]
        length = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), length), dtype=torch.bool)
        for i, seq in enumerate(seqs):
            ids[i, :len(seq)] = torch.tensor(seq)
            mask[i, :len(seq)] = True
        return ids, mask

    def decode(self, ids: torch.Tensor) -> List[str]:
        """Decode generated ids ``[N, S]`` (without BOS) to ``N`` strings.

        Everything from the first EOS on is dropped, as are special tokens.
        """
        texts = []
        for row in ids.tolist():
            if self.eos_id in row:
                row = row[:row.index(self.eos_id)]
            texts.append(row)
        return [
            t.strip() for t in self.tokenizer.batch_decode(
                texts, skip_special_tokens=True)
        ]


def _first_not_none(*values: Optional[int]) -> Optional[int]:
    return next((v for v in values if v is not None), None)
