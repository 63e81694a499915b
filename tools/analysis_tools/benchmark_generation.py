"""Benchmark caption generation: decode step time and host syncs.

Builds a MoHE caption head with random weights (``--preset demo``: the size
and inference batch of ``configs/ssuformer_demo.py``, 4 clips x 5 frames
with 24 memory tokens; ``paper``: the paper config's head, 1 clip x 10
frames; single options override the preset) with a tokenizer trained on
synthetic sentences and times ``MoHECaptionHead.generate``, greedy and beam
search. EOS is disabled so every caption has exactly ``--max-length``
tokens. The decode step time is
``(t(max_length) - t(1)) / (max_length - 1)``: one generated token with the
search's bookkeeping, without the prompts and the first (prefix) pass; ``t``
is the fastest of ``--rounds`` timings (each the mean of ``--repeats``
calls), since other processes only ever add time. Host syncs of one
``generate`` call are counted with this tree's
``rassu_mm.testing.HostSyncRecorder`` (what would block the host on a GPU),
whichever tree is measured; it cannot run compiled code, and a compiled step
is one graph, so the compiled variants have the eager variants' syncs.

Each tree is measured by a worker process of its own. ``--against REF`` (a
commit, checked out in a temporary ``git worktree``, or a folder holding
another checkout) measures that ``rassu_mm`` too: the two workers take
every timing in turn (who goes first alternates), so both see the same
machine load, and the ratio of the step times is reported. Example::

    python tools/analysis_tools/benchmark_generation.py --against 100158e \\
        --threads 2 --compile
"""
import argparse
import functools
import importlib
import importlib.util
import json
import os
import os.path as osp
import random
import sys
import tempfile
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
# this checkout's helpers, also in a worker that imports another
# checkout's rassu_mm (--against), which may predate them
_spec = importlib.util.spec_from_file_location(
    '_benchmarking', osp.join(REPO, 'rassu_mm', 'utils', 'benchmarking.py'))
benchmarking = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmarking)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--against', metavar='REF',
                        help='a commit (measured in a temporary git '
                        'worktree) or a folder holding another checkout')
    parser.add_argument('--rounds', type=int, default=20,
                        help='timings per tree, variant and length, '
                        'alternating between the trees')
    parser.add_argument('--compile', action='store_true',
                        help='also time generation=dict(compile=True) '
                        '(this tree only)')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        default='demo')
    parser.add_argument('--tokenizer', help='tokenizer folder (default: '
                        'train one on synthetic sentences)')
    for key in MODEL_KEYS:
        parser.add_argument(f"--{key.replace('_', '-')}", type=int)
    parser.add_argument('--repeats', type=int, default=3,
                        help='generate calls per timing')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--serve', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    preset = dict(num_experts=4, beam_size=3, **PRESETS[args.preset])
    for key in MODEL_KEYS:
        if getattr(args, key) is None:
            setattr(args, key, preset[key])
    return args


def synthetic_tokenizer(vocab_size: int, folder: str) -> str:
    """A tokenizer of ``vocab_size`` tokens trained on random sentences,
    saved to ``folder``; returns the folder."""
    from rassu_mm.testing import write_caption_tokenizer
    rng = random.Random(0)
    words = [''.join(rng.choices('abcdefghijklmnopqrstuvwxyz',
                                 k=rng.randint(3, 9)))
             for _ in range(vocab_size)]
    sentences = [' '.join(rng.choices(words, k=15)) + '.'
                 for _ in range(2000)]
    return write_caption_tokenizer(folder, sentences, vocab_size)


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


def variants(args: argparse.Namespace) -> dict:
    """``generate(length)`` of a random head per variant (strategy, and
    ``+compile`` with ``--compile``)."""
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        head = build_head(
            args, args.tokenizer or synthetic_tokenizer(args.vocab_size, tmp))
    torch.manual_seed(1)
    shape = (args.clips * args.frames, args.memory_len, args.embed_dims)
    inputs = dict(memory=torch.randn(shape), memory_pos=torch.randn(shape),
                  region_embeds=None, num_frames=args.frames)
    samples = [BaseDataElement(metainfo=dict(num_frames=args.frames))
               for _ in range(args.clips)]
    out = {}
    for strategy in STRATEGIES:
        for name, extra in ((strategy, {}),
                            (f'{strategy}+compile', dict(compile=True))):
            if extra and not args.compile:
                continue
            cfg = dict(strategy=strategy, beam_size=args.beam_size,
                       use_cache=True, **extra)
            out[name] = functools.partial(_generate, head, inputs, samples,
                                          cfg)
    return out


def _generate(head, inputs: dict, samples: list, cfg: dict,
              length: int) -> torch.Tensor:
    ids = head.generate(inputs, samples, max_length=length, **cfg)
    assert ids.shape[1] == length, ids.shape
    return ids


def serve(args: argparse.Namespace, requests=sys.stdin,
          reply=sys.stdout) -> None:
    """Worker: build the head, warm every variant up (compiling), report
    the ``rassu_mm`` imported and the syncs per variant, then answer each
    request ``VARIANT LENGTH`` with the seconds of one ``generate`` call
    (the mean of ``--repeats``)."""
    import rassu_mm
    generate = variants(args)
    for fn in generate.values():
        fn(args.max_length), fn(1)
    # the recorder's dispatch mode cannot run compiled code; a compiled
    # step is one graph, so the syncs are the eager variant's
    syncs = {name: None if '+' in name else count_syncs(
        functools.partial(fn, args.max_length))
        for name, fn in generate.items()}
    reply.write(json.dumps(dict(rassu_mm=rassu_mm.__file__,
                                syncs=syncs)) + '\n')
    reply.flush()
    for line in requests:
        name, length = line.split()
        seconds, _ = benchmarking.timed(
            generate[name], int(length), repeats=args.repeats)
        reply.write(json.dumps(seconds) + '\n')
        reply.flush()


def worker_argv(args: argparse.Namespace, with_compile: bool) -> list:
    """Command line of a worker process (the model and timing options)."""
    argv = []
    for key in ('tokenizer', 'repeats', 'threads') + MODEL_KEYS:
        value = getattr(args, key)
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    return argv + (['--compile'] if with_compile else [])


def summarise(times: dict, syncs: dict, max_length: int) -> dict:
    """Per variant: decode step ms from the fastest ``max_length`` and
    1-token calls, generate ms (the fastest), syncs."""
    return {
        name: dict(
            step_ms=1e3 * (min(t[max_length]) - min(t[1])) /
            max(max_length - 1, 1),
            generate_ms=1e3 * min(t[max_length]),
            syncs=syncs[name])
        for name, t in times.items()
    }


def report(results: dict, labels: dict) -> None:
    """Each tree's figures per variant and the ratios ``ref / this`` of
    the step times (> 1: this tree is faster)."""
    print('| tree | variant | decode step ms | generate ms | host syncs |')
    print('|---|---|---|---|---|')
    for tree, result in results.items():
        for variant, r in result.items():
            syncs = 'as eager' if r['syncs'] is None else r['syncs']
            print(f"| {labels[tree]} | {variant} | {r['step_ms']:.3f} | "
                  f"{r['generate_ms']:.1f} | {syncs} |")
    if 'ref' in results:
        for variant, r in results['this'].items():
            ref = results['ref'][variant.split('+')[0]]
            print(f'{variant}: step {ref["step_ms"] / r["step_ms"]:.2f}x '
                  f"faster than {labels['ref']}")


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.serve:
        serve(args, sys.stdin, benchmarking.worker_reply())
        return {}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, \
            benchmarking.compared_trees(args.against, REPO) as trees, \
            benchmarking.workers() as procs:
        if args.tokenizer is None:  # one for all trees, built by this one
            args.tokenizer = synthetic_tokenizer(args.vocab_size, tmp)
        labels = {name: f'{name} ({benchmarking.describe_tree(root)})'
                  for name, root in trees.items()}
        syncs, times = {}, {}
        for name, root in trees.items():
            argv = worker_argv(args, args.compile and name == 'this')
            procs[name], hello = benchmarking.spawn_worker(
                [sys.executable, osp.abspath(__file__), *argv, '--serve'],
                root, cwd=root)
            syncs[name] = hello['syncs']
            times[name] = {v: {args.max_length: [], 1: []}
                           for v in hello['syncs']}
        for i in range(args.rounds):
            for variant in times['this']:
                for length in (args.max_length, 1):
                    for name in benchmarking.in_turn(trees, i):
                        if variant in times[name]:
                            times[name][variant][length].append(
                                benchmarking.ask(procs[name],
                                                 f'{variant} {length}'))
    results = {name: summarise(times[name], syncs[name], args.max_length)
               for name in trees}
    print(f'{args.preset} head ({args.embed_dims} channels, '
          f'{args.num_layers} layers), {args.clips * args.frames} frames, '
          f'{args.max_length} tokens, beam {args.beam_size}; '
          f'{args.threads} torch threads, {os.cpu_count()} CPUs, '
          f'{args.rounds} rounds x {args.repeats} calls, 1-min load average '
          f'{load_start:.2f}->{os.getloadavg()[0]:.2f}')
    report(results, labels)
    return results


if __name__ == '__main__':
    main()
