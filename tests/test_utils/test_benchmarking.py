"""rassu_mm.utils.benchmarking: the helpers of the benchmark tools."""
import ast
import mmap
import sys

import numpy as np
import pytest

from rassu_mm.testing import REPO_ROOT, repo_path
from rassu_mm.utils import benchmarking


def test_imports_nothing_from_rassu_mm():
    """Workers measuring another checkout load this file by path, next to
    that checkout's rassu_mm: it may import only outside packages."""
    with open(repo_path('rassu_mm/utils/benchmarking.py')) as f:
        tree = ast.parse(f.read())
    imported = [
        alias.name for node in ast.walk(tree)
        if isinstance(node, ast.Import) for alias in node.names
    ] + [
        node.module or '.' for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    ]
    assert not [n for n in imported if n.startswith('rassu_mm')]
    assert not [n for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.level > 0]


def test_timed_is_the_mean_of_the_calls(monkeypatch):
    clock = iter([10.0, 16.0])
    monkeypatch.setattr(benchmarking.time, 'perf_counter',
                        lambda: next(clock))
    calls = []
    seconds, out = benchmarking.timed(
        lambda x: calls.append(x) or len(calls), 'a', repeats=3)
    assert seconds == 2.0 and out == 3 and calls == ['a'] * 3


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='VmHWM is Linux only')
def test_peak_memory_sees_an_allocation_after_reset():
    memory = benchmarking.PeakMemory('cpu')
    memory.reset()
    before = memory.peak()
    # 64 MiB of new pages, touched: an anonymous mapping of its own (a
    # malloc'ed block could reuse resident pages that earlier tests freed,
    # which would not raise the resident set size)
    block = mmap.mmap(-1, 64 * 2**20)
    np.frombuffer(block, np.uint8)[:] = 1
    assert memory.peak() - before >= 60 * 2**20
    assert memory.peak() >= benchmarking.process_rss() >= 64 * 2**20
    block.close()  # unmapped: the pages leave the resident set
    memory.reset()
    assert memory.peak() < before + 60 * 2**20
    assert memory.exact and memory.kind == 'process_rss'


def test_retained_memory_counts_what_stays_allocated():
    import torch
    first, second = torch.nn.Linear(100, 50), torch.nn.Linear(50, 10)
    x = torch.randn(20, 100, requires_grad=True)

    def forward():
        hidden = first(x).relu()  # relu keeps its 20 x 50 output
        return second(hidden).sum()

    out, total, parts = benchmarking.retained_memory(
        forward, dict(first=first, second=second))
    assert out.requires_grad
    # first: its output is freed by relu (outside both parts); relu's
    # output and the loss outlive the call
    assert parts['first'] == 20 * 50 * 4
    assert total >= 20 * 50 * 4 + 4
    assert not first._forward_hooks and not first._forward_pre_hooks


def test_compared_trees_and_turns(tmp_path):
    with benchmarking.compared_trees(None, REPO_ROOT) as trees:
        assert trees == dict(this=REPO_ROOT)
    with benchmarking.compared_trees(str(tmp_path), REPO_ROOT) as trees:
        assert trees == dict(this=REPO_ROOT, ref=str(tmp_path))
    assert [benchmarking.in_turn(trees, i) for i in range(3)] == [
        ['ref', 'this'], ['this', 'ref'], ['ref', 'this']]


def test_a_worker_that_dies_before_answering_is_named(tmp_path):
    """A worker that exits before its first answer (a config it cannot
    load, say) raises an error naming its tree and exit status, not a
    JSON decoding error of the empty line."""
    cmd = [sys.executable, '-c', 'import sys; sys.exit(3)']
    with pytest.raises(RuntimeError,
                       match=f'worker for {tmp_path} exited with status 3'):
        benchmarking.spawn_worker(cmd, str(tmp_path))
