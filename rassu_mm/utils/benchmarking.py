"""Helpers of the benchmark tools: the seconds of a call, the peak memory
of a block of work, the memory a call leaves allocated (activations), and
the trees and worker processes of a side-by-side
comparison (``--against REF``).

It imports nothing from ``rassu_mm`` (the standard library and torch
only): a worker measuring another checkout imports that checkout's
``rassu_mm``, which may predate this file, so the tools that compare
trees (``benchmark.py``, ``benchmark_generation.py``) load this file by
its path.
"""
import contextlib
import gc
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import torch


def timed(fn: Callable,
          *args,
          device: Optional[torch.device] = None,
          repeats: int = 1) -> Tuple[float, Any]:
    """``(seconds, output)`` of ``fn(*args)``: the mean of ``repeats``
    calls (and the last one's output), the work they queued on a CUDA
    ``device`` included."""
    cuda = device is not None and torch.device(device).type == 'cuda'
    if cuda:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn(*args)
    if cuda:
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / repeats, out


class PeakMemory:
    """The peak memory of a block of work, in bytes.

    On CUDA ``torch.cuda.max_memory_allocated`` (tensors only); elsewhere
    the peak resident set size of the whole process (Linux ``VmHWM``,
    which :meth:`reset` resets through ``/proc/self/clear_refs``; where
    that fails ``ru_maxrss``, the peak since the process started). Process
    RSS includes the Python runtime, the libraries and what the allocator
    kept from earlier work: an upper bound of what the work needs.

    Args:
        device (torch.device | str): The device whose memory counts.
            Defaults to ``'cpu'``.

    Attributes:
        kind (str): ``'cuda_max_allocated'`` or ``'process_rss'``.
        exact (bool): False once a peak was the process's since it
            started (``ru_maxrss``) rather than since :meth:`reset`.
    """

    def __init__(self, device: torch.device = torch.device('cpu')) -> None:
        self.device = torch.device(device)
        self.cuda = self.device.type == 'cuda'
        self.kind = 'cuda_max_allocated' if self.cuda else 'process_rss'
        self.exact = True

    def reset(self) -> None:
        """Start a new peak here."""
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        gc.collect()
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets the peak RSS (VmHWM), Linux >= 4.0
        except OSError:
            self.exact = False

    def peak(self) -> int:
        """The peak since :meth:`reset` (or since the process started)."""
        if self.cuda:
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device)
        hwm = _read_status_kib('VmHWM') if self.exact else None
        if hwm is not None:
            return hwm * 1024
        self.exact = False
        scale = 1 if sys.platform == 'darwin' else 1024  # macOS: bytes
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def retained_memory(fn: Callable, parts: Dict[str, torch.nn.Module]
                    ) -> Tuple[Any, int, Dict[str, int]]:
    """``(output, bytes, bytes per part)`` of ``fn()``: what it allocates
    and does not free, e.g. the activations a training forward pass keeps
    for the backward pass (and its outputs).

    ``torch.profiler`` with ``profile_memory=True`` records every
    allocation and free of the CPU allocator (and of CUDA's where ``fn``
    runs there); the total is their net sum over ``fn()``, a part's the
    net sum over its modules' ``forward`` calls (memory a part frees that
    another allocated counts against it). Exact, unlike process RSS, and
    independent of the machine's load; ``fn`` runs under the profiler, so
    it is slower. Parts should not nest.

    Args:
        fn (Callable): The work, called without arguments.
        parts (dict[str, nn.Module]): Named modules to attribute to.
    """
    from torch.profiler import ProfilerActivity, profile, record_function
    stack, handles = [], []

    def enter(name):
        def hook(*_):
            stack.append(record_function(f'retained::{name}'))
            stack[-1].__enter__()
        return hook

    def leave(*_):
        stack.pop().__exit__(None, None, None)

    for name, module in parts.items():
        handles.append(module.register_forward_pre_hook(enter(name)))
        handles.append(module.register_forward_hook(leave))
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    try:
        with profile(activities=activities, profile_memory=True) as prof:
            with record_function('retained::'):
                out = fn()
    finally:
        for handle in handles:
            handle.remove()
    per_part = dict.fromkeys(parts, 0)
    total = 0
    for event in prof.events():
        if not event.name.startswith('retained::'):
            continue
        used = event.cpu_memory_usage + event.device_memory_usage
        name = event.name[len('retained::'):]
        if name:
            per_part[name] += used
        else:
            total += used
    return out, total, per_part


def process_rss() -> int:
    """The resident set size of this process now, in bytes (Linux
    ``VmRSS``; 0 where there is none)."""
    return (_read_status_kib('VmRSS') or 0) * 1024


def _read_status_kib(key: str) -> Optional[int]:
    """A ``kB`` field of ``/proc/self/status`` (None where there is
    none)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(f'{key}:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@contextlib.contextmanager
def compared_trees(ref: Optional[str], repo: str) -> Iterator[Dict[str, str]]:
    """The trees of a comparison: ``{'this': repo}`` and, with ``ref``,
    ``'ref'``: ``ref`` itself if it is a folder (another checkout), else a
    detached ``git worktree`` of the commit in a temporary folder, removed
    on exit."""
    trees = dict(this=repo)
    if ref is None or osp.isdir(ref):
        if ref is not None:
            trees['ref'] = osp.abspath(ref)
        yield trees
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'ref')
        subprocess.run(
            ['git', '-C', repo, 'worktree', 'add', '--detach', path, ref],
            check=True,
            capture_output=True)
        trees['ref'] = path
        try:
            yield trees
        finally:
            subprocess.run(
                ['git', '-C', repo, 'worktree', 'remove', '--force', path],
                check=True)


def describe_tree(root: str) -> str:
    """Short commit id of a checkout, ``+changes`` when tracked files
    differ from it."""
    git = ['git', '-C', root]
    commit = subprocess.run(
        git + ['rev-parse', '--short', 'HEAD'],
        capture_output=True,
        text=True).stdout.strip() or '?'
    changed = subprocess.run(
        git + ['status', '--porcelain', '--untracked-files=no'],
        capture_output=True,
        text=True).stdout.strip()
    return commit + ('+changes' if changed else '')


def in_turn(names, round_index: int) -> List[str]:
    """``names`` in the order of round ``round_index``: who goes first
    alternates, so that every tree sees the same machine load."""
    return list(names)[::1 if round_index % 2 else -1]


def spawn_worker(cmd: List[str],
                 tree: str,
                 cwd: Optional[str] = None) -> Tuple[subprocess.Popen, dict]:
    """A worker process running ``cmd`` with ``tree`` first on the
    ``PYTHONPATH``, and its first answer (a JSON line naming the
    ``rassu_mm`` it imported as ``rassu_mm``; see :func:`worker_reply`).

    Raises:
        RuntimeError: The worker exited before answering (its error is
            on stderr above), or imported another ``rassu_mm``.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [tree] + os.environ.get('PYTHONPATH', '').split(os.pathsep)))
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True)
    line = proc.stdout.readline()
    if not line:
        proc.stdin.close()
        code = proc.wait()
        proc.stdout.close()
        raise RuntimeError(f'the worker for {tree} exited with status '
                           f'{code} before answering (its error is above)')
    hello = json.loads(line)
    if not hello['rassu_mm'].startswith(osp.join(tree, 'rassu_mm')):
        proc.stdin.close()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError(
            f"the worker for {tree} imported {hello['rassu_mm']}")
    return proc, hello


def ask(proc: subprocess.Popen, request: str) -> Any:
    """Send a worker one request line; return its JSON answer."""
    proc.stdin.write(request + '\n')
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


@contextlib.contextmanager
def workers() -> Iterator[Dict[str, subprocess.Popen]]:
    """A dict to put the :func:`spawn_worker` processes in; on exit each
    one's input is closed, it is waited for and its output closed."""
    procs: Dict[str, subprocess.Popen] = {}
    try:
        yield procs
    finally:
        for proc in procs.values():
            proc.stdin.close()
            proc.wait()
            proc.stdout.close()


def worker_reply():
    """The stream on which a worker answers: the process's standard
    output, which then goes to standard error, so that nothing else
    printed mixes into the answers."""
    reply = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)
    return reply
