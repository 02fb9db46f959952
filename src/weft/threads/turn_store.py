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
from weft.threads.hot_path import AUDIT_COLUMNS, ITEM_COLUMNS, RawConnections, audit_row, item_records, new_item_records, unavailable
from weft.threads.records import AuditRecord, ConversationRecord, NewItem
from weft.threads.turn_reads import RECORD_COLUMNS, newest_of_kind
from weft.threads.turn_sql import RESULT_COLUMNS

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
    tags: tuple[tuple[str, str], ...] = ()  # (key, value_match) rows of a new record (its metadata, for lookups)
    expect_extra: bytes | None = None  # an update only while the stored state is these bytes (compare-and-swap)


@dataclass
class HistoryWindow:
    """A conversation's newest items as this process last knew them exactly: ``records`` newest first, and every
    item numbered above the last of them is one of them; ``removed``: how many items had been removed from the
    conversation then (``next_seq - item_count``, a counter only a delete moves). While ``removed`` is unchanged no
    item of it is gone, so a read of the items after its newest one completes it (``LeaseTake.window``)."""

    records: list
    removed: int


@dataclass
class LeaseTake:
    """A commit that appends without a lease also takes the conversation's lease for the turn that follows
    (``TurnStore.commit_turn``'s ``take``): the lease's token and end, and how many of the newest items to read
    with it. ``page`` is set by the commit: the newest items (the commit's own included), newest first, and
    whether there are more; None when they were not read (SQLite: no round trip to save) or raced. ``window``:
    the newest items the caller knows (HistoryWindow): only the items after them are read, and they complete
    the page when no item was removed since; ``removed`` is set with the page (the counter it is exact for)."""

    token: str
    until_ms: int
    limit: int
    window: HistoryWindow | None = None
    page: tuple[list, bool] | None = None
    removed: int | None = None


@dataclass
class CreateGuard:
    """What a run's create was built from instead of reading it first (weft.threads.turn_sql's ``guard``): the
    thread (one of ``thread_kinds``), the agent's stored state (``agent_body``), and the thread's newest two runs
    (``runs``: their ids and stored states; tags ``tag_keys`` = ``tag_value``). PostgreSQL only."""

    thread_id: str
    thread_kinds: tuple[str, ...]
    agent_id: str
    agent_kind: str
    agent_body: bytes
    run_kind: str
    tag_keys: tuple[str, ...]
    tag_value: str
    runs: tuple[tuple[str, bytes], ...]


class BasisChanged(Exception):
    """A guarded commit (CreateGuard) found its basis changed: nothing was stored; read it and build again."""


def _seq(record) -> int:
    return record.seq


class RecordChanged(Exception):
    """A compare-and-swap update found the record changed since it was read: nothing of the turn was stored."""


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
        self.bump_free_sql = (f"UPDATE {c} SET next_seq = next_seq + {mark}, item_count = item_count + {mark}, updated_at_ms = {mark} "
                              f"WHERE id = {mark} AND tenant_id = {mark} AND {free} RETURNING next_seq")
        self.bump_take_sql = (f"UPDATE {c} SET next_seq = next_seq + {mark}, item_count = item_count + {mark}, updated_at_ms = {mark}, "
                              f"lock_token = {mark}, lock_until_ms = {mark} "
                              f"WHERE id = {mark} AND tenant_id = {mark} AND {free} RETURNING next_seq")
        tg = t.conversation_tags.name
        self.tags_sql = f"INSERT INTO {tg} (conversation_id, tenant_id, key, value_match) VALUES ({mark}, {mark}, {mark}, {mark})"
        self.items_sql = f"INSERT INTO {it} ({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join(mark for _ in ITEM_COLUMNS)})"
        self.audit_sql = f"INSERT INTO {a} ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join(mark for _ in AUDIT_COLUMNS)})"
        record_columns = ("id", "tenant_id", "kind", "created_at_ms", "updated_at_ms", "metadata_body", "extra_body",
                          "next_seq", "item_count", "retention_seconds")
        self.record_sql = f"INSERT INTO {c} ({', '.join(record_columns)}) VALUES ({', '.join(mark for _ in record_columns)})"
        self.state_sql = f"UPDATE {c} SET extra_body = {mark}, updated_at_ms = {mark} WHERE id = {mark} AND tenant_id = {mark}"
        self.swap_sql = self.state_sql + f" AND extra_body = {mark}"
        self.get_sql = (f"SELECT id, tenant_id, kind, created_at_ms, updated_at_ms, metadata_body, extra_body, item_count, "
                        f"retention_seconds FROM {c} WHERE id = {mark} AND tenant_id = {mark}")
        self.older_sql = (f"SELECT {', '.join(ITEM_COLUMNS)} FROM {it} WHERE conversation_id = {mark} AND tenant_id = {mark} "
                          f"AND seq < {mark} ORDER BY seq DESC LIMIT {mark}")
        self.roles_sql = (f"SELECT {', '.join(ITEM_COLUMNS)} FROM {it} WHERE conversation_id = {mark} AND tenant_id = {mark} "
                          f"AND seq < {mark} AND role IN ")
        if self.backend == "postgresql":
            # leases on connections of their own whose commits are not waited for (synchronous_commit off)
            self.lease_connections = RawConnections(store.engine, keep=4, autocommit=True)
            self._async_sessions: set[int] = set()
            self._turn_sql: dict[tuple, tuple[str, tuple[str, ...]]] = {}  # commit_turn's statement per shape
        self.guards = self.backend == "postgresql"  # commit_turn's ``guard``
        from weft.threads.turn_reads import TurnReads

        self.reads = TurnReads(self)  # reads a turn makes together (one round trip)

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
                with self._lease_connection() as raw:
                    taken = raw.execute(self.take_sql, params).rowcount == 1
                    found = taken or bool(raw.execute(self.exists_sql, (conversation_id, tenant_id)).fetchall())
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
            with self._lease_connection() as raw:
                return raw.execute(self.renew_sql, params).rowcount == 1
        except self.hot.broken as exc:
            raise unavailable(exc) from exc

    def _lease_connection(self):
        from contextlib import contextmanager

        @contextmanager
        def connection():
            with self.lease_connections.connection(self.hot.broken) as raw:
                if id(raw) not in self._async_sessions:  # once per connection: its commits are not waited for
                    raw.execute("SET synchronous_commit TO off")
                    self._async_sessions.add(id(raw))
                yield raw

        return connection()

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
            with self._lease_connection() as raw:
                raw.execute(self.release_sql, params)
        except self.hot.broken as exc:
            raise unavailable(exc) from exc

    # ---- the one durable commit of a turn --------------------------------------------------------------
    def commit_turn(self, tenant_id: str, conversation_id: str | None, token: str | None, items: list[NewItem], now_ms: int,
                    audits: list[AuditRecord], record: RecordWrite | None, take: LeaseTake | None = None,
                    guard: CreateGuard | None = None, counts: dict | None = None) -> int:
        """Returns the first sequence number of ``items`` (0 when none). ``conversation_id`` with ``token``: the
        items are appended under the lease and the lease is released, in this transaction. Raises
        ``conversation_locked`` when the lease is no longer this holder's, NotFound when a target is gone.
        ``take`` (items without ``token``): the same transaction takes the lease for the next turn (LeaseTake).
        ``guard`` (PostgreSQL, ``guards``): nothing is stored unless it holds (BasisChanged). ``counts`` (PostgreSQL,
        a conversation bumped): filled with the conversation's ``next_seq`` and ``item_count`` after the commit."""
        if take is not None and (conversation_id is None or not items or token is not None):
            raise ValueError("a lease is taken only by a commit that appends items without one")
        if guard is not None and not self.guards:
            raise ValueError("a guarded commit is a PostgreSQL statement")
        pending = self.store.read_audit.take()  # buffered read-audit rows ride along
        rows = pending + [audit_row(a) for a in audits]
        try:
            if self.backend == "sqlite":
                with self.store.sqlite_writer() as raw:
                    raw.execute("BEGIN IMMEDIATE")
                    try:
                        first = self._statements(raw, raw.execute, raw.executemany, tenant_id, conversation_id, token, items,
                                                 now_ms, rows, record, take)
                        raw.execute("COMMIT")
                    except BaseException:
                        if raw.in_transaction:
                            raw.execute("ROLLBACK")
                        raise
            else:
                with self.hot.writers.connection(self.hot.broken) as raw:  # autocommit: the one statement is the transaction
                    first = self._postgres_statement(raw, tenant_id, conversation_id, token, items, now_ms, rows, record, take, guard,
                                                     counts)
        except _Missing as missing:
            self.store.read_audit.give_back(pending)
            self._explain(tenant_id, conversation_id, token, str(missing), record.expect_extra if record is not None else None)
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

    def _statements(self, raw, execute, executemany, tenant_id, conversation_id, token, items, now_ms, rows, record, take=None) -> int:
        if rows:
            executemany(self.audit_sql, rows)
        first = 0
        if conversation_id is not None and items:
            count = len(items)
            if token is not None:  # under the lease, which this releases
                bumped = execute(self.bump_sql, (count, count, now_ms, conversation_id, tenant_id, token)).fetchall()
            elif take is not None:  # no lease: refused while another holder has one; takes it for the next turn
                bumped = execute(self.bump_take_sql, (count, count, now_ms, take.token, take.until_ms, conversation_id, tenant_id,
                                                      now_ms)).fetchall()
            else:  # no lease: refused while another holder has one
                bumped = execute(self.bump_free_sql, (count, count, now_ms, conversation_id, tenant_id, now_ms)).fetchall()
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
            if record.tags:
                executemany(self.tags_sql, [(r.id, r.tenant_id, key, value) for key, value in record.tags])
        elif record is not None and record.update_id is not None:
            if record.expect_extra is not None:
                done = execute(self.swap_sql, (record.extra_body, now_ms, record.update_id, tenant_id, record.expect_extra)).rowcount
            else:
                done = execute(self.state_sql, (record.extra_body, now_ms, record.update_id, tenant_id)).rowcount
            if done != 1:
                raise _Missing("record:" + record.update_id)
        return first

    def _postgres_statement(self, raw, tenant_id, conversation_id, token, items, now_ms, rows, record, take=None, guard=None,
                            counts=None) -> int:
        """The whole turn as ONE statement (data-modifying CTEs), sent in autocommit mode: one round trip, atomic
        (weft.threads.turn_sql). Raises _Missing when the conversation's bump or the record's update found no row
        (then nothing was written)."""
        from weft.threads.hot_path import RawCursor
        from weft.threads.turn_sql import array_literal, turn_statement

        shape = (conversation_id is not None, bool(items), token is not None,
                 None if record is None else ("insert" if record.record is not None else "update"),
                 bool(record is not None and record.tags), bool(rows), record is not None and record.expect_extra is not None,
                 take is not None, guard is not None)
        if shape not in self._turn_sql:
            self._turn_sql[shape] = turn_statement(self.store.tables, *shape)
        sql, names = self._turn_sql[shape]
        params = {"tid": tenant_id, "now": now_ms, "cid": conversation_id, "token": token, "count": len(items),
                  "ids": array_literal(it.id for it in items), "types": array_literal(it.type for it in items),
                  "roles": array_literal(it.role for it in items), "created": array_literal(it.created_at_ms or now_ms for it in items),
                  "bodies": [it.body for it in items]}
        columns = list(zip(*rows)) if rows else [()] * len(AUDIT_COLUMNS)
        for column, values in zip(AUDIT_COLUMNS, columns):
            params[f"a_{column}"] = array_literal(values)
        if record is not None and record.record is not None:
            r = record.record
            params.update(rid=r.id, r_tenant=r.tenant_id, r_kind=r.kind, r_created=r.created_at_ms, r_updated=r.updated_at_ms,
                          r_metadata=r.metadata_body, r_extra=r.extra_body, r_retention=r.retention_seconds,
                          tag_keys=array_literal(k for k, _ in record.tags), tag_values=array_literal(v for _, v in record.tags))
        elif record is not None:
            params.update(rid=record.update_id, r_extra=record.extra_body, r_expect=record.expect_extra)
        if guard is not None:
            import hashlib

            params.update(g_thread=guard.thread_id, g_thread_kinds=array_literal(guard.thread_kinds), g_agent=guard.agent_id,
                          g_agent_kind=guard.agent_kind, g_agent_body=guard.agent_body, g_run_kind=guard.run_kind,
                          g_tag_keys=array_literal(guard.tag_keys), g_tag_value=guard.tag_value,
                          g_runs=array_literal(sorted(f"{rid}:{hashlib.md5(body).hexdigest()}" for rid, body in guard.runs)))
        window = take.window if take is not None and take.window is not None and take.window.records else None
        if take is not None:
            params.update(new_token=take.token, until=take.until_ms, limit=take.limit + 1,
                          after=window.records[0].seq if window is not None else -1)
        result = RawCursor(raw).execute(sql, tuple(params[n] for n in names)).fetchall()
        if guard is not None and not (result and result[0][2]):
            raise BasisChanged()
        bumped, recorded, _, item_count = result[0][:RESULT_COLUMNS] if result else (None, 0, True, None)
        if conversation_id is not None and (items or token is not None) and bumped is None:
            # the bump also required an updated record to exist: which one was missing is told by _explain
            raise _Missing("conversation" if record is None or record.update_id is None else "either:" + record.update_id)
        if record is not None and not recorded:
            raise _Missing("record:" + (record.update_id or record.record.id))  # type: ignore[union-attr]
        first = bumped - len(items) if items else 0
        if counts is not None and bumped is not None:
            counts.update(next_seq=bumped, item_count=item_count)
        if take is not None:
            self._take_page(take, window, result, tenant_id, conversation_id, first, items, now_ms, bumped - item_count)
        return first

    @staticmethod
    def _take_page(take: LeaseTake, window: HistoryWindow | None, result: list, tenant_id: str, conversation_id: str,
                   first: int, items: list, now_ms: int, removed: int) -> None:
        """``take.page`` from a take's rows, when it is exactly the newest items; else it stays None (the turn reads
        its page itself, under the lease)."""
        at = RESULT_COLUMNS + 1
        if result[0][RESULT_COLUMNS] != removed:  # an item removed while the bump waited for the row: the snapshot has it
            return
        older = item_records([r[at:] for r in result if r[at] is not None])
        older.sort(key=_seq, reverse=True)  # a join's rows come in no promised order (sorted already: linear)
        if window is not None:
            # every item after the window's newest, up to this commit's: none missing (an append that committed while
            # the bump waited is not in the snapshot) and none removed since the window was exact
            if window.removed != removed or len(older) != first - 1 - window.records[0].seq:
                return
            older += window.records
        # the snapshot's newest must be the one just before this commit's (an append that committed while the bump
        # waited, or a deleted newest item)
        elif (older[0].seq if older else -1) != first - 1:
            return
        own = new_item_records(tenant_id, conversation_id, first, items, now_ms)
        own.reverse()
        page = own + older
        if window is not None:  # the window completes the newest items: more only when the conversation has more
            kept = page[:take.limit]
            take.page = (kept, first + len(items) - removed > len(kept))  # next_seq - removed: its item count
        else:
            take.page = (page[:take.limit], len(page) > take.limit)
        take.removed = removed

    # ---- reads on the hot path's raw connections (one round trip; no pool checkout, ping or reset) ----------
    def get_conversation(self, tenant_id: str, conversation_id: str) -> ConversationRecord:
        try:
            with self.hot.readers.connection(self.hot.broken) as raw:
                rows = raw.execute(self.get_sql, (conversation_id, tenant_id)).fetchall()  # all: no statement left open (SQLite)
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"Conversation with id '{conversation_id}' not found.")
        return ConversationRecord(row[0], row[1], row[2], row[3], row[4], _bytes(row[5]), _bytes(row[6]), row[7], row[8])

    def get_conversations(self, tenant_id: str, conversation_ids: list[str]) -> dict[str, ConversationRecord]:
        sql = (self.get_sql.replace(f"WHERE id = {self.mark}", "WHERE id IN (" + ", ".join(self.mark for _ in conversation_ids) + ")"))
        try:
            with self.hot.readers.connection(self.hot.broken) as raw:
                rows = raw.execute(sql, (*conversation_ids, tenant_id)).fetchall()
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        return {r[0]: ConversationRecord(r[0], r[1], r[2], r[3], r[4], _bytes(r[5]), _bytes(r[6]), r[7], r[8]) for r in rows}

    def list_items_with_roles(self, tenant_id: str, conversation_id: str, roles: tuple[str, ...], before_seq: int):
        from weft.threads.hot_path import item_records

        sql = self.roles_sql + "(" + ", ".join(self.mark for _ in roles) + ") ORDER BY seq"
        try:
            with self.hot.readers.connection(self.hot.broken) as raw:
                rows = raw.execute(sql, (conversation_id, tenant_id, before_seq, *roles)).fetchall()
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        return item_records(rows)

    def list_items_older(self, tenant_id: str, conversation_id: str, before_seq: int, limit: int):
        """Up to ``limit + 1`` items before ``before_seq``, newest first (one round trip)."""
        from weft.threads.hot_path import item_records

        try:
            with self.hot.readers.connection(self.hot.broken) as raw:
                rows = raw.execute(self.older_sql, (conversation_id, tenant_id, before_seq, limit + 1)).fetchall()
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        return item_records(rows)

    def list_of_kind(self, tenant_id: str, kind: str, limit: int, descending: bool, tags: dict) -> tuple[list[ConversationRecord], bool]:
        """``list_conversations`` of one kind without a cursor (a thread's runs, an agent's versions): one round trip."""
        t = self.store.tables
        c, tg, mark = t.conversations.name, t.conversation_tags.name, self.mark
        sql, params = newest_of_kind(c, tg, mark, ", ".join(RECORD_COLUMNS), tenant_id, kind, tags, limit, descending)
        try:
            with self.hot.readers.connection(self.hot.broken) as raw:
                rows = raw.execute(sql, tuple(params)).fetchall()
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        records = [ConversationRecord(r[0], r[1], r[2], r[3], r[4], _bytes(r[5]), _bytes(r[6]), r[7], r[8]) for r in rows[:limit]]
        return records, len(rows) > limit

    def close(self) -> None:
        if self.backend == "postgresql":
            self.lease_connections.close()

    def _explain(self, tenant_id: str, conversation_id: str | None, token: str | None, what: str, expect: bytes | None = None):
        if what.startswith(("record:", "either:")):
            try:
                found = self.get_conversation(tenant_id, what[7:])
            except NotFound:
                raise NotFound(f"Record with id '{what[7:]}' not found.") from None
            if expect is not None and found.extra_body != expect:
                raise RecordChanged(what[7:])
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


def _bytes(value):
    return bytes(value) if value is not None else None
