"""Who may schedule and run an indexer: the seam between :class:`weft.indexers.service.IndexerService` and
the job leases (:mod:`weft.cluster.leases`).

Embedded (no leases given): the in-process ``LocalLeases``, every claim granted, and runs left ``inProgress``
by a stopped server are closed at start, as before. Cluster mode: one node keeps the schedules (lease
``indexer-scheduler``); a run holds ``indexer-run:<name>`` for its duration, so one indexer runs on one node
at a time; the cursor writes are fenced by that lease's token (``store.fence``); runs left ``inProgress`` by a
dead node are closed by the next node that claims the indexer; a new scheduler holder re-reads each
indexer's last start from the shared history, so no tick is repeated or skipped.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from weft.errors import Conflict

SCHEDULER_LEASE = "indexer-scheduler"
RUN_LEASE = "indexer-run:"  # + the indexer's name

INTERRUPTED = "The run was interrupted: the server stopped during the run. The next run resumes from the last checkpoint."


class RunLeases:
    def __init__(self, store: Any, leases: Any = None, *, parse_time: Callable[[str], float]):
        from weft.cluster.leases import LocalLeases

        self.store = store
        self.shared = leases is not None
        self.leases = leases if leases is not None else LocalLeases()
        self._parse_time = parse_time
        self._scheduler_token: int | None = None
        self.leases.want(SCHEDULER_LEASE)

    def at_start(self) -> dict[str, float]:
        """Close what a stopped server left in progress (embedded only) and return each indexer's last start."""
        if not self.shared:
            self._close_interrupted(self.store.interrupted_executions())
        return self.last_starts()

    def last_starts(self) -> dict[str, float]:
        out = {}
        for name, _, _, _ in self.store.list_definitions("indexer"):
            history = self.store.executions(name)
            if history and history[0].get("startTime"):
                out[name] = self._parse_time(history[0]["startTime"])
        return out

    def scheduler_turn(self) -> tuple[bool, bool]:
        """(this node keeps the schedules now, it has just taken them over)."""
        token = self.leases.held(SCHEDULER_LEASE)
        if token is None:
            self._scheduler_token = None
            return False, False
        taken = self.shared and token != self._scheduler_token
        self._scheduler_token = token
        return True, taken

    def claim(self, name: str, scheduled: bool, last_start: dict[str, float]) -> bool:
        """Take the indexer's run lease; a scheduled start whose slot another node already ran is dropped."""
        if not self.shared:
            return True
        token = self.leases.acquire(RUN_LEASE + name)
        if token is None:
            return False
        try:
            history = self.store.executions(name)
            if scheduled and history and history[0].get("startTime"):
                latest = self._parse_time(history[0]["startTime"])
                if latest > last_start.get(name, 0.0) + 1e-3:
                    last_start[name] = latest
                    self.leases.release(RUN_LEASE + name)
                    return False
            getattr(self.store, "fence", lambda *_: None)(name, token)  # the cursor moves only under this token
            self._close_interrupted(self.store.interrupted_executions(name))
        except BaseException:
            # the database went away between the lease and the run (a failover): give the lease back, or this
            # node would keep renewing it for a run that never starts and no node could run the indexer again
            self.end(name)
            raise
        return True

    def end(self, name: str) -> None:
        if self.shared:
            getattr(self.store, "fence", lambda *_: None)(name, None)
            self.leases.release(RUN_LEASE + name)

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """No run anywhere while the body runs (a reset): a run on another node would move the cursor back."""
        if self.shared and self.leases.acquire(RUN_LEASE + name) is None:
            raise Conflict("The indexer is running on another node of the cluster; reset it when that run has ended.")
        try:
            yield
        finally:
            if self.shared:
                self.leases.release(RUN_LEASE + name)

    def _close_interrupted(self, executions) -> None:
        for execution_id, _, body in executions:
            body.update(status="transientFailure", endTime=body.get("startTime"), errorMessage=INTERRUPTED)
            self.store.update_execution(execution_id, body)
