"""Benchmark caption generation: decode step time and host syncs.

Builds a MoHE caption head with random weights (``--preset demo``: the size
and inference batch of ``configs/ssuformer_demo.py``, 4 clips x 5 frames
with 24 memory tokens; ``paper``: the paper config's head, 1 clip x 10
frames; single options override the preset) with a tokenizer trained on
synthetic sentences and times ``MoHECaptionHead.generate``, greedy and beam
search. EOS is disabled so every caption has exactly ``--max-length``
tokens. The decode step time is
``(t(max_length) - t(1)) / (max_length - 1)``: one generated token with the
search's bookkeeping, without the prompts and the first (prefix) pass
(``t``: the fastest of ``--repeats`` calls). Host syncs of one ``generate``
call are counted with this tree's ``rassu_mm.testing.HostSyncRecorder``
(what would block the host on a GPU), whichever tree is measured.

Each measurement runs in a fresh process. ``--against REF`` (a commit,
checked out in a temporary ``git worktree``, or a folder holding another
checkout) measures that ``rassu_mm`` too, alternating with this one in every
round (who goes first alternates), and reports the ratio of the medians over
the rounds. Example::

    python tools/analysis_tools/benchmark_generation.py --against 100158e \\
        --threads 2 --rounds 5 --compile
"""
import argparse
import importlib
import importlib.util
import json
import os
import os.path as osp
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types

import torch
from mmengine.structures import BaseDataElement

STRATEGIES = ('greedy', 'beam')
PRESETS = dict(
    demo=dict(clips=4, frames=5, memory_len=24, embed_dims=64, num_layers=2,
              num_heads=4, feedforward_channels=128, vocab_size=300,
              max_length=24),
    paper=dict(clips=1, frames=10, memory_len=149, embed_dims=512,
               num_layers=3, num_heads=8, feedforward_channels=2048,
               vocab_size=3000, max_length=40))
MODEL_KEYS = ('vocab_size', 'clips', 'frames', 'memory_len', 'embed_dims',
              'num_layers', 'num_heads', 'feedforward_channels',
              'num_experts', 'max_length', 'beam_size')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--against', metavar='REF',
                        help='a commit (measured in a temporary git '
                        'worktree) or a folder holding another checkout')
    parser.add_argument('--rounds', type=int, default=3,
                        help='processes per tree, alternating')
    parser.add_argument('--compile', action='store_true',
                        help='also time generation=dict(compile=True) '
                        '(this tree only)')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        default='demo')
    parser.add_argument('--tokenizer', help='tokenizer folder (default: '
                        'train one on synthetic sentences)')
    for key in MODEL_KEYS:
        parser.add_argument(f"--{key.replace('_', '-')}", type=int)
    parser.add_argument('--repeats', type=int, default=10,
                        help='timed generate calls per measurement (the '
                        'fastest counts)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--worker', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    preset = dict(num_experts=4, beam_size=3, **PRESETS[args.preset])
    for key in MODEL_KEYS:
        if getattr(args, key) is None:
            setattr(args, key, preset[key])
    return args


def synthetic_tokenizer(vocab_size: int, folder: str) -> str:
    """Train a WordPiece tokenizer on random sentences; return the folder."""
    from rassu_mm.models.tokenization import train_caption_tokenizer
    rng = random.Random(0)
    words = [''.join(rng.choices('abcdefghijklmnopqrstuvwxyz',
                                 k=rng.randint(3, 9)))
             for _ in range(vocab_size)]
    sentences = [' '.join(rng.choices(words, k=15)) + '.'
                 for _ in range(2000)]
    train_caption_tokenizer(sentences, 'wordpiece',
                            vocab_size).save_pretrained(folder)
    return folder


def build_head(args: argparse.Namespace, tokenizer: str):
    """A random MoHE head of the requested size, EOS disabled."""
    from rassu_mm.models.caption_heads import MoHECaptionHead
    torch.manual_seed(0)
    head = MoHECaptionHead(
        tokenizer=tokenizer, in_channels=args.embed_dims,
        embed_dims=args.embed_dims, num_layers=args.num_layers,
        num_heads=args.num_heads,
        feedforward_channels=args.feedforward_channels,
        num_experts=args.num_experts, top_k=2, classes=['a', 'b', 'c'],
        super_categories=dict(x=['a', 'b'], y=['c']),
        generation=dict(max_length=args.max_length)).eval()
    head.tokenizer.eos_id = -1  # never stop early: fixed-length captions
    return head


def time_generate(generate, repeats: int, max_length: int) -> float:
    """Fastest of ``repeats`` calls of ``generate(max_length)`` after a
    warm-up call, in seconds (other processes only ever add time)."""
    ids = generate(max_length)
    assert ids.shape[1] == max_length, ids.shape
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        generate(max_length)
        times.append(time.perf_counter() - start)
    return min(times)


def count_syncs(fn) -> int:
    """Host syncs of ``fn()``, counted by this tree's ``HostSyncRecorder``
    (imported from its file as a package of its own: the ``rassu_mm``
    measured may predate it)."""
    if '_benchmark_testing' not in sys.modules:
        package = types.ModuleType('_benchmark_testing')
        package.__path__ = [osp.join(REPO, 'rassu_mm', 'testing')]
        sys.modules['_benchmark_testing'] = package
    recorder = importlib.import_module('_benchmark_testing._host_syncs')
    with recorder.HostSyncRecorder() as syncs:
        fn()
    return len(syncs.events)


def measure(args: argparse.Namespace) -> dict:
    """Per strategy (and compiled variant): step ms, generate ms, syncs."""
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        head = build_head(
            args, args.tokenizer or synthetic_tokenizer(args.vocab_size, tmp))
    torch.manual_seed(1)
    n = args.clips * args.frames
    shape = (n, args.memory_len, args.embed_dims)
    inputs = dict(memory=torch.randn(shape), memory_pos=torch.randn(shape),
                  region_embeds=None)
    samples = [BaseDataElement(metainfo=dict(num_frames=args.frames))
               for _ in range(args.clips)]
    variants = [(s, {}) for s in STRATEGIES]
    if args.compile:
        variants += [(f'{s}+compile', dict(compile=True))
                     for s in STRATEGIES]
    results = {}
    for name, extra in variants:
        cfg = dict(strategy=name.split('+')[0], beam_size=args.beam_size,
                   use_cache=True, **extra)

        def generate(length, cfg=cfg):
            return head.generate(inputs, samples, max_length=length, **cfg)

        full = time_generate(generate, args.repeats, args.max_length)
        first = time_generate(generate, args.repeats, 1)
        results[name] = dict(
            step_ms=1e3 * (full - first) / max(args.max_length - 1, 1),
            generate_ms=1e3 * full,
            syncs=count_syncs(lambda: generate(args.max_length)))
    return results


def run_worker(tree: str, argv: list) -> dict:
    """``measure`` in a fresh process that imports ``rassu_mm`` from
    ``tree``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [tree, os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run(
        [sys.executable, osp.abspath(__file__), '--worker', *argv], env=env,
        cwd=tree, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def worker_argv(args: argparse.Namespace, with_compile: bool) -> list:
    """Command line of a worker process (the model and timing options)."""
    argv = []
    for key in ('tokenizer', 'repeats', 'threads') + MODEL_KEYS:
        value = getattr(args, key)
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    return argv + (['--compile'] if with_compile else [])


def report(runs: dict, labels: dict) -> None:
    """Median over the rounds of each tree's step ms per variant, the
    syncs, and the ratios ``ref / this`` (> 1: this tree is faster)."""
    print('| tree | variant | decode step ms | generate ms | host syncs |')
    print('|---|---|---|---|---|')
    medians = {}
    for tree, results in runs.items():
        for variant in results[0]:
            step = statistics.median(r[variant]['step_ms'] for r in results)
            full = statistics.median(r[variant]['generate_ms']
                                     for r in results)
            medians[tree, variant] = step
            print(f'| {labels[tree]} | {variant} | {step:.3f} | {full:.1f} '
                  f"| {results[0][variant]['syncs']} |")
    if 'ref' in runs:
        for variant in runs['this'][0]:
            ratio = medians['ref', variant.split('+')[0]] / medians['this',
                                                                    variant]
            print(f"{variant}: step {ratio:.2f}x faster than {labels['ref']}")


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args)))
        return
    compare = _benchmark_tool()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        trees = dict(this=REPO)
        if args.against:
            trees['ref'] = compare.checkout(args.against, tmp)
        labels = {name: f'{name} ({compare.describe_tree(root)})'
                  for name, root in trees.items()}
        runs = {name: [] for name in trees}
        try:
            for i in range(args.rounds):
                # who goes first alternates
                for name in list(trees)[::1 if i % 2 else -1]:
                    runs[name].append(run_worker(
                        trees[name],
                        worker_argv(args, args.compile and name == 'this')))
        finally:
            if trees.get('ref', '').startswith(tmp):
                subprocess.run(['git', '-C', REPO, 'worktree', 'remove',
                                '--force', trees['ref']], check=True)
    print(f'{args.preset} head ({args.embed_dims} channels, '
          f'{args.num_layers} layers), {args.clips * args.frames} frames, '
          f'{args.max_length} tokens, beam {args.beam_size}; '
          f'{args.threads} torch threads, {os.cpu_count()} CPUs, '
          f'{args.rounds} rounds, 1-min load average {load_start:.2f}->'
          f'{os.getloadavg()[0]:.2f}')
    report(runs, labels)


def _benchmark_tool():
    """``benchmark.py`` of this tree (its ``checkout`` and
    ``describe_tree``)."""
    spec = importlib.util.spec_from_file_location(
        '_benchmark_tool', osp.join(osp.dirname(__file__), 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == '__main__':
    main()
