"""Engines for the thread store: SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE), PostgreSQL, MariaDB/MySQL."""
from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_OPTION = "weft_sqlite_begin"  # execution option: "IMMEDIATE" for write transactions


def make_engine(url: str, *, pool_size: int = 8, max_overflow: int = 40) -> Engine:
    from weft.pg_urls import to_sqlalchemy

    url = to_sqlalchemy(url)  # libpq's host list (h1:p1,h2:p2) as SQLAlchemy's repeated host=
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None},
                               pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=False)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA secure_delete=ON")  # deleted content is overwritten in the file, not left in free pages
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            # Writers take the write lock up front (BEGIN IMMEDIATE: no deadlock between two readers
            # upgrading to writers); readers begin a deferred transaction and never block writers (WAL).
            mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if backend == "postgresql" and parsed.get_driver_name() in ("", "psycopg2") and "+" not in parsed.drivername:
        url = parsed.set(drivername="postgresql+psycopg")
    if backend in ("mysql", "mariadb") and "+" not in parsed.drivername:
        url = parsed.set(drivername=f"{backend}+pymysql")
    kwargs = {}
    if backend in ("mysql", "mariadb"):
        kwargs["isolation_level"] = "READ COMMITTED"
        kwargs["pool_recycle"] = 3600
    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, **kwargs)


def backend_name(engine: Engine) -> str:
    return engine.dialect.name
