"""Real PostgreSQL and MariaDB for the indexer tests: skipped locally when absent, a failure when CI=true."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("WEFT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("WEFT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def require(url: str, what: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        message = f"{what} is not reachable at {url}: {exc.__class__.__name__}: {str(exc)[:200]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the real database is required)")
        pytest.skip(message)
    return engine


def table_name(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
