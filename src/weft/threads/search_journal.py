"""The conversation-search sidecar: opted-in tenants and the intent journal, in a small SQLite file
(``<data-dir>/threads/conversation-search.sqlite3``; WAL, ``synchronous=FULL``, ``secure_delete``). See
``weft.threads.search_index`` for how the journal is used."""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALL_CONVERSATIONS = "*"
COMPACT = "#compact"  # a row asking for a rewrite of the tenant's index (after deletes)


@dataclass
class TenantConfig:
    tenant_id: str
    index_name: str
    vectorizer: dict[str, Any] | None
    dimensions: int | None


class _Journal:
    """The sidecar SQLite file: opted-in tenants and the intent rows (WAL, synchronous=FULL)."""

    def __init__(self, path: Path, box: Any = None):
        from weft.fsmodes import private_file

        self.box = box  # weft.secretbox.SecretBox for vectorizer API keys, or None (kept as given)
        private_file(path)
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self.lock = threading.Lock()
        with self.lock:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA secure_delete=ON")
            self.conn.execute("CREATE TABLE IF NOT EXISTS tenants (tenant_id TEXT PRIMARY KEY, index_name TEXT NOT NULL UNIQUE, "
                              "vectorizer TEXT, dimensions INTEGER)")
            self.conn.execute("CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, "
                              "conversation_id TEXT NOT NULL, generation TEXT NOT NULL, failed INTEGER NOT NULL DEFAULT 0)")

    def _vectorizer(self, raw: str | None) -> dict[str, Any] | None:
        if not raw:
            return None
        vectorizer = json.loads(raw)
        if self.box is not None:  # its API key is sealed, as in the search catalog
            from weft.search.vectorizer_secrets import unseal

            vectorizer = unseal({"vectorSearch": {"vectorizers": [vectorizer]}}, self.box)[0]["vectorSearch"]["vectorizers"][0]
        return vectorizer

    def tenants(self) -> dict[str, TenantConfig]:
        with self.lock:
            rows = self.conn.execute("SELECT tenant_id, index_name, vectorizer, dimensions FROM tenants").fetchall()
        return {r[0]: TenantConfig(r[0], r[1], self._vectorizer(r[2]), r[3]) for r in rows}

    def put_tenant(self, config: TenantConfig) -> None:
        vectorizer = config.vectorizer
        if vectorizer is not None and self.box is not None:
            from weft.search.vectorizer_secrets import seal

            vectorizer = seal({"vectorSearch": {"vectorizers": [vectorizer]}}, self.box)["vectorSearch"]["vectorizers"][0]
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO tenants VALUES (?, ?, ?, ?)", (
                config.tenant_id, config.index_name, json.dumps(vectorizer) if vectorizer else None, config.dimensions))

    def delete_tenant(self, tenant_id: str) -> None:
        with self.lock:
            self.conn.execute("DELETE FROM tenants WHERE tenant_id = ?", (tenant_id,))
            self.conn.execute("DELETE FROM pending WHERE tenant_id = ?", (tenant_id,))

    def add(self, tenant_id: str, conversation_id: str, generation: str, failed: bool = False) -> int:
        with self.lock:
            return int(self.conn.execute("INSERT INTO pending (tenant_id, conversation_id, generation, failed) VALUES (?, ?, ?, ?)",
                                         (tenant_id, conversation_id, generation, int(failed))).lastrowid)

    def done(self, row_id: int) -> None:
        with self.lock:
            self.conn.execute("DELETE FROM pending WHERE id = ?", (row_id,))

    def fail(self, row_id: int) -> None:
        with self.lock:
            self.conn.execute("UPDATE pending SET failed = 1 WHERE id = ?", (row_id,))

    def to_reconcile(self, generation: str) -> list[tuple[int, str, str]]:
        """Rows of earlier processes, failed rows, tenant backfills and rewrites: not owned by an in-flight write."""
        with self.lock:
            return self.conn.execute("SELECT id, tenant_id, conversation_id FROM pending WHERE generation != ? OR failed = 1 "
                                     "OR conversation_id IN (?, ?) ORDER BY id", (generation, ALL_CONVERSATIONS, COMPACT)).fetchall()

    def pending_count(self) -> int:
        with self.lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    def close(self) -> None:
        with self.lock:
            self.conn.close()
