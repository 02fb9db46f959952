"""Rebuilds of a node's local index copies, on their own thread beside the apply loop (``weft.cluster.apply``).

An index whose local copy is missing, corrupt, of another incarnation or behind the retained log is marked
rebuilding (``ClusterEngine.mark_rebuild``): it answers 503 with Retry-After, and the apply loop skips its document
changes while it keeps applying every other index's. The rebuild thread then

1. empties the local copy and loads the documents of record read in one ``REPEATABLE READ`` snapshot, together with
   the newest log position ``P`` that snapshot reflects;
2. catches up from the log: the keys of the index's document changes after ``P`` (read committed, up to the newest
   position), applied as their current documents of record, again until little is left;
3. hands over, holding the engine lock (which the apply loop takes to decide to apply or skip a change): one last
   catch-up to the newest position ``Q``, then the index's state becomes ``(uid, Q)`` and it leaves the rebuilding set.
   Every change the apply loop skipped was committed before it was skipped, hence before this last read: it is in
   the copy. Every later change has a position above ``Q`` and the apply loop applies it (it ignores those at or
   below an index's position). So no change is lost or applied out of order, and the switch is exact.

A definition change or deletion meanwhile bumps the index's rebuild generation (or removes it from the set): the
rebuild notices and starts again (or stops). A log trimmed past its position also restarts it.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time

import psycopg

from weft.cluster.documents import fetch_documents, opened, trimmed_below
from weft.cluster.local_state import IndexState
from weft.cluster.pg import PREFIX, newest_position
from weft.errors import NotFound
from weft.search.documents import Action

log = logging.getLogger(__name__)

REBUILD_CHUNK = 2000
HANDOFF_KEYS = 2000  # catch up without the lock until fewer keys than this are left


class Superseded(Exception):
    """The index changed (new definition, deleted, recreated) while it was being rebuilt."""


class Rebuilder:
    def __init__(self, follower):
        self.follower = follower
        self.engine = follower.engine
        self.db = follower.db
        self.after_chunk = None  # test hook: called after each chunk of documents loaded (name, count)
        self.current: str | None = None  # the index being rebuilt now
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="weft-cluster-rebuild", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def wait_done(self, names: set[str], timeout: float) -> bool:
        """Whether none of ``names`` is rebuilding within ``timeout`` seconds (the apply loop gives an index just created
        on another node this long, so a client holding the creation's write token finds it ready, not a 503)."""
        deadline = time.monotonic() + timeout
        while names & self.engine.rebuilding:
            if time.monotonic() >= deadline or self._stop.is_set():
                return False
            time.sleep(0.005)
        return True

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            while not self._stop.is_set():
                with self.engine._lock:
                    names = sorted(self.engine.rebuilding)
                if not names:
                    break
                for name in names:
                    if self._stop.is_set():
                        return
                    try:
                        self.rebuild(name)
                    except Superseded:
                        continue  # still in the set when it must start again: the next pass does
                    except Exception:
                        log.exception("rebuild of index %s failed; retrying", name)
                        self._stop.wait(1.0)

    # ---- one rebuild --------------------------------------------------------------------------------
    def _check(self, name: str, generation: int) -> None:
        if self._stop.is_set() or name not in self.engine.rebuilding or self.engine.generation.get(name, 0) != generation:
            raise Superseded(name)

    def rebuild(self, name: str) -> None:
        engine = self.engine
        started = time.perf_counter()
        service = self.follower.service
        try:
            definition = service.definition(name)
        except NotFound:
            with engine._lock:
                engine.rebuilding.discard(name)
            return
        with engine._lock:
            generation = engine.generation.get(name, 0)
            self._check(name, generation)
            engine.local.delete_index(name)
            shutil.rmtree(engine.root / name, ignore_errors=True)
            engine.local.create_index(definition)
        self.current = name
        try:
            uid, position, count = self._load(name, definition, generation)
            if uid is None:  # no longer in the catalog (its deletion follows in the log)
                with engine._lock:
                    engine.rebuilding.discard(name)
                return
            # catch up without the lock while much is left, then hand over under it
            while True:
                position, keys = self._catch_up(definition, uid, position)
                self._check(name, generation)
                if keys < HANDOFF_KEYS:
                    break
            with engine._lock:
                self._check(name, generation)
                if engine.catalog.uid(name) != uid:
                    raise Superseded(name)  # recreated meanwhile: the catalog change marks it again
                position, _ = self._catch_up(definition, uid, position)
                state = IndexState(uid, position)
                engine.indexes[name] = state
                engine.state.write_index(name, state)
                engine.rebuilding.discard(name)
        finally:
            self.current = None
        log.info("rebuilt index %s from the cluster database: %d documents, live at position %d, in %.1fs", name, count,
                 position, time.perf_counter() - started)

    def _load(self, name: str, definition, generation: int) -> tuple[str | None, int, int]:
        """Step 1: the documents of record in one snapshot; returns (uid, the snapshot's position, count)."""
        count = 0
        with self.db.connect() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot: the documents and their position
            conn.read_only = True
            row = conn.execute(f"SELECT uid FROM {PREFIX}indexes WHERE name = %s", (name,)).fetchone()
            position = newest_position(conn)
            if row is None:
                conn.rollback()
                return None, position, 0
            uid = str(row[0])
            with conn.cursor(name="weft_rebuild") as cur:
                cur.itersize = REBUILD_CHUNK
                cur.execute(f"SELECT key, source, sealed FROM {PREFIX}documents WHERE index_uid = %s", (uid,))
                while True:
                    chunk = cur.fetchmany(REBUILD_CHUNK)
                    if not chunk:
                        break
                    self._check(name, generation)
                    documents = opened(definition, uid, chunk, self.engine.sealing)  # a shredded tenant's: left out
                    self.engine.local.apply(definition, [Action("upload", key, document) for key, document in documents.items()])
                    count += len(documents)
                    if self.after_chunk is not None:
                        self.after_chunk(name, count)
            conn.rollback()
        return uid, position, count

    def _catch_up(self, definition, uid: str, after: int) -> tuple[int, int]:
        """Applies the index's document changes logged after ``after`` as their current documents of record; returns
        (the newest position read, how many keys were applied)."""
        with self.db.connection() as conn:
            if trimmed_below(conn) > after + 1:
                raise Superseded(definition.name)  # the log no longer holds every change since the snapshot
            newest = newest_position(conn)
            rows = conn.execute(f"SELECT keys FROM {PREFIX}log WHERE position > %s AND position <= %s AND kind = 'docs' AND index_uid = %s",
                                (after, newest, uid)).fetchall()
            keys = list(dict.fromkeys(k for (ks,) in rows for k in (ks or ())))
            documents = fetch_documents(conn, definition, uid, keys, self.engine.sealing) if keys else {}
        if keys:
            self.engine.local.apply(definition, [Action("upload", k, documents[k]) if k in documents else Action("delete", k, {})
                                                 for k in keys])
        return newest, len(keys)
