"""Schedules: when each indexer is due, with an injectable clock so tests need no sleeps.

:class:`Scheduler` only decides; :meth:`Scheduler.tick` asks the service to start the indexers that
are due. The background thread calls ``tick`` every ``resolution`` seconds (sub-second schedules
such as ``PT0.5S`` are allowed: weft has no 5-minute floor). A run that overruns its next slot makes
that slot be skipped, as Azure does. The same tick also starts the deferred runs of LISTEN/NOTIFY
wake-ups (retry backoff, the view/query timestamp fence): see ``IndexerService._start_deferred``.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable, Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.value = start

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


def next_due(last_start: float | None, interval: float, anchor: float | None, now: float) -> float:
    """The first slot after ``last_start`` on the grid ``anchor + k * interval`` (anchor: the schedule's startTime)."""
    if anchor is None:
        return now if last_start is None else last_start + interval
    if now < anchor:
        return anchor
    base = anchor if last_start is None or last_start < anchor else last_start
    k = math.floor((base - anchor) / interval) + (0 if last_start is None else 1)
    return anchor + k * interval


FAILURE_PAUSE_MAX = 1.0  # seconds between ticks while they keep failing (from `resolution`, doubling)


class Scheduler:
    def __init__(self, clock: Clock, due: Callable[[float], None], resolution: float = 0.05):
        self.clock = clock
        self._due = due
        self.resolution = resolution
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        self._due(self.clock.now())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="weft-indexer-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import logging

        failures = 0
        pause = self.resolution
        while not self._stop.wait(pause):
            try:
                self.tick()
                failures, pause = 0, self.resolution
            except Exception as exc:  # keep scheduling; a store that is away (a database failover) is retried with backoff
                failures += 1
                pause = min(FAILURE_PAUSE_MAX, self.resolution * 2 ** failures)
                logger = logging.getLogger("weft.indexers")
                if failures == 1:
                    logger.exception("scheduler tick failed; retrying with backoff")
                else:
                    logger.warning("scheduler tick failed again (%d in a row, next try in %.1fs): %s", failures, pause,
                                   str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
