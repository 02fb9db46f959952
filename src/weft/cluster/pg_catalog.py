"""The search catalog in PostgreSQL: the same methods as :class:`weft.search.catalog.Catalog`, shared by every node.

Each change is one transaction that also appends a catalog row to the change log (``weft.cluster.pg``), so other
nodes learn of it in commit order with the document batches (an index deleted and created again is seen in that
order) and reload their view of the catalog (``SearchService.sync_catalog``). An index row carries ``uid``, its
incarnation: created afresh for a new name, kept by updates; the documents of record are keyed by it.
"""
from __future__ import annotations

import json
import uuid

from weft.cluster import tokens
from weft.cluster.pg import PREFIX, Database, append_log


class PgCatalog:
    def __init__(self, db: Database):
        self.db = db

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
        with self.db.connection() as conn:
            conn.execute(
                f"INSERT INTO {PREFIX}indexes (name, uid, definition, etag, internal) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, etag = excluded.etag, internal = excluded.internal",
                (name, uuid.uuid4(), json.dumps(definition), etag, internal),
            )
            tokens.record(append_log(conn, "index", name))

    def delete(self, name: str) -> bool:
        with self.db.connection() as conn:
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
        with self.db.connection() as conn:
            conn.execute(f"INSERT INTO {PREFIX}{table} (name, definition, etag) VALUES (%s, %s, %s) "
                         "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, etag = excluded.etag",
                         (name, json.dumps(definition), etag))
            tokens.record(append_log(conn, kind, name))

    def _delete(self, table: str, kind: str, name: str) -> bool:
        with self.db.connection() as conn:
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
