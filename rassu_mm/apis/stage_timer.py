"""StageTimer: seconds spent per named stage, nested blocks and threads
kept apart."""
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Dict, Iterator


class StageTimer:
    """Add up the wall-clock seconds spent in blocks of named stages.

    A block nested in another counts for the inner stage only (the outer
    stage's clock pauses while it runs). Each thread has its own open
    blocks, so a worker thread's stages overlap the caller's and are added
    in full.

    Examples:
        >>> timer = StageTimer()
        >>> with timer('decode'):
        ...     with timer('model'):  # counts for 'model' only
        ...         pass
        >>> sorted(timer.timings)
        ['decode', 'model']

    Attributes:
        timings (dict[str, float]): Seconds per stage since construction (or
            the last ``timings.clear()``).
    """

    def __init__(self) -> None:
        self.timings: Dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._open = threading.local()  # per thread: [[stage, since], ...]

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        """Add the time spent in the block to ``timings[stage]``."""
        running = self._open.__dict__.setdefault('stack', [])
        now = time.perf_counter()
        if running:
            self._add(running[-1][0], now - running[-1][1])
        running.append([stage, now])
        try:
            yield
        finally:
            now = time.perf_counter()
            stage, since = running.pop()
            self._add(stage, now - since)
            if running:
                running[-1][1] = now

    def iter(self, iterator: Iterator, stage: str) -> Iterator:
        """The items of ``iterator`` (up to its first None), the time spent
        producing each counted for ``stage``."""
        while True:
            with self(stage):
                item = next(iterator, None)
            if item is None:
                return
            yield item

    def _add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.timings[stage] += seconds
