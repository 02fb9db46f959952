"""Pure rate and concurrency accounting (no HTTP): token buckets and in-flight counters per caller.

A :class:`TokenBucket` holds ``burst`` tokens and refills at ``rate`` tokens a second; each request
takes one. :class:`Limiter` keeps one bucket and one in-flight count per caller id, forgets idle
callers (so an attacker cycling ids cannot grow memory without bound: at most ``max_callers`` are
tracked, the least recently seen are dropped), and says how long to wait when a caller is refused.
The clock is injectable for tests.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # capacity
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else 60.0


@dataclass
class _Caller:
    bucket: TokenBucket | None
    in_flight: int = 0


class Limiter:
    """``rate`` requests a second (``burst`` at once) and ``concurrency`` in flight, per caller id.

    ``rate`` or ``concurrency`` of 0 turns that limit off."""

    def __init__(self, rate: float, burst: float, concurrency: int, *, max_callers: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = max(1.0, burst)
        self.concurrency = concurrency
        self.max_callers = max_callers
        self.clock = clock
        self._callers: OrderedDict[str, _Caller] = OrderedDict()
        self._lock = threading.Lock()

    def _caller(self, caller_id: str, now: float) -> _Caller:
        caller = self._callers.get(caller_id)
        if caller is None:
            bucket = TokenBucket(self.rate, self.burst, self.burst, now) if self.rate > 0 else None
            caller = self._callers[caller_id] = _Caller(bucket)
            while len(self._callers) > self.max_callers:
                oldest, state = next(iter(self._callers.items()))
                if state.in_flight:  # never forget a caller with requests in flight
                    self._callers.move_to_end(oldest)
                    break
                del self._callers[oldest]
        else:
            self._callers.move_to_end(caller_id)
        return caller

    def acquire(self, caller_id: str) -> tuple[bool, float, str]:
        """(granted, retry_after_seconds, which limit refused). A grant must be paired with :meth:`release`
        when ``concurrency`` is on."""
        now = self.clock()
        with self._lock:
            caller = self._caller(caller_id, now)
            if self.concurrency and caller.in_flight >= self.concurrency:
                return False, 1.0, "concurrency"
            if caller.bucket is not None:
                wait = caller.bucket.take(now)
                if wait > 0:
                    return False, wait, "rate"
            caller.in_flight += 1
            return True, 0.0, ""

    def take(self, caller_id: str) -> float:
        """Rate only (nothing to release): 0.0 when granted, else seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            caller = self._caller(caller_id, now)
            return caller.bucket.take(now) if caller.bucket is not None else 0.0

    def release(self, caller_id: str) -> None:
        with self._lock:
            caller = self._callers.get(caller_id)
            if caller is not None and caller.in_flight > 0:
                caller.in_flight -= 1
