"""Benchmark caption generation: key/value cache on/off, greedy vs beam.

Builds a realistic-size MoHE caption head (random weights) with a tokenizer
trained on synthetic sentences, then times ``MoHECaptionHead.generate`` on
``clips * frames`` frames. EOS is disabled so every caption has exactly
``--max-length`` tokens. Example::

    python tools/analysis_tools/benchmark_generation.py --max-length 20
"""
import argparse
import random
import tempfile
import time

import torch
from mmengine.structures import BaseDataElement

from rassu_mm.models.caption_heads import MoHECaptionHead
from rassu_mm.models.tokenization import train_caption_tokenizer


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tokenizer', help='tokenizer folder (default: '
                        'train one on synthetic sentences)')
    parser.add_argument('--vocab-size', type=int, default=3000)
    parser.add_argument('--clips', type=int, default=2)
    parser.add_argument('--frames', type=int, default=10)
    parser.add_argument('--memory-len', type=int, default=100)
    parser.add_argument('--embed-dims', type=int, default=256)
    parser.add_argument('--num-layers', type=int, default=3)
    parser.add_argument('--num-experts', type=int, default=4)
    parser.add_argument('--max-length', type=int, default=20)
    parser.add_argument('--beam-size', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    return parser.parse_args(argv)


def synthetic_tokenizer(vocab_size: int, folder: str) -> str:
    """Train a WordPiece tokenizer on random sentences; return the folder."""
    rng = random.Random(0)
    words = [''.join(rng.choices('abcdefghijklmnopqrstuvwxyz',
                                 k=rng.randint(3, 9)))
             for _ in range(vocab_size)]
    sentences = [' '.join(rng.choices(words, k=15)) + '.'
                 for _ in range(2000)]
    train_caption_tokenizer(sentences, 'wordpiece',
                            vocab_size).save_pretrained(folder)
    return folder


def captions_per_second(head: MoHECaptionHead, neck_outs: dict,
                        data_samples: list, repeats: int, **cfg) -> float:
    """Best-of-``repeats`` throughput of ``head.generate``."""
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        ids = head.generate(neck_outs, data_samples, **cfg)
        best = min(best, time.perf_counter() - start)
    assert ids.shape[1] == cfg['max_length']
    return len(ids) / best


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        head = MoHECaptionHead(
            tokenizer=args.tokenizer or synthetic_tokenizer(
                args.vocab_size, tmp),
            in_channels=args.embed_dims, embed_dims=args.embed_dims,
            num_layers=args.num_layers, num_heads=8,
            feedforward_channels=4 * args.embed_dims,
            num_experts=args.num_experts, top_k=2,
            classes=['a', 'b', 'c'], super_categories=dict(x=['a', 'b'],
                                                           y=['c']),
            generation=dict(max_length=args.max_length)).eval()
    head.tokenizer.eos_id = -1  # never stop early: fixed-length captions
    n = args.clips * args.frames
    neck_outs = dict(
        memory=torch.randn(n, args.memory_len, args.embed_dims),
        region_embeds=None)
    data_samples = [BaseDataElement(metainfo=dict(num_frames=args.frames))
                    for _ in range(args.clips)]
    print(f'{n} frames, {args.max_length} tokens, vocab '
          f'{head.tokenizer.vocab_size}, {args.threads} threads')
    results = {}
    for strategy in ('greedy', 'beam'):
        for use_cache in (False, True):
            results[strategy, use_cache] = captions_per_second(
                head, neck_outs, data_samples, args.repeats,
                strategy=strategy, use_cache=use_cache,
                max_length=args.max_length, beam_size=args.beam_size)
            beam = args.beam_size if strategy == 'beam' else 1
            print(f"{strategy:6s} (beam {beam}) cache="
                  f"{'on ' if use_cache else 'off'}: "
                  f'{results[strategy, use_cache]:8.1f} captions/s')
    for strategy in ('greedy', 'beam'):
        ratio = results[strategy, True] / results[strategy, False]
        print(f'{strategy} cache speed-up: {ratio:.2f}x')


if __name__ == '__main__':
    main()
