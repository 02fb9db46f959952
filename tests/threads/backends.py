"""Database backends for the thread-store tests: SQLite always; PostgreSQL and MariaDB when reachable.

Locally an absent server skips its tests with the reason; with CI=true it fails them instead.
Each store gets a unique table prefix, so test runs can share one database.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from weft.threads.store import SqlThreadStore

PG_URL = os.environ.get("WEFT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("WEFT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
BACKENDS = ("sqlite", "postgresql", "mariadb")


def _reachable(url: str) -> str | None:
    try:
        engine = create_engine(url, pool_pre_ping=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


_checked: dict[str, str | None] = {}


def require_server(name: str, url: str) -> None:
    if url not in _checked:
        _checked[url] = _reachable(url)
    problem = _checked[url]
    if problem is None:
        return
    message = f"{name} is not reachable at {url} ({problem})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true requires every backend")
    pytest.skip(message)


def url_for(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'threads.sqlite3'}"
    if backend == "postgresql":
        require_server("PostgreSQL", PG_URL)
        return PG_URL
    require_server("MariaDB", MARIADB_URL)
    return MARIADB_URL


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}_"


def drop_store_tables(store: SqlThreadStore) -> None:
    """Closes the store too (its engine with it): its turn path and read-audit buffer hold connections of their own,
    which three test workers leaking them per test once pushed PostgreSQL past max_connections ("too many clients")."""
    store.tables.metadata.drop_all(store.engine)
    store.close()
