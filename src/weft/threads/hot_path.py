"""The thread store's hot paths, on the DB-API connection directly (no SQLAlchemy statement machinery):
plain appends (no Idempotency-Key), newest-first item pages, and the buffer of read-audit records.

Appends keep every promise of the general path in ``store.py``: one committed transaction per
append, the conversation's ``next_seq`` counter bump (the row lock / SQLite write lock) before the
items get their consecutive sequence numbers, the append's audit row in the same transaction.

- **SQLite:** on the store's one writer connection, under the store's writer lock:
  ``BEGIN IMMEDIATE``; the buffered read-audit records and the append's audit row; the counter
  bump (``RETURNING next_seq``); the items; ``COMMIT``.
- **PostgreSQL:** ONE statement, sent in autocommit mode, so one round trip per append: a CTE bumps
  the counter, inserts the items from arrays (``unnest ... WITH ORDINALITY``) numbered from the
  bumped counter, and inserts the audit row only when the bump found the conversation. A
  statement is atomic, so a failed item insert undoes the bump and the audit row.
- MariaDB/MySQL use the general path.

Read-audit records (successful reads, when auditing reads is on) are buffered in memory and
written in batches: inside the next write transaction of this store (SQLite), else by a flusher
thread at most ``flush_interval`` seconds after the record was made, and at ``close()``. The record
is logged to ``weft.audit`` at once either way. What this means for durability: a successful
read's audit row is in the database within the flush interval (default 0.2 s) or with the next
write, whichever is first; a process killed with SIGKILL (or a power loss) in that window loses
those read-audit rows, never a write's (writes keep their audit row in their own transaction) and
never a failed or denied operation's (those are stored before the call returns).
"""
from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from weft.threads.records import AuditRecord, ItemRecord, NewItem

AUDIT_COLUMNS = ("at_ms", "tenant_id", "key_id", "operation", "conversation_id", "item_ids", "outcome", "detail", "request_id")
ITEM_COLUMNS = ("conversation_id", "seq", "id", "tenant_id", "type", "role", "created_at_ms", "body")


def audit_row(record: AuditRecord) -> tuple:
    return (record.at_ms, record.tenant_id, record.key_id, record.operation, record.conversation_id,
            json.dumps(record.item_ids) if record.item_ids else None, record.outcome, record.detail, record.request_id)


class AuditBuffer:
    """Read-audit records waiting to be stored; ``write(rows)`` stores a batch in one transaction.

    The flusher stores the buffer when its oldest record is ``flush_interval`` old (or the buffer holds
    ``max_pending``), not on a fixed beat: records that a write takes along within the interval (a turn's
    reads ride with its commit) never cost a transaction of their own."""

    def __init__(self, write: Callable[[list[tuple]], None], flush_interval: float = 0.2, max_pending: int = 2000,
                 idle_seconds: float = 5.0):
        self._write = write
        self._interval = flush_interval
        self._max = max_pending
        self._idle = idle_seconds  # an empty buffer's flusher ends after this long (the next record starts one)
        self._rows: list[tuple] = []
        self._since = 0.0  # time.monotonic() of the oldest record in the buffer
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def add(self, record: AuditRecord) -> None:
        row = audit_row(record)
        with self._lock:
            first = not self._rows
            if first:
                self._since = time.monotonic()
            self._rows.append(row)
            count = len(self._rows)
            started = self._thread is None and not self._stopping
            if started:
                self._thread = threading.Thread(target=self._run, name="weft-read-audit", daemon=True)
                self._thread.start()
        if count >= self._max:
            self._wake.set()
        # a first record wakes no thread: the flusher looks again at least every interval (it then waits out the
        # record's deadline), and a turn's write usually takes the record along well before

    def take(self) -> list[tuple]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows

    def give_back(self, rows: list[tuple]) -> None:
        if rows:
            with self._lock:
                if not self._rows:
                    self._since = time.monotonic()
                self._rows[:0] = rows

    def flush(self) -> None:
        rows = self.take()
        if not rows:
            return
        try:
            self._write(rows)
        except BaseException:
            self.give_back(rows)
            raise

    def _run(self) -> None:
        import logging

        log = logging.getLogger("weft.threads")
        backoff, failing = self._interval, False
        idle_since = 0.0
        while True:
            with self._lock:
                if self._stopping:
                    self._thread = None
                    return
                pending = bool(self._rows)
                now = time.monotonic()
                wait = (self._since + self._interval - now) if pending and len(self._rows) < self._max else 0.0
                if not pending:
                    idle_since = idle_since or now
                    wait = min(self._interval, idle_since + self._idle - now)  # looks again within the interval
                else:
                    idle_since = 0.0
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            if not pending:
                with self._lock:
                    if not self._rows:  # idle for idle_seconds: no thread until the next record
                        self._thread = None
                        return
                continue
            try:
                self.flush()
                backoff, failing = self._interval, False
            except Exception:  # the database is away: keep the rows, retry with a growing pause
                if not failing:
                    log.warning("could not store buffered read-audit records; retrying", exc_info=True)
                backoff, failing = min(backoff * 2, 5.0), True
                self._wake.wait(backoff)
                self._wake.clear()

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        if thread is not None:
            self._wake.set()
            thread.join(timeout=10)
        self.flush()


class RawConnections:
    """A free list of DB-API connections taken from the engine's pool (so its connect hooks ran),
    reused without a pool checkout: no pre-ping round trip, no reset. A connection that raised a
    database error is invalidated, never reused."""

    def __init__(self, engine, *, keep: int = 4, autocommit: bool = False):
        self.engine = engine
        self.keep = keep
        self.autocommit = autocommit
        self._idle: list = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self, broken: tuple[type[BaseException], ...]) -> Iterator[object]:
        with self._lock:
            proxy = self._idle.pop() if self._idle else None
        if proxy is None:
            proxy = self.engine.raw_connection()
            if self.autocommit:
                proxy.dbapi_connection.autocommit = True
        try:
            yield proxy.dbapi_connection
        except broken:
            proxy.invalidate()
            raise
        except BaseException:
            self._release(proxy)
            raise
        self._release(proxy)

    def _release(self, proxy) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.keep:
                self._idle.append(proxy)
                return
        proxy.invalidate()  # never hand an autocommit connection back to SQLAlchemy's pool

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for proxy in idle:
            proxy.invalidate()


def sqlite_append_sql(tables, held: bool) -> str:
    c = tables.conversations.name
    lock = "lock_token = :token" if held else "(lock_token IS NULL OR lock_until_ms < :now)"
    # updated_at_ms is not in this SET: it is indexed, and SQLite rewrites an index's entry (a page in every
    # commit's WAL) whenever its column is assigned, even to the same value. It moves in a second statement,
    # only when it is a second old (as on PostgreSQL, postgres_append_sql): see HotPaths._sqlite_append.
    return (f"UPDATE {c} SET next_seq = next_seq + :count, item_count = item_count + :count "
            f"WHERE id = :cid AND tenant_id = :tid AND {lock} RETURNING next_seq, updated_at_ms")


def sqlite_touch_sql(tables) -> str:
    return f"UPDATE {tables.conversations.name} SET updated_at_ms = ? WHERE id = ?"


def insert_sql(table, columns: tuple[str, ...], style: str) -> str:
    marks = ", ".join("?" for _ in columns) if style == "qmark" else ", ".join("%s" for _ in columns)
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"


def postgres_append_sql(tables, held: bool, single: bool) -> str:
    """``single``: one item as scalar parameters (cheaper to send than arrays).

    ``updated_at_ms`` moves only when it is at least a second old: it is indexed (retention's idle
    clock), so changing it on every append would make every append a non-HOT update writing a new
    entry in each of the conversation's indexes. Retention counts in seconds, so 1 s is below its
    resolution; ``next_seq`` and ``item_count`` are not indexed.

    ``tenant_id || ''`` keeps the tenant's indexes out of the plan: the row is found by its primary key,
    never by scanning the tenant's conversations (which a plan made before the table has statistics
    would do, growing with the tenant's conversations)."""
    c, it, a = tables.conversations.name, tables.items.name, tables.audit.name
    lock = "lock_token = %(token)s" if held else "(lock_token IS NULL OR lock_until_ms < %(now)s)"
    if single:
        rows = "SELECT %(cid)s, bump.next_seq - 1, %(id)s, %(tid)s, %(type)s, %(role)s, %(created)s, %(body)s FROM bump"
    else:
        rows = (f"SELECT %(cid)s, bump.next_seq - %(count)s + v.n - 1, v.id, %(tid)s, v.type, v.role, v.created, v.body "
                f"FROM bump, unnest(%(ids)s::text[], %(types)s::text[], %(roles)s::text[], %(created)s::bigint[], %(bodies)s::bytea[]) "
                f"WITH ORDINALITY AS v(id, type, role, created, body, n)")
    return (
        f"WITH bump AS (UPDATE {c} SET next_seq = next_seq + %(count)s, item_count = item_count + %(count)s, "
        f"updated_at_ms = CASE WHEN updated_at_ms <= %(now)s - 1000 THEN %(now)s ELSE updated_at_ms END "
        f"WHERE id = %(cid)s AND tenant_id || '' = %(tid)s AND {lock} RETURNING next_seq), "
        f"added AS (INSERT INTO {it} ({', '.join(ITEM_COLUMNS)}) {rows} RETURNING 1), "
        f"audited AS (INSERT INTO {a} ({', '.join(AUDIT_COLUMNS)}) "
        f"SELECT {', '.join(f'%(a{n})s' for n in range(len(AUDIT_COLUMNS)))} FROM bump WHERE %(audit)s RETURNING 1) "
        f"SELECT next_seq FROM bump")


def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``%(name)s`` placeholders as ``$1..$n`` (each name once), and the names in that order."""
    names: list[str] = []

    def number(match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), tuple(names)


def newest_items_sql(tables, descending: bool, limited: bool, style: str) -> str:
    it = tables.items.name
    mark = "?" if style == "qmark" else "%s"
    sql = (f"SELECT {', '.join(ITEM_COLUMNS)} FROM {it} WHERE conversation_id = {mark} AND tenant_id = {mark} "
           f"ORDER BY seq {'DESC' if descending else 'ASC'}")
    return sql + f" LIMIT {mark}" if limited else sql


def conversation_exists_sql(tables, style: str) -> str:
    mark = "?" if style == "qmark" else "%s"
    return f"SELECT 1 FROM {tables.conversations.name} WHERE id = {mark} AND tenant_id = {mark}"


def item_records(rows) -> list[ItemRecord]:
    return [ItemRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7])) for r in rows]


def new_item_records(tenant_id: str, conversation_id: str, first_seq: int, items: list[NewItem], now_ms: int) -> list[ItemRecord]:
    return [ItemRecord(conversation_id, first_seq + n, it.id, tenant_id, it.type, it.role, it.created_at_ms or now_ms, it.body)
            for n, it in enumerate(items)]


try:
    from psycopg import RawCursor
except ImportError:  # pragma: no cover - psycopg is a dependency; only PostgreSQL uses it
    RawCursor = None  # type: ignore[assignment,misc]


_PG_TYPES = {"count": 20, "now": 20, "created": 20, "a0": 20, "audit": 16, "body": 17}  # int8, bool, bytea; the rest inferred


class _NotBumped(Exception):
    """The counter bump matched no row: the conversation is missing or locked by another holder."""


class HotPaths:
    """The fast appends and item pages of one ``SqlThreadStore`` (SQLite and PostgreSQL)."""

    def __init__(self, store) -> None:
        self.store = store
        self.backend = store.backend
        dbapi = store.engine.dialect.dbapi
        self.broken: tuple[type[BaseException], ...] = (dbapi.OperationalError, dbapi.InterfaceError)
        self.integrity = dbapi.IntegrityError
        self.style = "qmark" if self.backend == "sqlite" else "format"
        tables = store.tables
        self.readers = RawConnections(store.engine, keep=4, autocommit=self.backend == "postgresql")
        self.writers = RawConnections(store.engine, keep=16, autocommit=True) if self.backend == "postgresql" else None
        if self.backend == "sqlite":
            self.append_sql = {False: sqlite_append_sql(tables, False), True: sqlite_append_sql(tables, True)}
            self.touch_sql = sqlite_touch_sql(tables)
        else:
            # positional ($n) statements run on a RawCursor: no per-call placeholder rewriting
            self.append_sql = {(held, single): positional(postgres_append_sql(tables, held, single))
                               for held in (False, True) for single in (False, True)}
            # one item (the usual append): the statement prepared per connection and run at the libpq level
            from weft.threads.pg_prepared import PreparedStatement

            self.append_one = {held: PreparedStatement(self.append_sql[(held, True)][0],
                                                       tuple(_PG_TYPES.get(n, 0) for n in self.append_sql[(held, True)][1]))
                               for held in (False, True)}
        self.items_sql = insert_sql(tables.items, ITEM_COLUMNS, self.style)
        self.audit_sql = insert_sql(tables.audit, AUDIT_COLUMNS, self.style)
        self.newest_sql = {(d, lim): newest_items_sql(tables, d, lim, self.style) for d in (False, True) for lim in (False, True)}
        self.exists_sql = conversation_exists_sql(tables, self.style)

    @staticmethod
    def supports(backend: str) -> bool:
        return backend in ("sqlite", "postgresql")

    # ---- appends ------------------------------------------------------------------------------------
    def append(self, tenant_id: str, conversation_id: str, items: list[NewItem], now_ms: int, lock_token: str | None,
               audit: AuditRecord | None) -> list[ItemRecord]:
        from weft.errors import Conflict

        try:
            if self.backend == "sqlite":
                first = self._sqlite_append(tenant_id, conversation_id, items, now_ms, lock_token, audit)
            else:
                first = self._postgres_append(tenant_id, conversation_id, items, now_ms, lock_token, audit)
        except _NotBumped:
            self._explain_failed_bump(tenant_id, conversation_id)
            raise
        except self.integrity as exc:
            raise Conflict("An item with one of these ids already exists.", code="item_exists") from exc
        except self.broken as exc:
            raise unavailable(exc) from exc
        return new_item_records(tenant_id, conversation_id, first, items, now_ms)

    def _explain_failed_bump(self, tenant_id: str, conversation_id: str) -> None:
        """After a counter bump that matched nothing: NotFound, or Conflict when another holder has the lock."""
        from weft.errors import NotFound
        from weft.threads.turn_store import conversation_locked

        with self.store.engine.connect() as conn:
            found = conn.execute(self.store._statements["lock_of"], {"cid": conversation_id, "tid": tenant_id}).first()
        if found is None:
            raise NotFound(f"Conversation with id '{conversation_id}' not found.")
        raise conversation_locked()  # OpenAI's 400 (weft.threads.turn_store)

    def _sqlite_append(self, tenant_id, conversation_id, items, now_ms, lock_token, audit) -> int:
        store = self.store
        count = len(items)
        params = {"cid": conversation_id, "tid": tenant_id, "count": count, "now": now_ms}
        if lock_token is not None:
            params["token"] = lock_token
        with store.sqlite_writer() as raw:
            pending = store.read_audit.take()
            try:
                raw.execute("BEGIN IMMEDIATE")
                try:
                    audits = pending + [audit_row(audit)] if audit is not None else pending
                    if audits:
                        raw.executemany(self.audit_sql, audits)
                    bumped = raw.execute(self.append_sql[lock_token is not None], params).fetchall()
                    if not bumped:
                        raise _NotBumped()
                    first = bumped[0][0] - count
                    if bumped[0][1] <= now_ms - 1000:
                        raw.execute(self.touch_sql, (now_ms, conversation_id))
                    raw.executemany(self.items_sql, [
                        (conversation_id, first + n, it.id, tenant_id, it.type, it.role, it.created_at_ms or now_ms, it.body)
                        for n, it in enumerate(items)])
                    raw.execute("COMMIT")
                except BaseException:
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                    raise
            except BaseException:
                store.read_audit.give_back(pending)
                raise
        return first

    def _postgres_append(self, tenant_id, conversation_id, items, now_ms, lock_token, audit) -> int:
        count = len(items)
        row = audit_row(audit) if audit is not None else (None,) * len(AUDIT_COLUMNS)
        params = {"cid": conversation_id, "tid": tenant_id, "count": count, "now": now_ms, "token": lock_token,
                  "audit": audit is not None, **{f"a{n}": value for n, value in enumerate(row)}}
        if count == 1:
            it = items[0]
            params.update(id=it.id, type=it.type, role=it.role, created=it.created_at_ms or now_ms, body=it.body)
            held = lock_token is not None
            names = self.append_sql[(held, True)][1]
            with self.writers.connection(self.broken) as raw:
                found = self.append_one[held].first_value(raw, tuple(params[n] for n in names))
            if found is None:
                raise _NotBumped()
            return int(found) - count
        else:
            params.update(ids=[it.id for it in items], types=[it.type for it in items], roles=[it.role for it in items],
                          created=[it.created_at_ms or now_ms for it in items], bodies=[it.body for it in items])
        assert self.writers is not None
        sql, names = self.append_sql[(lock_token is not None, count == 1)]
        with self.writers.connection(self.broken) as raw:
            found = RawCursor(raw).execute(sql, tuple(params[n] for n in names)).fetchone()
        if found is None:
            raise _NotBumped()
        return found[0] - count

    # ---- newest-first (or oldest-first) pages without a cursor ----------------------------------------
    def items_page(self, tenant_id: str, conversation_id: str, limit: int | None, descending: bool) -> tuple[list[ItemRecord], bool]:
        from weft.errors import NotFound

        params: tuple = (conversation_id, tenant_id) if limit is None else (conversation_id, tenant_id, limit + 1)
        try:
            with self.readers.connection(self.broken) as raw:
                rows = raw.execute(self.newest_sql[(descending, limit is not None)], params).fetchall()
                if not rows and not raw.execute(self.exists_sql, (conversation_id, tenant_id)).fetchall():
                    raise NotFound(f"Conversation with id '{conversation_id}' not found.")
        except self.broken as exc:
            raise unavailable(exc) from exc
        if limit is None:
            return item_records(rows), False
        return item_records(rows[:limit]), len(rows) > limit

    def write_audit_rows(self, rows: list[tuple]) -> None:
        """One transaction storing buffered read-audit rows (the flusher thread and ``close``)."""
        try:
            if self.backend == "sqlite":
                with self.store.sqlite_writer() as raw:
                    raw.execute("BEGIN IMMEDIATE")
                    try:
                        raw.executemany(self.audit_sql, rows)
                        raw.execute("COMMIT")
                    except BaseException:
                        if raw.in_transaction:
                            raw.execute("ROLLBACK")
                        raise
            else:
                assert self.writers is not None
                with self.writers.connection(self.broken) as raw:
                    with raw.transaction():
                        raw.cursor().executemany(self.audit_sql, rows)
        except self.broken as exc:
            raise unavailable(exc) from exc

    def close(self) -> None:
        self.readers.close()
        if self.writers is not None:
            self.writers.close()


def unavailable(exc: BaseException):
    from weft.errors import Unavailable

    return Unavailable(f"The thread database is unavailable ({type(exc).__name__}); "
                       "retry the request (appends: with the same Idempotency-Key).", code="database_unavailable")
