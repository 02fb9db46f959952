"""One heartbeat thread per process that keeps leases alive while their turns run.

A turn registers a ``renew`` callable and an interval; the keeper calls it every interval until the turn
unregisters. A turn shorter than the interval (the common case: a model answering in a second) costs a dict
insert and delete, no thread and no write. A holder that dies stops beating, so its lease ends at most one
lease after its last beat: the lease can be short (a few seconds) however long model calls take.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Callable

log = logging.getLogger("weft.threads.leases")


class LeaseKeeper:
    def __init__(self, name: str = "weft-lease-heartbeat"):
        self._name = name
        self._entries: dict[int, list] = {}  # handle -> [due (monotonic), interval, renew]
        self._ids = itertools.count(1)
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._wake_at = 0.0  # when the heartbeat thread wakes next on its own (monotonic; 0: now or never asleep)

    def keep(self, renew: Callable[[], object], interval: float) -> int:
        with self._cv:
            handle = next(self._ids)
            due = time.monotonic() + interval
            self._entries[handle] = [due, interval, renew]
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            if due < self._wake_at or self._wake_at == 0.0:  # a turn shorter than its interval wakes no thread
                self._cv.notify()
            return handle

    def drop(self, handle: int) -> None:
        with self._cv:
            self._entries.pop(handle, None)

    def _run(self) -> None:
        while True:
            with self._cv:
                if self._closed:
                    return
                now = time.monotonic()
                due = [(h, e) for h, e in self._entries.items() if e[0] <= now]
                for _, entry in due:
                    entry[0] = now + entry[1]
                if not due:
                    wait = max(0.01, min((e[0] for e in self._entries.values()), default=now + 1.0) - now)
                    self._wake_at = now + wait
                    self._cv.wait(wait)
                    self._wake_at = 0.0
                    continue
            for handle, entry in due:
                if handle not in self._entries:
                    continue
                try:
                    entry[2]()
                except Exception:  # noqa: BLE001 - a missed beat only shortens the lease; the next one retries
                    log.warning("could not renew a lease", exc_info=True)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
