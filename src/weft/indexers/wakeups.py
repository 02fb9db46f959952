"""Near-real-time indexing: LISTEN/NOTIFY wake-ups of an :class:`~weft.indexers.service.IndexerService`.

A PostgreSQL data source with ``weftNotify`` gets a listener (:mod:`weft.indexers.notify`) while at least one
enabled indexer uses it. A wake-up starts a run of each of those indexers now if it is idle, or once right after
the run in progress (bursts coalesce), and follow-up runs until the indexer's cursor has passed the notified
transaction (:meth:`NotifyWakeups._after_run`). Wake-ups never bypass the commit fence: they only start runs.
The methods work on the service's state (``_lock``, ``_runs``, ``_notify``, ``store``, ``notify_hub``, ``clock``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weft.indexers import runner
from weft.indexers.model import DataSource, Indexer, parse_indexer
from weft.indexers.notify import Wake, conninfo
from weft.indexers.sources.postgresql import FENCE_SLACK
from weft.indexers.sources.sql import engine_url

if TYPE_CHECKING:
    from weft.indexers.service import ActiveRun

log = logging.getLogger("weft.indexers")
NOTIFY_RETRY_FIRST = 1.0  # after a failed run, wake-up driven retries wait 1 s, 2 s, 4 s ... up to 30 s
NOTIFY_RETRY_MAX = 30.0
NOTIFY_FENCE_MARGIN = 0.1  # keyset (view/query) sources: run this long after the 1 s timestamp fence has passed
MAX_UNCOVERED_RERUNS = 3  # runs that started after the ceiling passed the notified id but did not cover it


@dataclass
class NotifyState:
    """Wake-up bookkeeping of one indexer (times on the service clock)."""

    xid: int | None = None  # the highest notified transaction id the indexer's cursor has not yet passed
    received: float = 0.0  # when the newest wake-up arrived
    passed_at: float | None = None  # when the oldest open transaction was seen above ``xid`` (None: not yet)
    rerun: bool = False  # a wake-up arrived during a run: start again right after it
    due: float | None = None  # a deferred start (retry backoff after a failure, or the keyset fence)
    failures: int = 0
    uncovered: int = 0


def wake_strategy(ds: DataSource) -> str:
    """How a run's cursor relates to a notified transaction: ``xid`` (tables with a change policy:
    the cursor floor is a transaction id), ``keyset`` (views/queries: a timestamp fence 1 s behind
    the oldest open transaction) or ``full`` (no change policy: every run reads everything)."""
    if ds.change_policy is None:
        return "full"
    return "xid" if ds.container_name and not ds.container_query else "keyset"


class NotifyWakeups:
    """The wake-up half of IndexerService (a mixin over its state)."""

    def _sync_listeners(self) -> None:
        """One listener per data source that has ``weftNotify`` and at least one enabled indexer."""
        with self._notify_sync:
            sources: dict[str, DataSource] = {}
            if self._listen and not self._closed:
                for name, *_ in self.store.list_definitions("datasource"):
                    try:
                        ds = self._load_datasource(name)
                    except Exception:
                        continue
                    if ds.notify is not None:
                        sources[name] = ds
            targets: dict[str, list[str]] = {}
            for name, body, _, _ in self.store.list_definitions("indexer") if sources else ():
                try:
                    ix = parse_indexer(body, existing_api_key="x")
                except Exception:
                    continue
                if not ix.disabled and ix.data_source in sources:
                    targets.setdefault(ix.data_source, []).append(name)
            desired: dict[str, tuple[str, str]] = {}
            for ds_name in list(targets):
                ds = sources[ds_name]
                try:
                    desired[ds_name] = (conninfo(engine_url(ds)), ds.notify.channel)
                except Exception as exc:
                    log.warning("data source %s: cannot listen for notifications: %s", ds_name, exc)
                    del targets[ds_name]
            with self._lock:
                self._notify_targets = {ds: (wake_strategy(sources[ds]), names) for ds, names in targets.items()}
                keep = {n for _, names in self._notify_targets.values() for n in names}
                for name in [n for n in self._notify if n not in keep]:
                    del self._notify[name]
            self.notify_hub.apply(desired)  # outside self._lock: stopping waits for listener threads

    def _target_of(self, name: str) -> tuple[str | None, str]:
        for ds_name, (strategy, names) in self._notify_targets.items():
            if name in names:
                return ds_name, strategy
        return None, ""

    def _on_wake(self, ds_name: str, wake: Wake) -> None:
        """A notification (or a listener's (re)connect): wake every enabled indexer of the data source."""
        with self._lock:
            if self._closed:
                return
            strategy, names = self._notify_targets.get(ds_name, ("", []))
            now = self.clock.now()
            for name in names:
                st = self._notify.setdefault(name, NotifyState())
                if st.xid is None or wake.xid > st.xid:
                    st.xid = wake.xid
                    st.passed_at = now if wake.oldest_active > wake.xid else None
                st.received = now
                st.uncovered = 0
                self._wake(ds_name, name, st, strategy, now)

    def _on_passed(self, ds_name: str, oldest_active: int) -> None:
        """The listener saw every transaction up to a watched id end: the held-back rows can be read now."""
        with self._lock:
            if self._closed:
                return
            strategy, names = self._notify_targets.get(ds_name, ("", []))
            now = self.clock.now()
            for name in names:
                st = self._notify.get(name)
                if st is None or st.xid is None or st.passed_at is not None:
                    continue
                if oldest_active > st.xid:
                    st.passed_at = now
                    self._wake(ds_name, name, st, strategy, now)
                else:
                    self.notify_hub.watch(ds_name, st.xid)

    def _wake(self, ds_name: str, name: str, st: NotifyState, strategy: str, now: float) -> None:
        """Start now if idle; during a run remember one re-run; respect a pending deferred start (retry
        backoff). Under ``self._lock``."""
        if name in self._runs:
            st.rerun = True
            return
        if st.due is not None and st.due > now:
            return
        if strategy == "keyset":
            # views and queries: the fence is a timestamp 1 s behind the oldest open transaction, so the
            # row cannot be read before both the older transactions have ended and that second has passed
            if st.passed_at is None:
                self.notify_hub.watch(ds_name, st.xid)
                return
            ready = max(st.received, st.passed_at) + FENCE_SLACK.total_seconds() + NOTIFY_FENCE_MARGIN
            if ready > now:
                st.due = ready
                return
        st.due = None
        self._start(name)

    def _start_deferred(self, now: float) -> None:
        with self._lock:
            for name, st in list(self._notify.items()):
                if st.due is None or st.due > now:
                    continue
                st.due = None
                if name in self._runs:
                    st.rerun = True
                else:
                    self._start(name)

    def _covered(self, name: str, st: NotifyState, strategy: str, started: float) -> bool:
        """Has the run that started at ``started`` read every change of the transactions ``<= st.xid``?"""
        if strategy == "xid":
            state = self.store.tracking_state(name) or {}
            floor = state.get("floor")
            return state.get("strategy") == "xid" and not state.get("window") and floor is not None and int(floor) > st.xid
        if strategy == "keyset":
            return st.passed_at is not None and started >= max(st.received, st.passed_at) + FENCE_SLACK.total_seconds()
        return started >= st.received  # full re-read: every statement after the notification sees the commit

    def _after_run(self, name: str, active: ActiveRun, outcome: runner.RunOutcome) -> None:
        """After any run (wake-up, schedule or manual), under ``self._lock``: start the coalesced re-run;
        or, if the notified transaction lay above the run's ceiling (an older transaction was still
        open), have the listener watch for the ceiling to pass it and run then. A failed run is retried
        with backoff. Only the indexer's own cursor decides that a notified change has been read."""
        st = self._notify.get(name)
        if st is None or self._closed:
            return
        if active.cancelled.is_set():  # reset, deleted or closing: no follow-ups
            st.rerun, st.due = False, None
            return
        ds_name, strategy = self._target_of(name)
        if ds_name is None:
            self._notify.pop(name, None)
            return
        now = self.clock.now()
        if st.xid is not None and self._covered(name, st, strategy, active.started):
            st.xid, st.passed_at, st.uncovered = None, None, 0
        if outcome.status != "success":
            st.failures += 1
            if st.xid is not None or st.rerun:
                st.rerun = False
                st.due = now + min(NOTIFY_RETRY_MAX, NOTIFY_RETRY_FIRST * 2 ** (st.failures - 1))
            return
        st.failures = 0
        if st.rerun:
            st.rerun = False
            self._start(name)
            return
        if st.xid is None:
            return
        if st.passed_at is None:
            self.notify_hub.watch(ds_name, st.xid)  # -> _on_passed when the oldest open transaction has passed it
            return
        if strategy == "keyset":
            st.due = max(now, max(st.received, st.passed_at) + FENCE_SLACK.total_seconds() + NOTIFY_FENCE_MARGIN)
            return
        st.uncovered += 1
        if st.uncovered > MAX_UNCOVERED_RERUNS:
            log.warning("indexer %s: the cursor did not pass notified transaction %s after %d runs; leaving it to the schedule",
                        name, st.xid, MAX_UNCOVERED_RERUNS)
            st.xid, st.passed_at, st.uncovered = None, None, 0
            return
        self._start(name)

    def _notify_status(self, ix: Indexer) -> dict | None:
        found = self.store.get_definition("datasource", ix.data_source)
        if found is None or not isinstance(found[0].get("weftNotify"), dict):
            return None
        listener = self.notify_hub.get(ix.data_source)
        if listener is not None:
            body = listener.status()
        else:  # disabled indexer, or the service does not listen
            body = {"channel": found[0]["weftNotify"].get("channel"), "listening": False, "connected": False,
                    "lastNotificationTime": None, "notificationsReceived": 0, "lastError": None}
        with self._lock:
            st = self._notify.get(ix.name)
            body["waitingForXid"] = st.xid if st is not None and st.xid is not None and st.passed_at is None else None
        return body
