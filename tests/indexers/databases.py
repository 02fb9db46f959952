"""Real PostgreSQL and MariaDB for the indexer tests: skipped locally when absent, a failure when CI=true."""
from __future__ import annotations

import datetime as dt
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


def settle(kind: str, url: str, timeout: float = 60.0) -> None:
    """Wait until every transaction open now has ended (other tests may hold some), plus MariaDB's
    2 s fence margin: after this, an indexer run sees everything committed before the call."""
    import time

    if kind not in ("postgresql", "mysql"):
        return
    engine = sa.create_engine(url)
    try:
        deadline = time.monotonic() + timeout
        with engine.connect() as conn:
            if kind == "postgresql":
                conn.execute(sa.text("COMMIT"))
                mark = int(conn.execute(sa.text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())
                conn.execute(sa.text("COMMIT"))
                while time.monotonic() < deadline:
                    oldest = int(conn.execute(sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one())
                    conn.execute(sa.text("COMMIT"))
                    if oldest > mark:
                        return
                    time.sleep(0.05)
            else:
                # The run's ceiling is min(its NOW(6), the start of every writer open then) minus 2 s. So the margin
                # passes first, and then no writer may be open that started less than 2 s after the mark: a writer of
                # another test that started within those 2 s would hold the run's ceiling below this test's rows
                # (they would come with the next run, which is right, but not with the run the test makes).
                # trx_started has whole seconds: a writer that starts at w shows as late as w - 1 s and holds the
                # ceiling at w - 3 s. So the call returns no sooner than 3 s after the mark, or a writer of another
                # test starting just after the return could still hold the run's ceiling below the mark.
                mark = conn.execute(sa.text("SELECT NOW(6)")).scalar_one()
                conn.execute(sa.text("COMMIT"))
                earliest_return = time.monotonic() + 3.05
                time.sleep(2.05)
                floor = mark + dt.timedelta(seconds=2.05)
                while time.monotonic() < deadline:
                    time.sleep(0.15)  # INNODB_TRX is a cache refreshed only after 0.1 s without readers
                    oldest = conn.execute(sa.text(
                        "SELECT MIN(trx_started) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id <> CONNECTION_ID() "
                        "AND (trx_rows_modified > 0 OR trx_query IS NOT NULL OR trx_state <> 'RUNNING')")).scalar_one()
                    conn.execute(sa.text("COMMIT"))
                    if oldest is None or oldest > floor:
                        # the run's own read of the list then finds it refreshed
                        time.sleep(max(0.15, earliest_return - time.monotonic()))
                        return
        with engine.connect() as conn:
            if kind == "postgresql":
                held = conn.execute(sa.text("SELECT pid, datname, xact_start, state, left(query, 100) FROM pg_stat_activity WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL")).all()
            else:
                held = conn.execute(sa.text("SELECT trx_mysql_thread_id, trx_started, trx_state, left(trx_query, 100) FROM information_schema.INNODB_TRX")).all()
        raise AssertionError(f"{kind}: transactions older than the test's writes stayed open for {timeout}s: {held}")
    finally:
        engine.dispose()
