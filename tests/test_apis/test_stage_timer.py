"""StageTimer: nested blocks count for the inner stage, threads apart."""
import threading

import pytest

import rassu_mm.apis.stage_timer as stage_timer_module
from rassu_mm.apis import StageTimer


@pytest.fixture
def clock(monkeypatch):
    """A clock that moves only when the test sets it."""
    now = [0.0]
    monkeypatch.setattr(stage_timer_module.time, 'perf_counter',
                        lambda: now[0])
    return now


def test_nested_block_counts_for_the_inner_stage_only(clock):
    timer = StageTimer()
    with timer('outer'):
        clock[0] = 1
        with timer('inner'):
            clock[0] = 3
        clock[0] = 6
    with timer('inner'):
        clock[0] = 10
    assert timer.timings == {'outer': 4.0, 'inner': 6.0}


def test_threads_have_their_own_blocks(clock):
    """A block on another thread neither pauses nor joins the caller's."""
    timer = StageTimer()

    def worker():
        with timer('render'):
            clock[0] = 3
        clock[0] = 4

    with timer('model'):
        clock[0] = 1
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        clock[0] = 10
    assert timer.timings == {'model': 10.0, 'render': 2.0}


def test_iter_counts_every_next(clock):
    timer = StageTimer()

    def items():
        for item in 'abc':
            clock[0] += 1
            yield item
        clock[0] += 1

    for _ in timer.iter(items(), 'decode'):
        clock[0] += 10  # the consumer's time is not the iterator's
    assert timer.timings == {'decode': 4.0}
