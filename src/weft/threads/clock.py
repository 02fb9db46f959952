"""Time, injected where it matters (retention, locks, audit) so tests need no sleeps."""
from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class ManualClock:
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start_ms: int = 1_800_000_000_000):
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def advance(self, *, seconds: float = 0, days: float = 0) -> None:
        with self._lock:
            self._now += int((seconds + days * 86400) * 1000)
