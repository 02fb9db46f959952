"""ClusterEngine: the Engine protocol over the documents of record in PostgreSQL and a derived local tantivy engine.

``apply`` commits the batch to PostgreSQL (``weft.cluster.documents``), records its log position for the write
token, and returns once this node's apply loop (``weft.cluster.apply.Follower``) has applied everything up to that
position to the local engine, in commit order: the node that answered a write reads it at once, and no node ever
applies two changes out of their commit order. Reads go to the local engine; an index whose local copy is being
rebuilt answers 503 with Retry-After rather than stale results.

Index definition changes reach the local engine here (``create_index``/``update_index``/``delete_index``), from this
node's service or from the apply loop when another node changed the catalog (``SearchService.sync_catalog``).
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from weft.cluster import tokens
from weft.cluster.documents import fetch_documents, trimmed_below, write_batch
from weft.cluster.local_state import IndexState, LocalState
from weft.cluster.pg import PREFIX, Database, NotReady, append_log, newest_position
from weft.cluster.pg_catalog import PgCatalog
from weft.cluster.sealing import Sealing
from weft.search.documents import Action, ItemResult
from weft.search.engine.base import IndexStats, SearchQuery, SearchResults
from weft.search.engine.tantivy_engine import TantivyEngine
from weft.search.schema import IndexDefinition

log = logging.getLogger(__name__)

APPLY_WAIT_SECONDS = 30.0  # a write waits this long for the local apply before it is answered anyway
FILL_CHUNK = 1000  # documents of record read at a time to refill a compacted copy


class ClusterEngine:
    def __init__(self, db: Database, catalog: PgCatalog, root: Path, node_id: str):
        self.db = db
        self.catalog = catalog
        self.root = Path(root)
        self.node_id = node_id
        self.local = TantivyEngine(self.root)
        self.state = LocalState(self.root)
        self.sealing = Sealing()  # opens sealed documents of record; the thread service's keyring is attached later
        self.indexes: dict[str, IndexState] = {}  # what each local copy reflects
        self.rebuilding: set[str] = set()  # local copies that must be (or are being) rebuilt: they answer 503
        self.generation: dict[str, int] = {}  # bumped when a rebuild under way must start again (weft.cluster.rebuild)
        self._lock = threading.RLock()
        import uuid

        self.cluster_id = catalog.setting_once("cluster.id", str(uuid.uuid4()))
        with db.connection() as conn:
            start = newest_position(conn)  # read before the catalog is: nothing committed after it is missed
        persisted = self.state.read_node(self.cluster_id)
        self.fresh_node = persisted is None  # an empty (or foreign) data dir: every index rebuilds
        from weft.cluster.apply import Follower

        self.follower = Follower(self, start if persisted is None else persisted)

    def start(self, service) -> None:
        """Starts the apply loop once the service has loaded the catalog."""
        self.fresh_node = False  # from now on an index without a local copy rebuilds because it has none
        self.follower.start(service)

    # ---- status -------------------------------------------------------------------------------------
    def applied(self) -> dict[str, Any]:
        """This node's applied positions, without asking PostgreSQL (cheap: for a heartbeat)."""
        with self._lock:
            indexes = {name: {"position": s.position, "state": "rebuilding" if name in self.rebuilding else "ready"}
                       for name, s in sorted(self.indexes.items())}
        return {"node": self.node_id, "appliedPosition": self.follower.position, "indexes": indexes}

    def status(self) -> dict[str, Any]:
        """``applied()`` with the cluster's newest position and the lag in positions (weft cluster status)."""
        with self.db.connection() as conn:
            newest = newest_position(conn)
        out = self.applied()
        out["clusterPosition"] = newest
        out["lag"] = max(0, newest - out["appliedPosition"])
        return out

    # ---- definitions --------------------------------------------------------------------------------
    def mark_rebuild(self, name: str) -> None:
        """Rebuild ``name``'s local copy from the cluster database (beside the apply loop); it answers 503 meanwhile.
        A rebuild already under way starts again."""
        with self._lock:
            self.rebuilding.add(name)
            self.generation[name] = self.generation.get(name, 0) + 1
        self.follower.rebuilder.kick()

    def open_index(self, definition: IndexDefinition) -> None:
        name = definition.name
        with self._lock:
            try:
                self.local.open_index(definition)
            except Exception:  # a corrupt local copy: start it again, it is derived
                log.exception("the local copy of index %s cannot be opened; rebuilding it from the cluster database", name)
                shutil.rmtree(self.root / name, ignore_errors=True)
                self.local.create_index(definition)
                self.mark_rebuild(name)
            if name in self.local.stale_analysis:  # index-only fields: the cluster database has them, rebuild from it
                self.local.stale_analysis.discard(name)
                self.mark_rebuild(name)
            state = self.state.read_index(name)
            uid = self.catalog.uid(name)
            if self.fresh_node or state is None or state.uid is None or state.uid != uid:
                state = IndexState(None, 0)
                self.mark_rebuild(name)
            self.indexes[name] = state

    def create_index(self, definition: IndexDefinition) -> None:
        with self._lock:
            self.local.create_index(definition)
            self.indexes[definition.name] = IndexState(None, 0)  # tied to its uid by the first change the loop applies
            self.rebuilding.discard(definition.name)
            self.generation[definition.name] = self.generation.get(definition.name, 0) + 1
            self.state.write_index(definition.name, self.indexes[definition.name])

    def update_index(self, old: IndexDefinition, new: IndexDefinition) -> None:
        with self._lock:
            state = self.indexes.get(old.name)
            uid = self.catalog.uid(new.name)
            if state is not None and state.uid is not None and uid is not None and state.uid != uid:
                # deleted and created again elsewhere: a new, empty incarnation with this name
                self.local.delete_index(old.name)
                self.local.create_index(new)
                self.indexes[new.name] = IndexState(None, 0)
                self.mark_rebuild(new.name)
                return
            if new.name in self.rebuilding:  # the rebuild under way loads the old definition: start it again on the new
                self.local.delete_index(old.name)
                self.local.create_index(new)
                self.mark_rebuild(new.name)
                return
            self.local.update_index(old, new)  # may rewrite the directory (new fields): the sidecar is written again
            if state is not None:
                self.state.write_index(new.name, state)

    def delete_index(self, name: str) -> None:
        with self._lock:
            self.local.delete_index(name)
            self.indexes.pop(name, None)
            self.rebuilding.discard(name)
            self.generation[name] = self.generation.get(name, 0) + 1

    def rewrite(self, definition: IndexDefinition, fill=None) -> None:
        """Compacts the index on every node: a ``compact`` change in the log, which every node's apply loop follows by
        rewriting its own copy (``compact_local``); this node does it now. ``fill`` is not needed: the documents of
        record hold the index-only fields (sealed or not), so each node refills them from there."""
        uid = self.catalog.uid(definition.name)
        if uid is None:
            return
        with self.db.connection() as conn:
            position = append_log(conn, "compact", definition.name, uid)
        self.compact_local(definition, uid, position)

    def compact_local(self, definition: IndexDefinition, uid: str, position: int) -> None:
        """Rewrites this node's copy of an index (deleted documents leave its files) for the ``compact`` change at
        ``position``, under the engine lock (the apply loop waits): in one snapshot, the copy first catches up with
        the index's changes logged up to the newest position ``Q``, then is written afresh from the documents of
        record of that snapshot (index-only fields opened, a shredded tenant's documents left out) and stands at ``Q``
        (the apply loop skips the changes up to it). A copy already past ``position`` (this node compacted it, or
        rebuilt it since) or being rebuilt is left alone."""
        name = definition.name
        with self._lock:
            state = self.indexes.get(name)
            if state is None or name in self.rebuilding or state.position >= position or state.uid not in (None, uid):
                return
            if state.uid is None and self.catalog.uid(name) != uid:  # created here since: the change is an older one's
                return
            with self.db.connect() as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                if trimmed_below(conn) > state.position + 1:  # the log no longer has every change since: start afresh
                    conn.rollback()
                    self.mark_rebuild(name)
                    return
                newest = newest_position(conn)
                rows = conn.execute(f"SELECT keys FROM {PREFIX}log WHERE position > %s AND position <= %s AND kind = 'docs' "
                                    "AND index_uid = %s", (state.position, newest, uid)).fetchall()
                keys = list(dict.fromkeys(k for (ks,) in rows for k in (ks or ())))
                if keys:
                    documents = fetch_documents(conn, definition, uid, keys, self.sealing)
                    self.local.apply(definition, [Action("upload", k, documents[k]) if k in documents else Action("delete", k, {})
                                                  for k in keys])

                def fill(sources: list[dict]) -> list[dict]:
                    key = definition.key_field.name
                    wanted = [s[key] for s in sources]
                    found: dict[str, dict] = {}
                    for start in range(0, len(wanted), FILL_CHUNK):
                        found.update(fetch_documents(conn, definition, uid, wanted[start:start + FILL_CHUNK], self.sealing))
                    return [found[k] for k in wanted if k in found]

                self.local.rewrite(definition, fill)
                conn.rollback()
            state.uid = uid
            state.position = newest
            self.state.write_index(name, state)

    # ---- documents ----------------------------------------------------------------------------------
    def apply(self, definition: IndexDefinition, actions: list[Action]) -> list[ItemResult]:
        results, position = write_batch(self.db, definition, actions, self.sealing, offer=self.follower.offer)
        if position:
            tokens.record(position)
            if not self.follower.wait_for(position, APPLY_WAIT_SECONDS, wake=True):
                log.warning("batch at position %s of %s committed but not applied locally within %ss", position, definition.name,
                            APPLY_WAIT_SECONDS)
        return results

    def _ready(self, definition: IndexDefinition) -> None:
        if definition.name in self.rebuilding:
            raise NotReady(f"The index '{definition.name}' is being rebuilt on this node from the cluster database; retry shortly.",
                           retry_after=2)

    def get(self, definition: IndexDefinition, key: str) -> dict[str, Any] | None:
        self._ready(definition)
        return self.local.get(definition, key)

    def count(self, definition: IndexDefinition) -> int:
        self._ready(definition)
        return self.local.count(definition)

    def search(self, definition: IndexDefinition, query: SearchQuery) -> SearchResults:
        self._ready(definition)
        return self.local.search(definition, query)

    def suggest_terms(self, definition: IndexDefinition, field_path: str, prefix: str, limit: int) -> list[tuple[str, int]]:
        self._ready(definition)
        return self.local.suggest_terms(definition, field_path, prefix, limit)

    def stats(self, definition: IndexDefinition) -> IndexStats:
        self._ready(definition)
        return self.local.stats(definition)

    # ---- lifecycle ----------------------------------------------------------------------------------
    def writers_alive(self) -> dict[str, bool]:
        alive = self.local.writers_alive()
        alive["@cluster-apply-loop"] = self.follower.alive
        return alive

    def close(self) -> None:
        self.follower.stop()
        self.local.close()
        self.db.close()


def wait_until(predicate, timeout: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True
