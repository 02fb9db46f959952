"""A turn's writes, as few and as cheap as they can be (the thread store's additions for weft.agents).

A model turn on a conversation (a response, a classic run) used to commit four times or more: take the
conversation's lease, append the input and output, release the lease, store the response or run record.
Here it commits twice, and only once durably:

* ``take_lease`` — the lease is taken in a transaction that is **not flushed to disk** before it returns
  (SQLite: ``PRAGMA synchronous=NORMAL`` for that one transaction, WAL mode: a process crash cannot lose
  it, a power cut can; PostgreSQL: ``synchronous_commit = off`` for that transaction: visible to every
  other session at once, lost only if the database server itself crashes within ~0.2 s). A lease only
  has to exclude other holders while its holder lives; a lost lease write is a lock that was never
  taken, and the holder's append, which presents the token (fencing), is then refused — nothing wrong
  is ever stored and nothing is stored twice. So the lease costs no fsync.
* ``commit_turn`` — after the model answered, ONE durable transaction: the buffered read-audit rows and
  the turn's audit rows, the conversation's counter bump that also **releases the lease** (the same
  ``UPDATE ... WHERE lock_token = :token``), the items with their consecutive sequence numbers, and the
  response or run record (inserted, or its state replaced). All or nothing: a failure leaves the
  conversation, its lease and the record as they were.
* ``renew_lease`` — the heartbeat (weft.threads.lease_keeper) moves a held lease's end while a long model
  call runs, so a lease can be short (``WEFT_CONVERSATION_LEASE_SECONDS``): a dead holder's lock ends
  a few seconds after its last beat.

SQLite and PostgreSQL only (the hot path's DB-API connections, weft.threads.hot_path); MariaDB/MySQL
go through the general store methods, one commit each (weft.threads.turns).
"""
from __future__ import annotations

from dataclasses import dataclass

from weft.errors import InvalidInput, NotFound
from weft.threads.hot_path import AUDIT_COLUMNS, ITEM_COLUMNS, audit_row, unavailable
from weft.threads.records import AuditRecord, ConversationRecord, NewItem

LOCKED_MESSAGE = "Another process is currently operating on this conversation. Please retry in a few seconds."


def conversation_locked() -> InvalidInput:
    """OpenAI's answer while another turn holds the conversation: 400 ``conversation_locked`` (a 409 would be
    retried by the SDKs), the same for ``/v1/responses``, item appends, runs and thread messages."""
    error = InvalidInput(LOCKED_MESSAGE, code="conversation_locked")
    error.param = "conversation"  # type: ignore[attr-defined]
    return error


@dataclass(frozen=True)
class RecordWrite:
    """The record a turn stores with its items: a new record (``create``) or a new state for an existing one."""

    record: ConversationRecord | None = None  # inserted (a stored response)
    update_id: str | None = None  # or: this record's extra body replaced (a run's state)
    extra_body: bytes | None = None


class _Missing(Exception):
    pass


class TurnStore:
    """The lease and the one-commit turn, on a ``SqlThreadStore`` with hot paths (SQLite, PostgreSQL)."""

    def __init__(self, store) -> None:
        self.store = store
        self.hot = store._hot
        self.backend = store.backend
        t = store.tables
        c, it, a = t.conversations.name, t.items.name, t.audit.name
        mark = "?" if self.backend == "sqlite" else "%s"
        self.mark = mark
        free = f"(lock_token IS NULL OR lock_until_ms < {mark})"
        self.take_sql = (f"UPDATE {c} SET lock_token = {mark}, lock_until_ms = {mark} "
                         f"WHERE id = {mark} AND tenant_id = {mark} AND {free}")
        self.exists_sql = f"SELECT 1 FROM {c} WHERE id = {mark} AND tenant_id = {mark}"
        self.renew_sql = f"UPDATE {c} SET lock_until_ms = {mark} WHERE id = {mark} AND lock_token = {mark}"
        self.release_sql = (f"UPDATE {c} SET lock_token = NULL, lock_until_ms = NULL "
                            f"WHERE id = {mark} AND tenant_id = {mark} AND lock_token = {mark}")
        self.bump_sql = (f"UPDATE {c} SET next_seq = next_seq + {mark}, item_count = item_count + {mark}, updated_at_ms = {mark}, "
                         f"lock_token = NULL, lock_until_ms = NULL "
                         f"WHERE id = {mark} AND tenant_id = {mark} AND lock_token = {mark} RETURNING next_seq")
        self.items_sql = f"INSERT INTO {it} ({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join(mark for _ in ITEM_COLUMNS)})"
        self.audit_sql = f"INSERT INTO {a} ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join(mark for _ in AUDIT_COLUMNS)})"
        record_columns = ("id", "tenant_id", "kind", "created_at_ms", "updated_at_ms", "metadata_body", "extra_body",
                          "next_seq", "item_count", "retention_seconds")
        self.record_sql = f"INSERT INTO {c} ({', '.join(record_columns)}) VALUES ({', '.join(mark for _ in record_columns)})"
        self.state_sql = f"UPDATE {c} SET extra_body = {mark}, updated_at_ms = {mark} WHERE id = {mark} AND tenant_id = {mark}"

    @staticmethod
    def supports(store) -> bool:
        return getattr(store, "_hot", None) is not None

    # ---- the lease -----------------------------------------------------------------------------------
    def take_lease(self, tenant_id: str, conversation_id: str, token: str, now_ms: int, until_ms: int) -> bool:
        """True when taken; False when another holder has it; NotFound for no such conversation."""
        params = (token, until_ms, conversation_id, tenant_id, now_ms)
        try:
            if self.backend == "sqlite":
                with self.store.sqlite_writer() as raw:
                    raw.execute("PRAGMA synchronous=NORMAL")  # outside a transaction, for this one commit only
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        try:
                            taken = raw.execute(self.take_sql, params).rowcount == 1
                            raw.execute("COMMIT")
                        except BaseException:
                            if raw.in_transaction:
                                raw.execute("ROLLBACK")
                            raise
                    finally:
                        raw.execute("PRAGMA synchronous=FULL")
                    found = taken or bool(raw.execute(self.exists_sql, (conversation_id, tenant_id)).fetchall())
            else:
                with self.hot.writers.connection(self.hot.broken) as raw:
                    with raw.transaction():
                        cursor = raw.cursor()
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                        taken = cursor.execute(self.take_sql, params).rowcount == 1
                        found = taken or cursor.execute(self.exists_sql, (conversation_id, tenant_id)).fetchone() is not None
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        if not found:
            raise NotFound(f"Conversation with id '{conversation_id}' not found.")
        return taken

    def renew_lease(self, conversation_id: str, token: str, until_ms: int) -> bool:
        """Moves the end of a lease this holder still has (not durable either: see the module docstring)."""
        params = (until_ms, conversation_id, token)
        try:
            if self.backend == "sqlite":
                with self.store.sqlite_writer() as raw:
                    raw.execute("PRAGMA synchronous=NORMAL")
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        renewed = raw.execute(self.renew_sql, params).rowcount == 1
                        raw.execute("COMMIT")
                    except BaseException:
                        if raw.in_transaction:
                            raw.execute("ROLLBACK")
                        raise
                    finally:
                        raw.execute("PRAGMA synchronous=FULL")
                return renewed
            with self.hot.writers.connection(self.hot.broken) as raw:
                with raw.transaction():
                    cursor = raw.cursor()
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    return cursor.execute(self.renew_sql, params).rowcount == 1
        except self.hot.broken as exc:
            raise unavailable(exc) from exc

    def release_lease(self, tenant_id: str, conversation_id: str, token: str) -> None:
        """Gives a lease back without a turn's commit (the turn failed or stored nothing); not durable: a lost
        release is a lease that ends at its time."""
        params = (conversation_id, tenant_id, token)
        try:
            if self.backend == "sqlite":
                with self.store.sqlite_writer() as raw:
                    raw.execute("PRAGMA synchronous=NORMAL")
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        raw.execute(self.release_sql, params)
                        raw.execute("COMMIT")
                    except BaseException:
                        if raw.in_transaction:
                            raw.execute("ROLLBACK")
                        raise
                    finally:
                        raw.execute("PRAGMA synchronous=FULL")
                return
            with self.hot.writers.connection(self.hot.broken) as raw:
                with raw.transaction():
                    cursor = raw.cursor()
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    cursor.execute(self.release_sql, params)
        except self.hot.broken as exc:
            raise unavailable(exc) from exc

    # ---- the one durable commit of a turn --------------------------------------------------------------
    def commit_turn(self, tenant_id: str, conversation_id: str | None, token: str | None, items: list[NewItem], now_ms: int,
                    audits: list[AuditRecord], record: RecordWrite | None) -> int:
        """Returns the first sequence number of ``items`` (0 when none). ``conversation_id`` with ``token``: the
        items are appended under the lease and the lease is released, in this transaction. Raises
        ``conversation_locked`` when the lease is no longer this holder's, NotFound when a target is gone."""
        pending = self.store.read_audit.take()  # buffered read-audit rows ride along
        rows = pending + [audit_row(a) for a in audits]
        try:
            if self.backend == "sqlite":
                with self.store.sqlite_writer() as raw:
                    raw.execute("BEGIN IMMEDIATE")
                    try:
                        first = self._statements(raw, raw.execute, raw.executemany, tenant_id, conversation_id, token, items,
                                                 now_ms, rows, record)
                        raw.execute("COMMIT")
                    except BaseException:
                        if raw.in_transaction:
                            raw.execute("ROLLBACK")
                        raise
            else:
                with self.hot.writers.connection(self.hot.broken) as raw:
                    with raw.transaction():
                        cursor = raw.cursor()
                        first = self._statements(raw, cursor.execute, cursor.executemany, tenant_id, conversation_id, token,
                                                 items, now_ms, rows, record)
        except _Missing as missing:
            self.store.read_audit.give_back(pending)
            self._explain(tenant_id, conversation_id, token, str(missing))
            raise AssertionError("unreachable")
        except self.hot.integrity as exc:
            self.store.read_audit.give_back(pending)
            from weft.errors import Conflict

            raise Conflict("An item or record with this id already exists.", code="item_exists") from exc
        except self.hot.broken as exc:
            self.store.read_audit.give_back(pending)
            raise unavailable(exc) from exc
        except BaseException:
            self.store.read_audit.give_back(pending)
            raise
        return first

    def _statements(self, raw, execute, executemany, tenant_id, conversation_id, token, items, now_ms, rows, record) -> int:
        if rows:
            executemany(self.audit_sql, rows)
        first = 0
        if conversation_id is not None and items:
            count = len(items)
            bumped = execute(self.bump_sql, (count, count, now_ms, conversation_id, tenant_id, token)).fetchall()
            if not bumped:
                raise _Missing("conversation")
            first = bumped[0][0] - count
            executemany(self.items_sql, [(conversation_id, first + n, it.id, tenant_id, it.type, it.role, it.created_at_ms or now_ms,
                                          it.body) for n, it in enumerate(items)])
        elif conversation_id is not None and token is not None:
            if execute(self.release_sql, (conversation_id, tenant_id, token)).rowcount != 1:
                raise _Missing("conversation")
        if record is not None and record.record is not None:
            r = record.record
            execute(self.record_sql, (r.id, r.tenant_id, r.kind, r.created_at_ms, r.updated_at_ms, r.metadata_body, r.extra_body,
                                      0, 0, r.retention_seconds))
        elif record is not None and record.update_id is not None:
            if execute(self.state_sql, (record.extra_body, now_ms, record.update_id, tenant_id)).rowcount != 1:
                raise _Missing("record:" + record.update_id)
        return first

    def _explain(self, tenant_id: str, conversation_id: str | None, token: str | None, what: str):
        if what.startswith("record:"):
            raise NotFound(f"Record with id '{what[7:]}' not found.")
        with self.store.engine.connect() as conn:
            found = conn.execute(self.store._statements["lock_of"], {"cid": conversation_id, "tid": tenant_id}).first()
        if found is None:
            raise NotFound(f"Conversation with id '{conversation_id}' not found.")
        raise conversation_locked()


def renew_lease_general(store, conversation_id: str, token: str, until_ms: int) -> bool:
    """``renew_lease`` through SQLAlchemy Core, for the backends without hot paths (MariaDB/MySQL)."""
    from sqlalchemy import update

    c = store.tables.conversations
    with store._write() as conn:
        return conn.execute(update(c).where(c.c.id == conversation_id, c.c.lock_token == token)
                            .values(lock_until_ms=until_ms)).rowcount == 1
