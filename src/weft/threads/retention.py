"""The in-process retention job: a daemon thread that purges expired conversations every interval.

With ``leases`` (cluster mode, :mod:`weft.cluster.leases`) only the node holding the ``threads-retention``
lease purges; the purge itself works from the store's durable state, so a new holder just carries on."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger("weft.threads.retention")


class RetentionJob:
    LEASE = "threads-retention"

    def __init__(self, service, interval_seconds: float, leases=None):
        self.service = service
        self.leases = leases
        if leases is not None:
            leases.want(self.LEASE)
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[str]:
        purged = self.service.purge_expired()
        if purged:
            log.info("retention purged %d conversation(s)", len(purged))
        return purged

    def start(self) -> "RetentionJob":
        if self.interval_seconds <= 0:
            return self
        self._thread = threading.Thread(target=self._loop, name="weft-threads-retention", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            if self.leases is not None and self.leases.held(self.LEASE) is None:
                continue  # another node purges
            try:
                self.run_once()
            except Exception:  # keep the job alive; the next pass retries
                log.exception("retention pass failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
