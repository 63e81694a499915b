"""Prompt source of the MoHE caption head: exposure bias on a toy task.

The caption head alone (no segmentor) learns captions of generated frames:
8 classes in 4 super-categories, caption ``'the <class> is <verb of its
super-category> on the <left|right>'``. A frame's memory (``L = 6`` tokens
of ``C = 32`` channels, Gaussian noise of std ``--noise``) carries its
class in the first token and its side in the second, so the prompt
classifier (which reads the mean memory) sees the class diluted while the
decoder's cross-attention can read it. The head trains for ``--steps``
steps (8 clips of 4 frames each) with ``prompt_source='predicted'`` (soft
predicted prompts in training and inference) or ``'ground_truth'`` (ground
truth prompts in training, thresholded predictions in inference) and is
scored on held-out clips: exact caption match, correct class word and the
classifier's top-1 accuracy.

Example::

    python tools/analysis_tools/benchmark_prompts.py --seeds 0 1 2 3
"""
import argparse
import json
import statistics
import tempfile
from typing import Dict, List, Optional, Tuple

import torch

from rassu_mm.models.caption_heads import MoHECaptionHead
from rassu_mm.structures import SSUDataSample
from rassu_mm.testing import write_caption_tokenizer

SUPER = dict(string=['violin', 'cello'], wind=['flute', 'tuba'],
             animal=['dog', 'cat'], vehicle=['car', 'train'])
VERB = dict(string='playing', wind='blowing', animal='barking',
            vehicle='honking')
CLASSES = [c for members in SUPER.values() for c in members]
PARENT = {c: s for s, members in SUPER.items() for c in members}
FRAMES, TOKENS, CHANNELS, BATCH = 4, 6, 32, 8
SOURCES = ('predicted', 'ground_truth')


def make_split(num_clips: int, seed: int,
               noise: float) -> Tuple[torch.Tensor, List[SSUDataSample]]:
    """Memory ``[num_clips * 4, 6, 32]`` and the clips' data samples."""
    gen = torch.Generator().manual_seed(seed)
    fixed = torch.Generator().manual_seed(1234)
    class_dirs = torch.randn(len(CLASSES), CHANNELS, generator=fixed)
    side_dirs = torch.randn(2, CHANNELS, generator=fixed)
    memory, samples = [], []
    for b in range(num_clips):
        cls = torch.randint(len(CLASSES), (FRAMES, ), generator=gen)
        side = torch.randint(2, (FRAMES, ), generator=gen)
        mem = torch.randn(FRAMES, TOKENS, CHANNELS, generator=gen) * noise
        mem[:, 0] += class_dirs[cls]
        mem[:, 1] += side_dirs[side]
        memory.append(mem)
        names = [CLASSES[int(c)] for c in cls]
        sample = SSUDataSample(
            metainfo=dict(dataset_name='toy', clip_id=f'{seed}_{b}'))
        sample.gt_captions = [
            f"the {n} is {VERB[PARENT[n]]} on the {('left', 'right')[s]}"
            for n, s in zip(names, side.tolist())
        ]
        sample.categories = sorted(set(names))
        samples.append(sample)
    return torch.cat(memory), samples


def run(source: str, seed: int, steps: int, noise: float,
        tokenizer: str) -> Dict[str, float]:
    """Train one head and score it on held-out clips."""
    train_mem, train_samples = make_split(64, 0, noise)
    test_mem, test_samples = make_split(32, 1, noise)
    torch.manual_seed(seed)
    head = MoHECaptionHead(
        tokenizer, in_channels=CHANNELS, embed_dims=32, num_layers=2,
        num_heads=4, feedforward_channels=64, num_experts=2, top_k=1,
        dropout=0., classes=CLASSES, super_categories=SUPER,
        dataset_names=['toy'], prompt_source=source,
        generation=dict(max_length=12))
    optim = torch.optim.AdamW(head.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(seed)
    head.train()
    for _ in range(steps):
        idx = torch.randperm(len(train_samples), generator=order)[:BATCH]
        mem = torch.cat([train_mem[i * FRAMES:(i + 1) * FRAMES] for i in idx])
        losses = head.loss(dict(memory=mem, num_frames=FRAMES),
                           [train_samples[i] for i in idx])
        optim.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()
    head.eval()
    with torch.no_grad():
        pred = [c for clip in head.predict(
            dict(memory=test_mem, num_frames=FRAMES), test_samples)
            for c in clip]
        logits = head.prompter.classify(head.input_proj(test_mem).mean(1))
    ref = [c for s in test_samples for c in s.gt_captions]
    truth = torch.tensor([CLASSES.index(r.split()[1]) for r in ref])
    return dict(
        exact=sum(p == r for p, r in zip(pred, ref)) / len(ref),
        class_word=sum(p.split()[1:2] == r.split()[1:2]
                       for p, r in zip(pred, ref)) / len(ref),
        classifier=float(
            (logits['category'].argmax(1) == truth).float().mean()))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3])
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument('--noise', type=float, default=1.0)
    parser.add_argument('--sources', nargs='+', default=list(SOURCES),
                        choices=SOURCES)
    parser.add_argument('--out', help='write the results as JSON')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tokenizer:
        captions = [c for s in make_split(64, 0, args.noise)[1]
                    for c in s.gt_captions]
        write_caption_tokenizer(tokenizer, captions, vocab_size=200)
        results = {
            source: [
                run(source, seed, args.steps, args.noise, tokenizer)
                for seed in args.seeds
            ]
            for source in args.sources
        }
    print('| prompt_source | exact match | class word | classifier top-1 |')
    print('|---|---|---|---|')
    for source, runs in results.items():
        cells = []
        for key in ('exact', 'class_word', 'classifier'):
            values = [r[key] for r in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.
            cells.append(f'{statistics.mean(values):.3f} ± {spread:.3f}')
        print(f'| {source} | ' + ' | '.join(cells) + ' |')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
