"""The service catalog: index definitions, synonym maps, index aliases and their ETags, in a small SQLite database.

WAL mode with ``synchronous=FULL``: a definition change is durable when the call returns.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from pathlib import Path


class Catalog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        from weft.fsmodes import private_file

        private_file(self.path)
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS indexes (name TEXT PRIMARY KEY, definition TEXT NOT NULL, etag TEXT NOT NULL, "
            "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
        self._conn.execute("CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(indexes)")}
        if "internal" not in columns:
            # weft's own indexes (conversation search): never reachable through the search API
            self._conn.execute("ALTER TABLE indexes ADD COLUMN internal INTEGER NOT NULL DEFAULT 0")
        self._conn.execute("CREATE TABLE IF NOT EXISTS synonym_maps (name TEXT PRIMARY KEY, definition TEXT NOT NULL, etag TEXT NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS aliases (name TEXT PRIMARY KEY, definition TEXT NOT NULL, etag TEXT NOT NULL)")

    def guard(self, table: str, name: str, expected):
        """Cluster mode's check-and-write transaction (weft.cluster.pg_catalog); here one process holds the catalog
        and its service's lock, so its view is never behind: nothing to check."""
        return contextlib.nullcontext()

    def list(self) -> list[tuple[str, dict, str]]:
        with self._lock:
            rows = self._conn.execute("SELECT name, definition, etag FROM indexes ORDER BY name").fetchall()
        return [(name, json.loads(definition), etag) for name, definition, etag in rows]

    def internal_names(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._conn.execute("SELECT name FROM indexes WHERE internal = 1")}

    def get(self, name: str) -> tuple[dict, str] | None:
        with self._lock:
            row = self._conn.execute("SELECT definition, etag FROM indexes WHERE name = ?", (name,)).fetchone()
        return None if row is None else (json.loads(row[0]), row[1])

    def put(self, name: str, definition: dict, etag: str, *, internal: bool = False) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO indexes(name, definition, etag, internal) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, etag = excluded.etag, internal = excluded.internal",
                (name, json.dumps(definition), etag, int(internal)),
            )

    def delete(self, name: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM indexes WHERE name = ?", (name,))
        return cur.rowcount > 0

    def get_setting(self, name: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def set_setting(self, name: str, value: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value)
            )

    def ping(self) -> None:
        """Raises when the catalog cannot be read (readiness)."""
        with self._lock:
            self._conn.execute("SELECT count(*) FROM indexes").fetchone()
    # ---- synonym maps -------------------------------------------------------------------------------
    def list_synonym_maps(self) -> list[tuple[str, dict, str]]:
        with self._lock:
            rows = self._conn.execute("SELECT name, definition, etag FROM synonym_maps ORDER BY name").fetchall()
        return [(name, json.loads(definition), etag) for name, definition, etag in rows]

    def put_synonym_map(self, name: str, definition: dict, etag: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO synonym_maps(name, definition, etag) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, etag = excluded.etag",
                (name, json.dumps(definition), etag),
            )

    def delete_synonym_map(self, name: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM synonym_maps WHERE name = ?", (name,))
        return cur.rowcount > 0

    # ---- index aliases (weft.search.aliases) ---------------------------------------------------------
    def list_aliases(self) -> list[tuple[str, dict, str]]:
        with self._lock:
            rows = self._conn.execute("SELECT name, definition, etag FROM aliases ORDER BY name").fetchall()
        return [(name, json.loads(definition), etag) for name, definition, etag in rows]

    def put_alias(self, name: str, definition: dict, etag: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO aliases(name, definition, etag) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, etag = excluded.etag",
                (name, json.dumps(definition), etag),
            )

    def delete_alias(self, name: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM aliases WHERE name = ?", (name,))
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
