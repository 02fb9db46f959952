"""The search catalog in PostgreSQL: the same methods as :class:`weft.search.catalog.Catalog`, shared by every node.

Each change is one transaction that also appends a catalog row to the change log (``weft.cluster.pg``), so other
nodes learn of it in commit order with the document batches (an index deleted and created again is seen in that
order) and reload their view of the catalog (``SearchService.sync_catalog``). An index row carries ``uid``, its
incarnation: created afresh for a new name, kept by updates; the documents of record are keyed by it.

Conditional writes (``guard``): the service decides a change on its view of the catalog, which may be behind another
node's commit. ``guard(table, name, expected)`` opens the transaction the write will commit in, takes a lock on the
name (an advisory lock: it also covers a name with no row yet, so two creations serialize) and compares the stored
ETag with the one the decision was made on; a difference is ConcurrentChange, and the service reloads the catalog
and decides again (a failed If-Match becomes a 412, an unconditional write applies over the newer definition).
"""
from __future__ import annotations

import contextlib
import json
import threading
import uuid

from weft.cluster import tokens
from weft.cluster.pg import PREFIX, Database, append_log
from weft.etags import expect_etag

GUARD_LOCK = 0x7765  # first key of the two-key advisory lock taken per (table, name) by guard()


class PgCatalog:
    def __init__(self, db: Database):
        self.db = db
        self._guarded = threading.local()  # the transaction of the guard() this thread is inside, if any

    @contextlib.contextmanager
    def guard(self, table: str, name: str, expected):
        """The catalog writes of this thread inside the block commit in one transaction that first checked the stored
        ETag of ``name`` in ``table`` ('indexes', 'synonym_maps', 'aliases') is ``expected`` (None: no row), under a
        lock on the name held to the commit. Raises ConcurrentChange otherwise."""
        with self.db.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (GUARD_LOCK, f"{table}:{name}"))
            row = conn.execute(f"SELECT etag FROM {PREFIX}{table} WHERE name = %s FOR UPDATE", (name,)).fetchone()
            expect_etag(row[0] if row else None, expected)
            self._guarded.conn = conn
            try:
                yield
            finally:
                self._guarded.conn = None

    @contextlib.contextmanager
    def _write(self):
        conn = getattr(self._guarded, "conn", None)
        if conn is not None:
            yield conn  # committed when the guard ends
            return
        with self.db.connection() as conn:
            yield conn

    # ---- indexes -------------------------------------------------------------------------------------
    def list(self) -> list[tuple[str, dict, str]]:
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT name, definition, etag FROM {PREFIX}indexes ORDER BY name").fetchall()
        return [(name, json.loads(definition), etag) for name, definition, etag in rows]

    def internal_names(self) -> set[str]:
        with self.db.connection() as conn:
            return {row[0] for row in conn.execute(f"SELECT name FROM {PREFIX}indexes WHERE internal")}

    def get(self, name: str) -> tuple[dict, str] | None:
        with self.db.connection() as conn:
            row = conn.execute(f"SELECT definition, etag FROM {PREFIX}indexes WHERE name = %s", (name,)).fetchone()
        return None if row is None else (json.loads(row[0]), row[1])

    def uids(self) -> dict[str, str]:
        """Each index's incarnation."""
        with self.db.connection() as conn:
            return {name: str(uid) for name, uid in conn.execute(f"SELECT name, uid FROM {PREFIX}indexes")}

    def uid(self, name: str) -> str | None:
        with self.db.connection() as conn:
            row = conn.execute(f"SELECT uid FROM {PREFIX}indexes WHERE name = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, name: str, definition: dict, etag: str, *, internal: bool = False) -> None:
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO {PREFIX}indexes (name, uid, definition, etag, internal) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, etag = excluded.etag, internal = excluded.internal",
                (name, uuid.uuid4(), json.dumps(definition), etag, internal),
            )
            tokens.record(append_log(conn, "index", name))

    def delete(self, name: str) -> bool:
        with self._write() as conn:
            row = conn.execute(f"DELETE FROM {PREFIX}indexes WHERE name = %s RETURNING uid", (name,)).fetchone()
            if row is None:
                return False
            conn.execute(f"DELETE FROM {PREFIX}documents WHERE index_uid = %s", (row[0],))
            tokens.record(append_log(conn, "index", name, row[0]))
        return True

    # ---- settings -----------------------------------------------------------------------------------
    def get_setting(self, name: str) -> str | None:
        with self.db.connection() as conn:
            row = conn.execute(f"SELECT value FROM {PREFIX}settings WHERE name = %s", (name,)).fetchone()
        return None if row is None else row[0]

    def set_setting(self, name: str, value: str) -> None:
        with self.db.connection() as conn:
            conn.execute(f"INSERT INTO {PREFIX}settings (name, value) VALUES (%s, %s) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))
            tokens.record(append_log(conn, "setting", name))

    def setting_once(self, name: str, value: str) -> str:
        """Stores ``value`` unless the setting exists; returns the stored one (the first node to start decides)."""
        with self.db.connection() as conn:
            conn.execute(f"INSERT INTO {PREFIX}settings (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING", (name, value))
            return conn.execute(f"SELECT value FROM {PREFIX}settings WHERE name = %s", (name,)).fetchone()[0]

    def ping(self) -> None:
        with self.db.connection() as conn:
            conn.execute(f"SELECT count(*) FROM {PREFIX}indexes").fetchone()

    # ---- synonym maps and aliases --------------------------------------------------------------------
    def _list(self, table: str) -> list[tuple[str, dict, str]]:
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT name, definition, etag FROM {PREFIX}{table} ORDER BY name").fetchall()
        return [(name, json.loads(definition), etag) for name, definition, etag in rows]

    def _put(self, table: str, kind: str, name: str, definition: dict, etag: str) -> None:
        with self._write() as conn:
            conn.execute(f"INSERT INTO {PREFIX}{table} (name, definition, etag) VALUES (%s, %s, %s) "
                         "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, etag = excluded.etag",
                         (name, json.dumps(definition), etag))
            tokens.record(append_log(conn, kind, name))

    def _delete(self, table: str, kind: str, name: str) -> bool:
        with self._write() as conn:
            if conn.execute(f"DELETE FROM {PREFIX}{table} WHERE name = %s", (name,)).rowcount == 0:
                return False
            tokens.record(append_log(conn, kind, name))
        return True

    def list_synonym_maps(self) -> list[tuple[str, dict, str]]:
        return self._list("synonym_maps")

    def put_synonym_map(self, name: str, definition: dict, etag: str) -> None:
        self._put("synonym_maps", "synonymmap", name, definition, etag)

    def delete_synonym_map(self, name: str) -> bool:
        return self._delete("synonym_maps", "synonymmap", name)

    def list_aliases(self) -> list[tuple[str, dict, str]]:
        return self._list("aliases")

    def put_alias(self, name: str, definition: dict, etag: str) -> None:
        self._put("aliases", "alias", name, definition, etag)

    def delete_alias(self, name: str) -> bool:
        return self._delete("aliases", "alias", name)

    def close(self) -> None:
        """The database belongs to the cluster engine, which closes it."""
