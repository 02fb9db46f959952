"""The apply loop: every committed change, in commit order, into this node's local engine.

One thread per node reads the change log after the position it has applied (``weft.cluster.pg`` explains why
positions are commit-ordered and a gap is a rollback), woken by LISTEN/NOTIFY on ``weft.cluster.pg.CHANNEL``, by a
write of this node, or by a poll every ``POLL_SECONDS`` when notifications are lost. A round takes up to ``BATCH``
log rows: consecutive document changes of one index become one local batch (the current documents of record of
their keys, sealed fields opened (``weft.cluster.sealing``): uploads, and deletes for keys no longer there or no
longer readable) and one local commit; a catalog change makes the service reload the catalog first; a ``compact``
change rewrites this node's copy of that index (``ClusterEngine.compact_local``). After each round the position is persisted (``weft.cluster.local_state``) and waiting
readers and writers are released.

Rebuilds: an index whose local copy is missing, corrupt, of another incarnation, or behind the retained log is
rebuilt beside this loop (``weft.cluster.rebuild``): this loop skips that index's changes while it rebuilds (the
rebuild catches up on them from the log and hands over exactly) and keeps applying every other index's.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time

import psycopg

from weft.cluster.documents import decode_offered, fetch_documents, trimmed_below
from weft.cluster.pg import CHANNEL, PREFIX, newest_position
from weft.cluster.rebuild import Rebuilder
from weft.errors import NotFound
from weft.search.documents import Action

log = logging.getLogger(__name__)

from prometheus_client import Gauge, Histogram  # noqa: E402

from weft.observability import REGISTRY  # noqa: E402

APPLIED = Gauge("weft_search_applied_position", "Change-log position this node has applied (cluster mode).", registry=REGISTRY)
NEWEST = Gauge("weft_search_log_position", "Newest change-log position this node has seen in the cluster database.", registry=REGISTRY)
APPLY_LAG = Histogram("weft_search_apply_lag_seconds", "From a change's commit to its local apply on this node (cluster mode).",
                      buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY)

POLL_SECONDS = 1.0
LISTEN_APPLICATION = "weft-listen"  # application_name of each node's LISTEN connection
BATCH = 1000
NEW_REBUILD_WAIT = 1.0  # seconds a catalog change waits for the rebuilds it started before the loop goes on
OFFERED_MAX = 256  # this node's own writes kept for the loop (weft.cluster.apply.Follower.offer)


class Follower:
    def __init__(self, engine, position: int):
        self.engine = engine
        self.db = engine.db
        self.position = position  # every change up to here is applied (or covered by a rebuild)
        self.service = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._listen_conn: psycopg.Connection | None = None
        self.rebuilder = Rebuilder(self)
        # this node's own writes: position -> (index uid, {key: stored JSON or None}), as its transaction wrote them
        self._offered: dict[int, tuple[str, dict]] = {}
        self._offered_lock = threading.Lock()

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self, service) -> None:
        self.service = service
        self._thread = threading.Thread(target=self._run, name="weft-cluster-apply", daemon=True)
        self._listener = threading.Thread(target=self._listen, name="weft-cluster-listen", daemon=True)
        self._listener.start()
        self._thread.start()
        self.rebuilder.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        conn = self._listen_conn
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.cancel_safe(timeout=1)
        self.rebuilder.stop()
        for thread in (self._thread, self._listener):
            if thread is not None:
                thread.join(timeout=30)

    def wait_for(self, position: int, timeout: float, wake: bool = False) -> bool:
        """Whether this node applied ``position`` within ``timeout`` seconds."""
        if wake:
            self._wake.set()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.position < position:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def offer(self, position: int, uid: str, documents: dict) -> None:
        """The documents a write of this node commits at ``position`` (``weft.cluster.documents.write_batch``): the
        loop applies that change from them instead of reading them back. Only a position the log holds is ever
        looked up, so an offer of a transaction that rolled back is never used (it is dropped as the loop passes)."""
        with self._offered_lock:
            if len(self._offered) >= OFFERED_MAX:  # the loop is far behind: the oldest are read back instead
                del self._offered[min(self._offered)]
            self._offered[position] = (uid, documents)

    def _offered_documents(self, changes: list[tuple[int, str]]) -> dict | None:
        """The documents of these (position, uid) changes, composed in position order, when this node offered every
        one of them; else None (they are read from the documents of record)."""
        with self._offered_lock:
            entries = [self._offered.pop(position, None) for position, _ in changes]
        if any(entry is None or entry[0] != uid for entry, (_, uid) in zip(entries, changes)):
            return None
        written: dict = {}
        for _, documents in entries:
            written.update(documents)
        return decode_offered(written)  # the JSON the documents of record hold: exactly what a read back would give

    # ---- wake-ups -----------------------------------------------------------------------------------
    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                # named, so an operator (and the HA test) can see in pg_stat_activity that every node listens again
                with self.db.connect(autocommit=True, application_name=LISTEN_APPLICATION) as conn:
                    self._listen_conn = conn
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()  # anything committed while not listening
                    quiet = 0
                    while not self._stop.is_set():
                        woken = False
                        for _ in conn.notifies(timeout=0.25):
                            self._wake.set()
                            woken = True
                        quiet = 0 if woken else quiet + 1
                        if quiet >= 20:  # five quiet seconds: make sure the connection is still there
                            conn.execute("SELECT 1")
                            quiet = 0
            except Exception as exc:  # the database is away: the poll keeps going, try again shortly
                if not self._stop.is_set():
                    log.debug("cluster LISTEN connection failed: %s", exc)
                    self._stop.wait(1.0)
            finally:
                self._listen_conn = None

    # ---- the loop -----------------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self._round():
                    pass
                failures = 0
            except Exception:
                failures += 1
                if failures == 1:
                    log.exception("cluster apply round failed (position %s); retrying", self.position)
                else:
                    log.warning("cluster apply round failed again (%d in a row, position %s)", failures, self.position)
                # back off, but wake at once when the LISTEN connection is made again (the database is back: a
                # failover ended) or this node commits a write, rather than sleeping out the backoff
                self._wake.wait(min(5.0, 0.2 * failures))

    def _advance(self, position: int) -> None:
        with self._offered_lock:  # offers the loop passed without using them (rolled back, or a rebuild covered them)
            for stale in [p for p in self._offered if p <= position]:
                del self._offered[stale]
        with self._cond:
            if position > self.position:
                self.position = position
            self._cond.notify_all()
        APPLIED.set(self.position)
        self.engine.state.write_node(self.engine.cluster_id, self.position)

    def _round(self) -> bool:
        """Applies up to BATCH changes; returns whether more may be waiting."""
        with self.db.connection() as conn:
            trimmed = trimmed_below(conn)
            newest = newest_position(conn)
        if self.position < trimmed - 1:
            # changes after our position were trimmed from the log: every local copy is rebuilt
            log.warning("this node is behind the retained change log (%s < %s): rebuilding every index", self.position, trimmed)
            with self.engine._lock:
                for name in list(self.engine.indexes):
                    self.engine.mark_rebuild(name)  # each from a snapshot at or after `newest`, beside this loop
            self._advance(newest)
            return True
        with self.db.connection() as conn:
            rows = conn.cursor(binary=True).execute(  # binary: a row's key array is not parsed from text
                f"SELECT position, kind, name, index_uid, keys, extract(epoch FROM clock_timestamp() - committed_at)::float8 "
                f"FROM {PREFIX}log WHERE position > %s ORDER BY position LIMIT %s",
                (self.position, BATCH),
            ).fetchall()
        NEWEST.set(max(newest, rows[-1][0] if rows else 0))
        if not rows:
            return False
        read_at = time.monotonic()
        pending: list[tuple[int, str, str, list[str]]] = []  # one index's consecutive document changes
        for position, kind, name, uid, keys, _ in rows:
            if kind == "docs":
                if pending and pending[-1][1] != name:
                    self._apply_docs(pending)
                    pending = []
                pending.append((position, name, str(uid), list(keys or ())))
                continue
            if pending:
                self._apply_docs(pending)
                pending = []
            if kind == "compact":  # the conversation index after deletes: each node rewrites its own copy
                self._compact(position, name, str(uid))
                continue
            before = set(self.engine.rebuilding)
            self.service.sync_catalog()
            started = self.engine.rebuilding - before  # e.g. an index created on another node: usually small
            if started:
                self.rebuilder.wait_done(started, NEW_REBUILD_WAIT)
        if pending:
            self._apply_docs(pending)
        self._advance(rows[-1][0])
        APPLY_LAG.observe(max(0.0, rows[-1][5]) + time.monotonic() - read_at)
        return len(rows) == BATCH

    def _compact(self, position: int, name: str, uid: str) -> None:
        try:
            definition = self.service.definition(name)
        except NotFound:
            return  # deleted since
        self.engine.compact_local(definition, uid, position)

    def _apply_docs(self, changes: list[tuple[int, str, str, list[str]]]) -> None:
        name = changes[0][1]
        engine = self.engine
        try:
            definition = self.service.definition(name)
        except NotFound:
            return  # deleted since (the catalog change follows)
        with engine._lock:
            state = engine.indexes.get(name)
            if state is None or name in engine.rebuilding:
                return  # a rebuild (from a snapshot taken later) covers these changes
            keys: dict[str, None] = {}
            applied: list[tuple[int, str]] = []  # (position, uid) of the changes applied here
            uid = None
            last = state.position
            for position, _, change_uid, change_keys in changes:
                if position <= state.position:
                    continue
                if state.uid is None:  # created on this node: tie it to its incarnation
                    if engine.catalog.uid(name) != change_uid:
                        continue
                    state.uid = change_uid
                if change_uid != state.uid:
                    if engine.catalog.uid(name) == change_uid:  # the local copy is of an older incarnation
                        engine.mark_rebuild(name)
                        return
                    continue  # a change of an older incarnation
                uid = change_uid
                keys.update(dict.fromkeys(change_keys))
                applied.append((position, change_uid))
                last = position
            if not keys:
                return
            documents = self._offered_documents(applied)
            if documents is None:
                with self.db.connection() as conn:
                    documents = fetch_documents(conn, definition, uid, list(keys), engine.sealing)
            actions = [Action("upload", k, documents[k]) if documents.get(k) is not None else Action("delete", k, {}) for k in keys]
            engine.local.apply(definition, actions)
            state.position = last
            engine.state.write_index(name, state)
