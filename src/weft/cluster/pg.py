"""The cluster's PostgreSQL: connections, the schema of the search tables, and the commit-ordered change log.

The URL is libpq's (``postgresql://user@host1:5432,host2:5433/db?target_session_attrs=read-write``, several hosts
and the session attribute as the threads store takes them) or SQLAlchemy's spelling of it (``postgresql+psycopg://``,
the driver part is dropped). Connections are kept in a small pool; one that failed is thrown away, so after a
failover the next connection goes to whichever host libpq finds writable.

The change log (``weft_search_log``) is the order every node applies changes in. A position is taken from a
sequence while holding one transaction-level advisory lock (``LOG_LOCK``), as the last statement before the commit:
writers therefore commit in position order, and a reader that sees position n also sees every committed position
below n (the lock is released only after the commit is visible). A gap below the highest visible position is a
rolled-back transaction and stays a gap for ever, so a follower never waits on it and never skips a late commit.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from typing import Iterator

import psycopg
import psycopg.errors

from weft.errors import Unavailable
from weft.pg_urls import to_libpq

log = logging.getLogger(__name__)

PREFIX = "weft_search_"
LOG_LOCK = 0x77656674_0001  # pg_advisory_xact_lock key: writers of the change log, one at a time
SCHEMA_LOCK = 0x77656674_0002  # creating the tables (nodes starting together)
CHANNEL = "weft_search_log"  # NOTIFY channel; the payload is the position
POOL_SIZE = 8
STALE_SECONDS = 5.0

SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS {PREFIX}indexes (
        name text PRIMARY KEY, uid uuid NOT NULL, definition text NOT NULL, etag text NOT NULL,
        internal boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now())""",
    f"CREATE TABLE IF NOT EXISTS {PREFIX}synonym_maps (name text PRIMARY KEY, definition text NOT NULL, etag text NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {PREFIX}aliases (name text PRIMARY KEY, definition text NOT NULL, etag text NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {PREFIX}settings (name text PRIMARY KEY, value text NOT NULL)",
    # the documents of record: the canonical source (vectors included) of every document, keyed by the index's
    # incarnation (a deleted and re-created index starts empty) and the document key
    f"""CREATE TABLE IF NOT EXISTS {PREFIX}documents (
        index_uid uuid NOT NULL, key text NOT NULL, source bytea NOT NULL, PRIMARY KEY (index_uid, key))""",
    # the sealed fields of a document of an index with sealed_for (weft.cluster.sealing); NULL for every other
    f"ALTER TABLE {PREFIX}documents ADD COLUMN IF NOT EXISTS sealed bytea",
    f"CREATE SEQUENCE IF NOT EXISTS {PREFIX}position",
    # one row per committed change: a document batch (the keys it touched) or a catalog change (kind, name)
    f"""CREATE TABLE IF NOT EXISTS {PREFIX}log (
        position bigint PRIMARY KEY, kind text NOT NULL, name text NOT NULL, index_uid uuid, keys text[],
        committed_at timestamptz NOT NULL DEFAULT clock_timestamp())""",
]


def wait_for_primary(url: str, wait_seconds: float, *, step: float = 1.0) -> None:
    """Waits, at most ``wait_seconds``, until the cluster database has a writable primary to connect to: a node that
    starts during a failover (the old primary gone, the standby not promoted yet) or before its database comes up
    waits for it instead of exiting. Raises ``Unavailable`` naming what was last seen when the time is up."""
    target = libpq_url(url)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    said = 0.0
    while True:
        try:
            with psycopg.connect(target, autocommit=True, connect_timeout=max(1, int(min(5.0, max(1.0, wait_seconds))))) as conn:
                in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            if not in_recovery:
                return
            last = "the server is a standby (in recovery)"
        except psycopg.Error as exc:
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        now = time.monotonic()
        if now >= deadline:
            raise Unavailable(f"The cluster database has no writable primary after waiting {wait_seconds:g} s "
                              f"(cluster.start_wait_seconds): {last}")
        if now - said >= 5.0:
            log.warning("waiting for the cluster database's primary (%s); giving up in %.0f s", last, deadline - now)
            said = now
        time.sleep(min(step, max(0.0, deadline - now)))


def libpq_url(url: str) -> str:
    """The cluster URL as libpq's, in either spelling of a host list (``weft.pg_urls``)."""
    try:
        return to_libpq(url)
    except ValueError:
        raise ValueError(f"cluster.url must be a PostgreSQL URL, not {url.partition('://')[0]}://") from None


class Database:
    """A small pool of autocommit-off psycopg connections to the cluster database."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE, connect_timeout: float = 10.0):
        self.url = libpq_url(url)
        self.connect_timeout = connect_timeout
        self._idle: queue.LifoQueue[tuple[psycopg.Connection, float]] = queue.LifoQueue()
        self._pool_size = pool_size
        self._closed = False
        self._lock = threading.Lock()

    def connect(self, *, autocommit: bool = False, **options) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=autocommit, **{**self._connect_options, **options})

    @property
    def _connect_options(self) -> dict:
        # a primary that vanishes without closing its sockets (a host or network failure, not a stop) must not hang
        # a request, the apply loop or the LISTEN connection for the kernel's TCP timeout (minutes): keepalives and
        # a TCP user timeout bound it to ~10 s; settings in the URL win
        options = {"connect_timeout": int(self.connect_timeout), "keepalives": 1, "keepalives_idle": 5,
                   "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 10_000}
        return {k: v for k, v in options.items() if k not in self.url}

    def _drain(self) -> None:
        """Closes every idle connection: after one failed, the others went to the same (gone) server."""
        while True:
            try:
                conn, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(Exception):
                conn.close()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection inside one transaction: committed when the block ends, rolled back on an error."""
        conn = None
        while conn is None:
            try:
                conn, returned = self._idle.get_nowait()
            except queue.Empty:
                break
            if time.monotonic() - returned > STALE_SECONDS:  # idle a while: the server may have closed it (a restart)
                try:
                    conn.execute("SELECT 1")
                    conn.commit()
                except psycopg.Error:
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
        if conn is None:
            try:
                conn = self.connect()
            except psycopg.OperationalError as exc:
                log.warning("cannot connect to the cluster database: %s", exc)
                raise NotReady("The cluster database cannot be reached; retry shortly.", retry_after=1) from None
        try:
            with conn.transaction():
                yield conn
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            raise  # the caller retries the transaction
        except psycopg.OperationalError as exc:  # the server went away (a failover, a restart): a 503, never a 500
            conn = None if conn.closed or conn.broken else conn
            if conn is None:  # the server went away: so did the idle connections to it (after a failover the next
                self._drain()  # requests connect to the new primary instead of each failing on a dead one)
            log.warning("the cluster database failed during a transaction: %s", exc)
            raise NotReady("The cluster database failed during the request; it may not have been applied: retry it.",
                           retry_after=1) from None
        except BaseException:
            if conn.closed or conn.broken:
                conn = None
            raise
        finally:
            if conn is not None:
                if self._closed or self._idle.qsize() >= self._pool_size or conn.closed:
                    with contextlib.suppress(Exception):
                        conn.close()
                else:
                    self._idle.put((conn, time.monotonic()))

    def create_schema(self) -> None:
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in SCHEMA:
                conn.execute(statement)

    def close(self) -> None:
        self._closed = True
        self._drain()


def append_log(conn: psycopg.Connection, kind: str, name: str, index_uid=None, keys: list[str] | None = None) -> int:
    """Takes the log lock, appends one change and asks for a wake-up of the followers; returns its position.

    Call it as the last statement of the transaction: the lock is held until the commit."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK,))
    position = conn.execute(
        f"INSERT INTO {PREFIX}log (position, kind, name, index_uid, keys) VALUES (nextval('{PREFIX}position'), %s, %s, %s, %b) "
        "RETURNING position", (kind, name, index_uid, keys),
    ).fetchone()[0]
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(position)))
    return position


def newest_position(conn: psycopg.Connection) -> int:
    row = conn.execute(f"SELECT max(position) FROM {PREFIX}log").fetchone()
    return int(row[0] or 0)


class NotReady(Unavailable):
    """A 503 with Retry-After: the cluster database is unreachable, or this node cannot answer for an index yet."""

    def __init__(self, message: str, *, retry_after: float = 1.0, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after + 0.999))
