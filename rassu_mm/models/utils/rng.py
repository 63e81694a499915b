"""RNG streams of their own for the optional parts of a model.

An optional part (an ablation's component) built from the global RNG
would shift the draws of everything built after it, so two configs that
differ in that part alone would start their common parts from other
weights. Built inside :func:`rng_stream` with a seed from
:func:`draw_seeds`, drawn whether or not the part is built, it leaves the
global RNG where it would be without it.
"""
from contextlib import contextmanager
from typing import Iterator, List

import torch


def draw_seeds(num: int) -> List[int]:
    """``num`` seeds from the global CPU RNG, one per optional part (draw
    them whether or not the parts are built)."""
    return torch.randint(2**62, (num, )).tolist()


@contextmanager
def rng_stream(seed: int) -> Iterator[None]:
    """Run the block on the CPU RNG seeded with ``seed``; the global RNG
    state is restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
