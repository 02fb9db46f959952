"""Failed authentication, aggregated: one audit row per source address per window, with a count.

Writing one durable row per rejected key lets anyone without a key fill the disk and the audit
(2,000 bad keys = 2,000 fsyncs). Here a rejected key only bumps a counter in memory; every
``window`` seconds (and at shutdown) each source that failed gets one ``auth``/``denied`` row whose
detail says ``source=<address> count=<n> first_ms=<t> last_ms=<t>``. At most ``max_sources``
addresses are tracked per window; failures from more addresses than that are counted together as
``source=other``. Each flush is also logged on ``weft.audit`` like every audit record.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from weft.threads.audit import AuditNote


@dataclass
class _Count:
    n: int
    first_ms: int
    last_ms: int


class FailedAuthLog:
    def __init__(self, audit, *, window: float = 60.0, max_sources: int = 1000):
        self.audit = audit
        self.window = window
        self.max_sources = max_sources
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, source: str | None) -> None:
        now = self.audit.clock.now_ms()
        source = source or "unknown"
        with self._lock:
            entry = self._counts.get(source)
            if entry is None and len(self._counts) >= self.max_sources:
                source = "other"
                entry = self._counts.get(source)
            if entry is None:
                self._counts[source] = _Count(1, now, now)
            else:
                entry.n += 1
                entry.last_ms = now
        self._ensure_thread()

    def pending(self) -> int:
        with self._lock:
            return sum(c.n for c in self._counts.values())

    def flush(self) -> int:
        """Write one row per source; returns how many rows were written."""
        with self._lock:
            counts, self._counts = self._counts, {}
        for source, c in counts.items():
            note = AuditNote(detail=f"source={source} count={c.n} first_ms={c.first_ms} last_ms={c.last_ms}")
            self.audit.record(None, "auth", "denied", note)
        return len(counts)

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stop.is_set():
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="weft-auth-failures", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.window):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
