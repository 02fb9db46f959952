"""Versioned schema migrations, run on start (a small runner in the spirit of Alembic).

Each migration is a function taking a connection and the tables; they run in order inside one
transaction per step and record themselves in ``<prefix>threads_schema``. Add new steps at the end,
never edit an applied one.
"""
from __future__ import annotations

import time
from typing import Callable

from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from weft.threads.tables import ThreadTables


def _v1_initial(conn: Connection, tables: ThreadTables) -> None:
    for table in (tables.tenants, tables.conversations, tables.conversation_tags, tables.items,
                  tables.idempotency, tables.api_keys, tables.audit):
        table.create(conn, checkfirst=True)


def _v2_audit_request_id(conn: Connection, tables: ThreadTables) -> None:
    """Audit records keep the id of the HTTP request they were written for (a store made by migration 1 of an
    older weft has no such column; one made by today's migration 1 has it already)."""
    columns = {c["name"] for c in inspect(conn).get_columns(tables.audit.name)}
    if "request_id" not in columns:
        conn.execute(text(f"ALTER TABLE {tables.audit.name} ADD COLUMN request_id VARCHAR(64)"))


MIGRATIONS: list[tuple[int, str, Callable[[Connection, ThreadTables], None]]] = [
    (1, "tenants, conversations, items, idempotency keys, api keys, audit", _v1_initial),
    (2, "audit records keep their request id", _v2_audit_request_id),
]


def current_version(engine: Engine, tables: ThreadTables) -> int:
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, tables.schema_version.name):
            return 0
        versions = conn.execute(select(tables.schema_version.c.version)).scalars().all()
        return max(versions, default=0)


def migrate(engine: Engine, tables: ThreadTables, attempts: int = 3) -> list[int]:
    """Apply every migration not applied yet; returns the versions applied now.

    Two processes starting at once (a server and the CLI) may race on the DDL: the loser retries and
    then finds the steps already recorded.
    """
    for attempt in range(attempts):
        try:
            return _migrate_once(engine, tables)
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return []


def _migrate_once(engine: Engine, tables: ThreadTables) -> list[int]:
    with engine.begin() as conn:
        tables.schema_version.create(conn, checkfirst=True)
    applied: list[int] = []
    for version, _description, step in MIGRATIONS:
        with engine.begin() as conn:
            done = conn.execute(select(tables.schema_version.c.version).where(tables.schema_version.c.version == version)).first()
            if done:
                continue
            step(conn, tables)
            conn.execute(insert(tables.schema_version).values(version=version, applied_at_ms=int(time.time() * 1000)))
        applied.append(version)
    return applied
