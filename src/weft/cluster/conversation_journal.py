"""Conversation search's opted-in tenants and intent journal in the cluster database: the same methods as the
per-node SQLite sidecar (``weft.threads.search_journal._Journal``), shared by every node.

- ``weft_cs_tenants``: a tenant opted in on any node is opted in on all; every node reads the row before a write of
  that tenant (``tenant()``), so a write on node 2 just after an opt-in on node 1 gets its intent row.
- ``weft_cs_pending``: the intent rows, with ``created_at`` on the database's clock. The node that took a write
  follows it in its index itself and removes the row; everything else — tenant backfills, failed rows, rewrites,
  and rows of other processes — is done by the one node holding the ``conversation-search`` lease
  (``weft.threads.search_index``). A row of another process is taken only once it is ``GRACE_SECONDS`` old:
  younger, it may belong to a write still in flight on a live node (whose own follow-up removes it); older, its
  node died between the store commit and the index write, and the lease holder re-synchronises the conversation.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from weft.threads.search_journal import ALL_CONVERSATIONS, COMPACT, TenantConfig

T = "weft_cs_"
GRACE_SECONDS = 30.0
_SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS {T}tenants (tenant_id TEXT PRIMARY KEY, index_name TEXT NOT NULL UNIQUE, vectorizer TEXT,
        dimensions INTEGER)""",
    f"""CREATE TABLE IF NOT EXISTS {T}pending (id BIGSERIAL PRIMARY KEY, tenant_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
        generation TEXT NOT NULL, failed BOOLEAN NOT NULL DEFAULT false, created_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
]


class PgConversationJournal:
    shared = True  # every node sees the same rows: the conversation index consults it, not its cache, before a write

    def __init__(self, engine: Engine, box: Any = None, *, grace_seconds: float = GRACE_SECONDS):
        from weft.cluster.stores import _create

        self.engine = engine
        self.box = box
        self.grace_seconds = grace_seconds
        _create(engine, _SCHEMA)

    # ---- tenants ------------------------------------------------------------------------------------
    def _config(self, row) -> TenantConfig:
        vectorizer = json.loads(row[2]) if row[2] else None
        if vectorizer is not None and self.box is not None:
            from weft.search.vectorizer_secrets import unseal

            vectorizer = unseal({"vectorSearch": {"vectorizers": [vectorizer]}}, self.box)[0]["vectorSearch"]["vectorizers"][0]
        return TenantConfig(row[0], row[1], vectorizer, row[3])

    def tenants(self) -> dict[str, TenantConfig]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT tenant_id, index_name, vectorizer, dimensions FROM {T}tenants")).fetchall()
        return {r[0]: self._config(r) for r in rows}

    def tenant(self, tenant_id: str) -> TenantConfig | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT tenant_id, index_name, vectorizer, dimensions FROM {T}tenants WHERE tenant_id = :t"),
                               {"t": tenant_id}).fetchone()
        return None if row is None else self._config(row)

    def put_tenant(self, config: TenantConfig) -> None:
        vectorizer = config.vectorizer
        if vectorizer is not None and self.box is not None:
            from weft.search.vectorizer_secrets import seal

            vectorizer = seal({"vectorSearch": {"vectorizers": [vectorizer]}}, self.box)["vectorSearch"]["vectorizers"][0]
        with self.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO {T}tenants (tenant_id, index_name, vectorizer, dimensions) VALUES (:t, :i, :v, :d) "
                              "ON CONFLICT (tenant_id) DO UPDATE SET index_name = excluded.index_name, vectorizer = excluded.vectorizer, "
                              "dimensions = excluded.dimensions"),
                         {"t": config.tenant_id, "i": config.index_name, "v": json.dumps(vectorizer) if vectorizer else None,
                          "d": config.dimensions})

    def delete_tenant(self, tenant_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {T}tenants WHERE tenant_id = :t"), {"t": tenant_id})
            conn.execute(text(f"DELETE FROM {T}pending WHERE tenant_id = :t"), {"t": tenant_id})

    # ---- intent rows --------------------------------------------------------------------------------
    def add(self, tenant_id: str, conversation_id: str, generation: str, failed: bool = False) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(text(f"INSERT INTO {T}pending (tenant_id, conversation_id, generation, failed) "
                                         "VALUES (:t, :c, :g, :f) RETURNING id"),
                                    {"t": tenant_id, "c": conversation_id, "g": generation, "f": bool(failed)}).scalar_one())

    def done(self, row_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {T}pending WHERE id = :i"), {"i": row_id})

    def fail(self, row_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"UPDATE {T}pending SET failed = true WHERE id = :i"), {"i": row_id})

    def to_reconcile(self, generation: str) -> list[tuple[int, str, str]]:
        """Failed rows, backfills and rewrites, and rows of other processes old enough that no write owns them."""
        with self.engine.connect() as conn:
            rows = conn.execute(text(
                f"SELECT id, tenant_id, conversation_id FROM {T}pending WHERE failed OR conversation_id IN (:all, :compact) "
                "OR (generation <> :g AND created_at < now() - make_interval(secs => :grace)) ORDER BY id"),
                {"g": generation, "all": ALL_CONVERSATIONS, "compact": COMPACT, "grace": self.grace_seconds}).fetchall()
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {T}pending")).scalar_one())

    def close(self) -> None:
        pass  # the engine is the node's
