"""SqlThreadStore: the SQL implementation (SQLAlchemy Core) of the ThreadStore protocol
(:mod:`weft.threads.store_records`, with the row-to-record mapping).

Appends never read-modify-write a whole thread: one transaction bumps the conversation's
``next_seq`` counter (which also row-locks the conversation on PostgreSQL/MariaDB and holds the
write lock on SQLite), checks the idempotency key, inserts the new rows with consecutive sequence
numbers and commits. A rollback undoes the counter too, so the sequence stays gapless.
"""
from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from weft.errors import Conflict, NotFound
from weft.threads.database import SQLITE_BEGIN_OPTION, make_engine
from weft.threads.hot_path import AuditBuffer, HotPaths
from weft.threads.migrations import migrate
from weft.threads.records import (ApiKeyRecord, AppendResult, AuditRecord, ConversationPage, ConversationRecord, ItemPage, ItemRecord,
                                 NewItem, TenantRecord)
from weft.threads.store_records import (  # noqa: F401 - ThreadStore is imported from here by the service
    ThreadStore,
    _api_key,
    _conversation,
    _database_errors_as_unavailable,
    _item,
    _Replayed,
    _tenant,
)
from weft.threads.tables import ThreadTables, build_tables


INTERNAL_KINDS = ("binding", "response", "assistant", "run", "agent")  # never listed as conversations or threads
_AUDIT_KEYS = ("at_ms", "tenant_id", "key_id", "operation", "conversation_id", "item_ids", "outcome", "detail", "request_id")  # conversation rows weft uses for its own bookkeeping


_UNSET = ...


class SqlThreadStore:
    """The SQL implementation of :class:`ThreadStore` (SQLite, PostgreSQL, MariaDB/MySQL)."""

    def __init__(self, url: str, *, table_prefix: str = "weft_", engine: Engine | None = None):
        self.engine = engine or make_engine(url)
        self.tables: ThreadTables = build_tables(table_prefix)
        self.backend = self.engine.dialect.name
        # SQLite has one writer at a time; queueing writers of this process on a lock is fairer and
        # faster than letting them spin on SQLITE_BUSY. Other processes still wait via busy_timeout.
        self._sqlite_writer = threading.Lock() if self.backend == "sqlite" else None
        self._sqlite_connection: Connection | None = None
        self._writer_engine = self.engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        migrate(self._writer_engine, self.tables)
        self._statements = self._append_statements()
        self._audit_insert = insert(self.tables.audit)
        # plain appends and cursor-less item pages skip SQLAlchemy's statement machinery (hot_path.py)
        self._hot = HotPaths(self) if HotPaths.supports(self.backend) else None
        self.read_audit = AuditBuffer(self._hot.write_audit_rows if self._hot else self._write_audit_rows)
        from weft.threads.turn_store import TurnStore  # a turn's lease and one commit, and raw reads (turn_store.py)

        self.turns = TurnStore(self) if self._hot is not None else None

    # ---- plumbing ----------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with _database_errors_as_unavailable():
            with self._write_transaction() as conn:
                yield conn

    @contextmanager
    def _write_transaction(self) -> Iterator[Connection]:
        if self._sqlite_writer is None:
            with self._writer_engine.begin() as conn:
                yield conn
                self._store_buffered_audit(conn)
            return
        with self._sqlite_writer:
            # one long-lived writer connection (SQLite has a single writer anyway): no pool checkout
            # and reset per write
            if self._sqlite_connection is None:
                self._sqlite_connection = self._writer_engine.connect()
            conn = self._sqlite_connection
            try:
                with conn.begin():
                    yield conn
                    self._store_buffered_audit(conn)
            except BaseException:
                if conn.invalidated or conn.closed:
                    self._sqlite_connection = None
                raise

    def _store_buffered_audit(self, conn: Connection) -> None:
        """Buffered read-audit records ride along in this write transaction (given back if it fails)."""
        rows = self.read_audit.take()
        if not rows:
            return
        try:
            conn.execute(self._audit_insert, [dict(zip(_AUDIT_KEYS, row)) for row in rows])
        except BaseException:
            self.read_audit.give_back(rows)
            raise

    @contextmanager
    def sqlite_writer(self) -> Iterator[object]:
        """The DB-API connection of SQLite's one writer, under the writer lock (for hot_path.py)."""
        assert self._sqlite_writer is not None
        with self._sqlite_writer:
            if self._sqlite_connection is None:
                self._sqlite_connection = self._writer_engine.connect()
            try:
                yield self._sqlite_connection.connection.dbapi_connection
            except self._hot.broken:  # type: ignore[union-attr]
                self._sqlite_connection.invalidate()
                self._sqlite_connection = None
                raise

    def _write_audit_rows(self, rows: list[tuple]) -> None:
        with self._write() as conn:
            conn.execute(self._audit_insert, [dict(zip(_AUDIT_KEYS, row)) for row in rows])

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _database_errors_as_unavailable():
            with self.engine.connect() as conn:
                yield conn

    def ping(self) -> None:
        """Raises when the database cannot be reached (readiness)."""
        with self._read() as conn:
            conn.execute(text("SELECT 1"))

    def _checkpoint(self) -> None:
        """SQLite, after a delete: copy the WAL into the database and truncate it, so earlier versions of the
        deleted rows do not stay in the WAL file (``secure_delete`` overwrites them in the database pages)."""
        if self._sqlite_writer is None:
            return
        with self._sqlite_writer:
            if self._sqlite_connection is None:
                self._sqlite_connection = self._writer_engine.connect()
            try:
                self._sqlite_connection.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except Exception:  # pragma: no cover - best effort: a busy reader leaves it to the next checkpoint
                pass

    def close(self) -> None:
        try:
            self.read_audit.close()  # the buffered read-audit records are stored before the engine goes
        except Exception:
            logging.getLogger("weft.threads").exception("could not store buffered read-audit records at close")
        if self._hot is not None:
            self.turns.close()
            self._hot.close()
        if self._sqlite_writer is not None:
            with self._sqlite_writer:
                if self._sqlite_connection is not None:
                    self._sqlite_connection.close()
                    self._sqlite_connection = None
        self.engine.dispose()

    # ---- tenants -----------------------------------------------------------------------------------
    def ensure_tenant(self, tenant_id: str, now_ms: int) -> TenantRecord:
        t = self.tables.tenants
        existing = self.get_tenant(tenant_id)
        if existing is not None:
            return existing
        try:
            with self._write() as conn:
                conn.execute(insert(t).values(id=tenant_id, created_at_ms=now_ms, data_key_destroyed=False))
        except IntegrityError:
            pass  # created concurrently
        found = self.get_tenant(tenant_id)
        assert found is not None
        return found

    def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        t = self.tables.tenants
        with self._read() as conn:
            row = conn.execute(select(t).where(t.c.id == tenant_id)).first()
        return _tenant(row) if row else None

    def list_tenants(self) -> list[TenantRecord]:
        t = self.tables.tenants
        with self._read() as conn:
            return [_tenant(r) for r in conn.execute(select(t).order_by(t.c.id))]

    def set_tenant_retention(self, tenant_id: str, retention_seconds: int | None) -> None:
        t = self.tables.tenants
        with self._write() as conn:
            if conn.execute(update(t).where(t.c.id == tenant_id).values(retention_seconds=retention_seconds)).rowcount == 0:
                raise NotFound(f"No tenant found with id '{tenant_id}'.")

    def set_tenant_data_key(self, tenant_id: str, wrapped: bytes, master_key_id: str, *, only_if_absent: bool) -> bool:
        t = self.tables.tenants
        condition = t.c.id == tenant_id
        if only_if_absent:
            condition = and_(condition, t.c.wrapped_data_key.is_(None), t.c.data_key_destroyed.is_(False))
        with self._write() as conn:
            return conn.execute(update(t).where(condition).values(wrapped_data_key=wrapped, master_key_id=master_key_id)).rowcount == 1

    def destroy_tenant_data_key(self, tenant_id: str) -> None:
        t = self.tables.tenants
        with self._write() as conn:
            if conn.execute(update(t).where(t.c.id == tenant_id).values(wrapped_data_key=None, master_key_id=None, data_key_destroyed=True)).rowcount == 0:
                raise NotFound(f"No tenant found with id '{tenant_id}'.")

    def rewrap_data_keys(self, rewrapped: dict[str, tuple[bytes, str]]) -> None:
        t = self.tables.tenants
        with self._write() as conn:
            for tenant_id, (wrapped, master_key_id) in rewrapped.items():
                conn.execute(update(t).where(t.c.id == tenant_id).values(wrapped_data_key=wrapped, master_key_id=master_key_id))

    # ---- conversations -------------------------------------------------------------------------------
    def _insert_tags(self, conn: Connection, conversation_id: str, tenant_id: str, tags: dict[str, str]) -> None:
        if tags:
            conn.execute(insert(self.tables.conversation_tags), [
                {"conversation_id": conversation_id, "tenant_id": tenant_id, "key": k, "value_match": v} for k, v in tags.items()])

    def _replay(self, conn: Connection, tenant_id: str, idempotency_key: str) -> tuple[str, list[str]] | None:
        i = self.tables.idempotency
        row = conn.execute(select(i.c.conversation_id, i.c.item_ids).where(i.c.tenant_id == tenant_id, i.c.key == idempotency_key)).first()
        return (row.conversation_id, json.loads(row.item_ids)) if row else None

    def _items_by_id(self, conn: Connection, conversation_id: str, ids: list[str]) -> list[ItemRecord]:
        if not ids:
            return []
        it = self.tables.items
        rows = conn.execute(select(it).where(it.c.conversation_id == conversation_id, it.c.id.in_(ids)).order_by(it.c.seq)).all()
        return [_item(r) for r in rows]

    def create_conversation(self, record, tags, items, idempotency_key=None, audit=None):
        c = self.tables.conversations
        with self._write() as conn:
            if idempotency_key:
                replay = self._replay(conn, record.tenant_id, idempotency_key)
                if replay:
                    existing = conn.execute(select(c).where(c.c.id == replay[0], c.c.tenant_id == record.tenant_id)).first()
                    if existing is None:
                        raise NotFound("The conversation created with this Idempotency-Key was deleted.")
                    return _conversation(existing), self._items_by_id(conn, replay[0], replay[1]), True
            if conn.execute(select(c.c.id).where(c.c.id == record.id)).first() is not None:
                raise Conflict(f"A conversation with id '{record.id}' already exists.", code="conversation_exists")
            conn.execute(insert(c).values(
                id=record.id, tenant_id=record.tenant_id, kind=record.kind, created_at_ms=record.created_at_ms,
                updated_at_ms=record.updated_at_ms, metadata_body=record.metadata_body, extra_body=record.extra_body,
                next_seq=len(items), item_count=len(items), retention_seconds=record.retention_seconds))
            self._insert_tags(conn, record.id, record.tenant_id, tags)
            stored = self._insert_items(conn, record.tenant_id, record.id, 0, items, record.created_at_ms)
            if idempotency_key:
                self._remember(conn, record.tenant_id, idempotency_key, record.id, stored, record.created_at_ms)
            if audit is not None:
                self._insert_audit(conn, audit)
        created = ConversationRecord(record.id, record.tenant_id, record.kind, record.created_at_ms, record.updated_at_ms,
                                     record.metadata_body, record.extra_body, len(items), record.retention_seconds)
        return created, stored, False

    def get_conversation(self, tenant_id: str, conversation_id: str) -> ConversationRecord:
        if self.turns is not None:
            return self.turns.get_conversation(tenant_id, conversation_id)
        c = self.tables.conversations
        with self._read() as conn:
            row = conn.execute(select(c).where(c.c.id == conversation_id, c.c.tenant_id == tenant_id)).first()
        if row is None:
            raise NotFound(f"Conversation with id '{conversation_id}' not found.")
        return _conversation(row)

    def get_conversations(self, tenant_id: str, conversation_ids: list[str]) -> dict[str, ConversationRecord]:
        """Several records at once (one query on the hot path); the missing ones are left out."""
        if self.turns is not None:
            return self.turns.get_conversations(tenant_id, conversation_ids)
        c = self.tables.conversations
        with self._read() as conn:
            rows = conn.execute(select(c).where(c.c.id.in_(conversation_ids), c.c.tenant_id == tenant_id)).all()
        return {r.id: _conversation(r) for r in rows}

    def update_conversation(self, tenant_id, conversation_id, now_ms, *, metadata_body=_UNSET, tags=None, extra_body=_UNSET, retention_seconds=_UNSET):
        c, tg = self.tables.conversations, self.tables.conversation_tags
        values: dict = {"updated_at_ms": now_ms}
        if metadata_body is not _UNSET:
            values["metadata_body"] = metadata_body
        if extra_body is not _UNSET:
            values["extra_body"] = extra_body
        if retention_seconds is not _UNSET:
            values["retention_seconds"] = retention_seconds
        with self._write() as conn:
            if conn.execute(update(c).where(c.c.id == conversation_id, c.c.tenant_id == tenant_id).values(**values)).rowcount == 0:
                raise NotFound(f"Conversation with id '{conversation_id}' not found.")
            if tags is not None:
                conn.execute(delete(tg).where(tg.c.conversation_id == conversation_id))
                self._insert_tags(conn, conversation_id, tenant_id, tags)
            row = conn.execute(select(c).where(c.c.id == conversation_id)).first()
        return _conversation(row)

    def touch_conversation(self, tenant_id, conversation_id, now_ms, *, extra_body=_UNSET, expect_updated_at_ms=None) -> bool:
        """Sets ``updated_at_ms`` (a heartbeat), with ``extra_body`` too when given; with ``expect_updated_at_ms``,
        only while the record has not been written since (a compare-and-swap). False when nothing was changed."""
        c = self.tables.conversations
        values: dict = {"updated_at_ms": now_ms} if extra_body is _UNSET else {"updated_at_ms": now_ms, "extra_body": extra_body}
        where = [c.c.id == conversation_id, c.c.tenant_id == tenant_id]
        if expect_updated_at_ms is not None:
            where.append(c.c.updated_at_ms == expect_updated_at_ms)
        with self._write() as conn:
            return conn.execute(update(c).where(*where).values(**values)).rowcount == 1

    def delete_conversation(self, tenant_id: str, conversation_id: str) -> None:
        """Deletes the conversation and everything derived from it (items, tags, idempotency keys)."""
        t = self.tables
        with self._write() as conn:
            if conn.execute(delete(t.conversations).where(t.conversations.c.id == conversation_id, t.conversations.c.tenant_id == tenant_id)).rowcount == 0:
                raise NotFound(f"Conversation with id '{conversation_id}' not found.")
            conn.execute(delete(t.items).where(t.items.c.conversation_id == conversation_id))
            conn.execute(delete(t.conversation_tags).where(t.conversation_tags.c.conversation_id == conversation_id))
            conn.execute(delete(t.idempotency).where(t.idempotency.c.conversation_id == conversation_id))
        self._checkpoint()

    def list_conversations(self, tenant_id, *, limit, order, after, before, tags, kind=None):
        if self.turns is not None and kind and not after and not before:
            return ConversationPage(*self.turns.list_of_kind(tenant_id, kind, limit, order == "desc", tags))
        c, tg = self.tables.conversations, self.tables.conversation_tags
        query = select(c).where(c.c.tenant_id == tenant_id)
        if kind:
            query = query.where(c.c.kind == kind)
        else:  # internal records (chat id bindings) never show in the public lists
            query = query.where(c.c.kind.notin_(INTERNAL_KINDS))
        for key, match in tags.items():  # a key may be a tuple of spellings (hashed, legacy clear)
            keys = key if isinstance(key, tuple) else (key,)
            query = query.where(exists().where(tg.c.conversation_id == c.c.id, tg.c.key.in_(keys), tg.c.value_match == match))
        descending = order == "desc"
        with self._read() as conn:
            for cursor, forward in ((after, True), (before, False)):
                if not cursor:
                    continue
                anchor = conn.execute(select(c.c.created_at_ms, c.c.id).where(c.c.id == cursor, c.c.tenant_id == tenant_id)).first()
                if anchor is None:
                    raise NotFound(f"Conversation with id '{cursor}' not found.")
                later = or_(c.c.created_at_ms > anchor.created_at_ms, and_(c.c.created_at_ms == anchor.created_at_ms, c.c.id > anchor.id))
                earlier = or_(c.c.created_at_ms < anchor.created_at_ms, and_(c.c.created_at_ms == anchor.created_at_ms, c.c.id < anchor.id))
                query = query.where(later if forward != descending else earlier)
            if descending:
                query = query.order_by(c.c.created_at_ms.desc(), c.c.id.desc())
            else:
                query = query.order_by(c.c.created_at_ms, c.c.id)
            rows = conn.execute(query.limit(limit + 1)).all()
        return ConversationPage([_conversation(r) for r in rows[:limit]], len(rows) > limit)

    # ---- items -----------------------------------------------------------------------------------------
    def _insert_items(self, conn: Connection, tenant_id: str, conversation_id: str, first_seq: int, items: list[NewItem], now_ms: int) -> list[ItemRecord]:
        rows = [ItemRecord(conversation_id, first_seq + n, it.id, tenant_id, it.type, it.role, it.created_at_ms or now_ms, it.body)
                for n, it in enumerate(items)]
        if rows:
            try:
                conn.execute(self._statements["insert_items"], [
                    {"conversation_id": r.conversation_id, "seq": r.seq, "id": r.id, "tenant_id": r.tenant_id, "type": r.type,
                     "role": r.role, "created_at_ms": r.created_at_ms, "body": r.body} for r in rows])
            except IntegrityError as exc:
                raise Conflict("An item with one of these ids already exists.", code="item_exists") from exc
        return rows

    def _remember(self, conn: Connection, tenant_id: str, key: str, conversation_id: str, items: list[ItemRecord], now_ms: int) -> None:
        try:
            conn.execute(insert(self.tables.idempotency).values(tenant_id=tenant_id, key=key, conversation_id=conversation_id,
                                                                item_ids=json.dumps([i.id for i in items]), created_at_ms=now_ms))
        except IntegrityError as exc:
            raise Conflict("This Idempotency-Key is being used by another request right now.", code="idempotency_key_in_use") from exc

    def _append_statements(self):
        """The hot path's statements, built once (SQLAlchemy then reuses their compiled form)."""
        c, i = self.tables.conversations, self.tables.idempotency
        values = dict(next_seq=c.c.next_seq + bindparam("count"), item_count=c.c.item_count + bindparam("count"),
                      updated_at_ms=bindparam("now"))
        base = update(c).where(c.c.id == bindparam("cid"), c.c.tenant_id == bindparam("tid"))
        free = base.where(or_(c.c.lock_token.is_(None), c.c.lock_until_ms < bindparam("now"))).values(**values)
        held = base.where(c.c.lock_token == bindparam("token")).values(**values)
        if self.engine.dialect.update_returning:
            free, held = free.returning(c.c.next_seq), held.returning(c.c.next_seq)
        return {
            "free": free,
            "held": held,
            "next_seq": select(c.c.next_seq).where(c.c.id == bindparam("cid")),
            "lock_of": select(c.c.lock_token).where(c.c.id == bindparam("cid"), c.c.tenant_id == bindparam("tid")),
            "replay": select(i.c.conversation_id, i.c.item_ids).where(i.c.tenant_id == bindparam("tid"), i.c.key == bindparam("key")),
            "insert_items": insert(self.tables.items),
        }

    def append_items(self, tenant_id, conversation_id, items, now_ms, *, idempotency_key=None, lock_token=None, audit=None):
        if self._hot is not None and not idempotency_key and items:
            return AppendResult(self._hot.append(tenant_id, conversation_id, items, now_ms, lock_token, audit), False)
        st = self._statements
        count = len(items)
        params = {"cid": conversation_id, "tid": tenant_id, "count": count, "now": now_ms}
        if lock_token is None:
            bump = st["free"]
        else:
            bump, params["token"] = st["held"], lock_token
        returning = self.engine.dialect.update_returning
        try:
            with self._write() as conn:
                if audit is not None:
                    # before the counter bump, so the conversation's row lock is held for less time
                    self._insert_audit(conn, audit)
                result = conn.execute(bump, params)
                next_seq = result.scalar() if returning else (None if result.rowcount == 0 else -1)
                if next_seq is None:
                    found = conn.execute(st["lock_of"], {"cid": conversation_id, "tid": tenant_id}).first()
                    if found is None:
                        raise NotFound(f"Conversation with id '{conversation_id}' not found.")
                    from weft.threads.turn_store import conversation_locked

                    raise conversation_locked()  # OpenAI's 400 (weft.threads.turn_store)
                if idempotency_key:
                    replay = conn.execute(st["replay"], {"tid": tenant_id, "key": idempotency_key}).first()
                    if replay:
                        # leaving with an exception rolls the counter bump back: a replay writes nothing
                        raise _Replayed(self._items_by_id(conn, replay.conversation_id, json.loads(replay.item_ids)))
                if not returning:
                    next_seq = conn.execute(st["next_seq"], {"cid": conversation_id}).scalar_one()
                stored = self._insert_items(conn, tenant_id, conversation_id, next_seq - count, items, now_ms)
                if idempotency_key:
                    self._remember(conn, tenant_id, idempotency_key, conversation_id, stored, now_ms)
        except _Replayed as replayed:
            return AppendResult(replayed.items, True)
        return AppendResult(stored, False)

    def get_item(self, tenant_id: str, conversation_id: str, item_id: str) -> ItemRecord:
        it = self.tables.items
        with self._read() as conn:
            row = conn.execute(select(it).where(it.c.id == item_id, it.c.conversation_id == conversation_id, it.c.tenant_id == tenant_id)).first()
        if row is None:
            raise NotFound(f"Item with id '{item_id}' not found.")
        return _item(row)

    def list_items(self, tenant_id, conversation_id, *, limit, order, after=None, before=None):
        it, c = self.tables.items, self.tables.conversations
        descending = order == "desc"
        if self._hot is not None and not after and not before:
            rows, more = self._hot.items_page(tenant_id, conversation_id, limit, descending)
            return ItemPage(rows, more)
        with self._read() as conn:
            if conn.execute(select(c.c.id).where(c.c.id == conversation_id, c.c.tenant_id == tenant_id)).first() is None:
                raise NotFound(f"Conversation with id '{conversation_id}' not found.")
            query = select(it).where(it.c.conversation_id == conversation_id)
            for cursor, forward in ((after, True), (before, False)):
                if not cursor:
                    continue
                seq = conn.execute(select(it.c.seq).where(it.c.conversation_id == conversation_id, it.c.id == cursor)).scalar()
                if seq is None:
                    raise NotFound(f"Item with id '{cursor}' not found.")
                query = query.where(it.c.seq > seq if forward != descending else it.c.seq < seq)
            query = query.order_by(it.c.seq.desc() if descending else it.c.seq)
            if limit is not None:
                query = query.limit(limit + 1)
            rows = conn.execute(query).all()
        if limit is None:
            return ItemPage([_item(r) for r in rows], False)
        return ItemPage([_item(r) for r in rows[:limit]], len(rows) > limit)

    def list_items_with_roles(self, tenant_id, conversation_id, roles, *, before_seq):
        """Items of the given roles older than ``before_seq``, oldest first (system/developer pins)."""
        if self.turns is not None:
            return self.turns.list_items_with_roles(tenant_id, conversation_id, roles, before_seq)
        it = self.tables.items
        query = (select(it).where(it.c.conversation_id == conversation_id, it.c.tenant_id == tenant_id,
                                  it.c.role.in_(list(roles)), it.c.seq < before_seq).order_by(it.c.seq))
        with self._read() as conn:
            return [_item(r) for r in conn.execute(query)]

    def list_items_older(self, tenant_id, conversation_id, *, before_seq, limit):
        """The items before ``before_seq``, newest first (the next page of a history read backwards; one query)."""
        if self.turns is not None:
            rows = self.turns.list_items_older(tenant_id, conversation_id, before_seq, limit)
        else:
            it = self.tables.items
            query = (select(it).where(it.c.conversation_id == conversation_id, it.c.tenant_id == tenant_id, it.c.seq < before_seq)
                     .order_by(it.c.seq.desc()).limit(limit + 1))
            with self._read() as conn:
                rows = [_item(r) for r in conn.execute(query)]
        return ItemPage(rows[:limit], len(rows) > limit)

    def update_item_body(self, tenant_id, conversation_id, item_id, body):
        it = self.tables.items
        with self._write() as conn:
            if conn.execute(update(it).where(it.c.id == item_id, it.c.conversation_id == conversation_id, it.c.tenant_id == tenant_id).values(body=body)).rowcount == 0:
                raise NotFound(f"Item with id '{item_id}' not found.")
            return _item(conn.execute(select(it).where(it.c.id == item_id)).one())

    def delete_item(self, tenant_id, conversation_id, item_id):
        it, c = self.tables.items, self.tables.conversations
        with self._write() as conn:
            if conn.execute(delete(it).where(it.c.id == item_id, it.c.conversation_id == conversation_id, it.c.tenant_id == tenant_id)).rowcount == 0:
                raise NotFound(f"Item with id '{item_id}' not found.")
            conn.execute(update(c).where(c.c.id == conversation_id).values(item_count=c.c.item_count - 1))
        self._checkpoint()

    # ---- conversation locks (a lease with a token; appends under the lock must present it) -----------
    def try_lock(self, tenant_id, conversation_id, token, now_ms, until_ms):
        c = self.tables.conversations
        with self._write() as conn:
            taken = conn.execute(update(c).where(
                c.c.id == conversation_id, c.c.tenant_id == tenant_id,
                or_(c.c.lock_token.is_(None), c.c.lock_until_ms < now_ms)).values(lock_token=token, lock_until_ms=until_ms)).rowcount
            if taken:
                return True
            if conn.execute(select(c.c.id).where(c.c.id == conversation_id, c.c.tenant_id == tenant_id)).first() is None:
                raise NotFound(f"Conversation with id '{conversation_id}' not found.")
            return False

    def release_lock(self, conversation_id, token):
        c = self.tables.conversations
        with self._write() as conn:
            conn.execute(update(c).where(c.c.id == conversation_id, c.c.lock_token == token).values(lock_token=None, lock_until_ms=None))

    # ---- retention -------------------------------------------------------------------------------------
    def expired_conversations(self, now_ms, limit):
        c, t = self.tables.conversations, self.tables.tenants
        effective = func.coalesce(c.c.retention_seconds, t.c.retention_seconds)
        query = (select(c.c.tenant_id, c.c.id).select_from(c.join(t, t.c.id == c.c.tenant_id))
                 .where(effective > 0, c.c.updated_at_ms + effective * 1000 < now_ms).limit(limit))
        with self._read() as conn:
            return [(r.tenant_id, r.id) for r in conn.execute(query)]

    def forget_idempotency_keys(self, older_than_ms: int) -> int:
        i = self.tables.idempotency
        with self._write() as conn:
            return conn.execute(delete(i).where(i.c.created_at_ms < older_than_ms)).rowcount

    # ---- api keys ---------------------------------------------------------------------------------------
    def insert_api_key(self, record: ApiKeyRecord) -> None:
        with self._write() as conn:
            conn.execute(insert(self.tables.api_keys).values(
                id=record.id, tenant_id=record.tenant_id, secret_hash=record.secret_hash, scopes=",".join(record.scopes),
                name=record.name, created_at_ms=record.created_at_ms, revoked_at_ms=record.revoked_at_ms))

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        k = self.tables.api_keys
        with self._read() as conn:
            row = conn.execute(select(k).where(k.c.id == key_id)).first()
        return _api_key(row) if row else None

    def list_api_keys(self, tenant_id: str | None) -> list[ApiKeyRecord]:
        k = self.tables.api_keys
        query = select(k).order_by(k.c.created_at_ms, k.c.id)
        if tenant_id is not None:
            query = query.where(k.c.tenant_id == tenant_id)
        with self._read() as conn:
            return [_api_key(r) for r in conn.execute(query)]

    def revoke_api_key(self, key_id: str, now_ms: int, tenant_id: str | None = None) -> bool:
        k = self.tables.api_keys
        condition = and_(k.c.id == key_id, k.c.revoked_at_ms.is_(None))
        if tenant_id is not None:
            condition = and_(condition, k.c.tenant_id == tenant_id)
        with self._write() as conn:
            return conn.execute(update(k).where(condition).values(revoked_at_ms=now_ms)).rowcount == 1

    # ---- audit (append-only: there is no update or delete) -------------------------------------------
    def insert_audit(self, record: AuditRecord) -> None:
        with self._write() as conn:
            self._insert_audit(conn, record)

    def queue_audit(self, record: AuditRecord) -> None:
        """A successful read's record: stored with the next write or within the flush interval (hot_path.py)."""
        self.read_audit.add(record)

    def flush_audit(self) -> None:
        self.read_audit.flush()

    def _insert_audit(self, conn: Connection, record: AuditRecord) -> None:
        conn.execute(self._audit_insert, {
            "at_ms": record.at_ms, "tenant_id": record.tenant_id, "key_id": record.key_id, "operation": record.operation,
            "conversation_id": record.conversation_id, "item_ids": json.dumps(record.item_ids) if record.item_ids else None,
            "outcome": record.outcome, "detail": record.detail, "request_id": record.request_id})

    def list_audit(self, *, tenant_id, since_ms, until_ms, limit, after_id=None):
        a = self.tables.audit
        query = select(a).order_by(a.c.id)
        if tenant_id is not None:
            query = query.where(a.c.tenant_id == tenant_id)
        if since_ms is not None:
            query = query.where(a.c.at_ms >= since_ms)
        if until_ms is not None:
            query = query.where(a.c.at_ms < until_ms)
        if after_id is not None:
            query = query.where(a.c.id > after_id)
        self.flush_audit()  # reading the trail sees every read recorded so far
        with self._read() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [AuditRecord(r.at_ms, r.tenant_id, r.key_id, r.operation, r.outcome, r.conversation_id,
                            json.loads(r.item_ids) if r.item_ids else [], r.detail, r.id, r.request_id) for r in rows]
