"""Suite-wide set-up: every test (and every module's fixtures) starts from
a known torch random state.

pytest-randomly shuffles the test order and re-seeds ``random`` and
``numpy`` before each test; this adds torch. The seed is derived from the
run's ``--randomly-seed`` (printed in the header; pass it again to
reproduce a run) and the test's id, so a test draws the same numbers
whatever ran before it. Without pytest-randomly (``-p no:randomly``) the
run seed is 0. See ``docs/testing.md``.
"""
import os
import zlib

import pytest
import torch


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n 2``) each worker gets
    its share of the cores as torch threads, for itself and the processes
    its tests start, unless ``OMP_NUM_THREADS`` is set."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', 1))
    if workers > 1 and 'OMP_NUM_THREADS' not in os.environ:
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ['OMP_NUM_THREADS'] = str(threads)
        torch.set_num_threads(threads)


def _run_seed(config: pytest.Config) -> int:
    seed = getattr(config.option, 'randomly_seed', None)
    return seed if isinstance(seed, int) else 0


def _seed_torch(request: pytest.FixtureRequest) -> None:
    node_id = request.node.nodeid.encode()
    torch.manual_seed((_run_seed(request.config) + zlib.crc32(node_id)) %
                      2**32)


@pytest.fixture(autouse=True, scope='module')
def seed_torch_per_module(request):
    """Seed torch before a module's module-scoped fixtures."""
    _seed_torch(request)


@pytest.fixture(autouse=True)
def seed_torch_per_test(request):
    """Seed torch before each test and its function-scoped fixtures."""
    _seed_torch(request)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Repeat the run seed at the end (``-q`` hides the header), next to
    the failures it reproduces."""
    seed = getattr(config.option, 'randomly_seed', None)
    if isinstance(seed, int):
        terminalreporter.write_line(
            f'random order and draws of this run: --randomly-seed={seed} '
            f'(make test SEED={seed})')
