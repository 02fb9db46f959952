"""A model turn's storage, as the agents (responses, runs) use it: the conversation's lease, kept alive by a
heartbeat, and the turn's one commit (weft.threads.turn_store): items appended under the lease, the lease
released, the response or run record written, with every audit row, in one transaction.

A commit that appends without a lease can also take it for the turn that follows (``commit_taking_lease``: a
run's create, whose turn starts right after): the lease is then written with the durable commit, not in a
write of its own, and on PostgreSQL the newest items come back with it (the turn's history: one round trip
less). The turn adopts that lease (``adopt``); one not adopted within ``ADOPT_SECONDS`` is given back by its
heartbeat, so a turn that never starts holds the conversation no longer than that.

``TurnWriter.commit`` keeps what ``ThreadService.append_items`` and ``create_conversation`` promise: the
items are encoded (encrypted) with the tenant's key, each write has its audit row in its own transaction,
a failure is audited, the conversation-search index follows the append. Knows nothing of HTTP.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from weft import observability
from weft.threads.items import validate_metadata
from weft.threads.lease_keeper import LeaseKeeper
from weft.threads.policy import Principal
from weft.threads.records import ConversationRecord
from weft.threads.service import Item, PendingItem, ThreadService
from weft.threads.turn_store import (BasisChanged, HistoryWindow, LeaseTake, RecordChanged, RecordWrite, conversation_locked,
                                     renew_lease_general)

DEFAULT_LEASE_SECONDS = 10.0
ADOPT_SECONDS = 30.0  # a lease taken for a turn that has not started by then is given back


@dataclass
class Lease:
    tenant_id: str
    conversation_id: str
    token: str
    handle: int | None = None
    released: bool = False
    # the newest items read with the lease (try_take's ``prefetch``): (records newest first, more), or None
    page: tuple[list, bool] | None = None
    # a lease taken by a commit for a turn that has not adopted it yet: monotonic time it is given back at
    adopt_by: float | None = None
    # with a ``page`` a commit read: the conversation's removed-items counter the page is exact for (HistoryWindow)
    page_removed: int | None = None


@dataclass
class TurnRecord:
    """The record a turn stores: a new one (``create``: a response) or the new state of one (a run)."""

    record_id: str
    kind: str
    extra: dict[str, Any]
    create: bool = True
    retention_seconds: int | None = None
    operation: str = field(default="")
    metadata: dict[str, str] | None = None  # a new record's metadata (tags: found by list_conversations' filter)
    # an update stored only if the record's stored (encoded) state is still these bytes: a compare-and-swap, so a
    # turn need not read the record again before its commit (RecordChanged when another write came first; SQLite
    # and PostgreSQL only: TurnWriter.compares)
    expect_extra: bytes | None = None
    stored_extra: bytes | None = None  # set by a one-transaction commit: the state's bytes as stored (a later swap's base)
    # a create built from what this process knows instead of a read (weft.threads.turn_store.CreateGuard): stored
    # only while it holds, with the read-audit rows of the reads it stands for (operation, conversation id)
    guard: Any = None
    reads: tuple[tuple[str, str | None], ...] = ()


class TurnWriter:
    def __init__(self, service: ThreadService, *, lease_seconds: float = DEFAULT_LEASE_SECONDS, keeper: LeaseKeeper | None = None):
        self.service = service
        self.fast = getattr(service.store, "turns", None)  # TurnStore on SQLite and PostgreSQL
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.keeper = keeper or LeaseKeeper()
        self._adopting = threading.Lock()  # adopt against the heartbeat's give-back of an unadopted lease

    # ---- the lease ---------------------------------------------------------------------------------
    def try_take(self, tenant_id: str, conversation_id: str, prefetch: int | None = None) -> Lease | None:
        """The conversation's lease, or None while another holder has it (NotFound for no such conversation).
        A taken lease is renewed every third of its length until it is committed or released. ``prefetch``: the
        newest that many items are read with the lease where that saves a round trip (PostgreSQL,
        weft.threads.turn_reads), as ``Lease.page``."""
        token = secrets.token_hex(16)
        now = self.service.clock.now_ms()
        store = self.service.store
        page = None
        if self.fast is not None and prefetch:
            taken, page = self.fast.reads.take_lease_and_page(tenant_id, conversation_id, token, now, now + self.lease_ms, prefetch)
        elif self.fast is not None:
            taken = self.fast.take_lease(tenant_id, conversation_id, token, now, now + self.lease_ms)
        else:
            taken = store.try_lock(tenant_id, conversation_id, token, now, now + self.lease_ms)
        if not taken:
            return None
        lease = Lease(tenant_id, conversation_id, token, page=page)
        lease.handle = self.keeper.keep(lambda: self._renew(lease), self.lease_ms / 3000)
        return lease

    def _renew(self, lease: Lease) -> None:
        if lease.released:
            return
        if lease.adopt_by is not None:
            with self._adopting:
                expired = lease.adopt_by is not None and time.monotonic() >= lease.adopt_by
                if expired:
                    lease.adopt_by = None  # no turn may adopt it now
            if expired:
                self.release(lease)
                return
        until = self.service.clock.now_ms() + self.lease_ms
        if self.fast is not None:
            self.fast.renew_lease(lease.conversation_id, lease.token, until)
        else:
            renew_lease_general(self.service.store, lease.conversation_id, lease.token, until)

    def adopt(self, lease: Lease) -> bool:
        """Whether the turn may use a lease a commit took for it (``commit_taking_lease``): False once it was
        given back (not adopted in time, or released), and the turn then takes the lease as any turn does."""
        with self._adopting:
            if lease.released or lease.adopt_by is None:
                return False
            lease.adopt_by = None
            return True

    def _stop(self, lease: Lease) -> None:
        lease.released = True
        if lease.handle is not None:
            self.keeper.drop(lease.handle)

    def release(self, lease: Lease | None) -> None:
        """Gives the lease back when the turn did not commit (an error, a cancel); a no-op after ``commit``."""
        if lease is None or lease.released:
            return
        self._stop(lease)
        if self.fast is not None:
            self.fast.release_lease(lease.tenant_id, lease.conversation_id, lease.token)
        else:
            self.service.store.release_lock(lease.conversation_id, lease.token)

    # ---- the turn's commit ----------------------------------------------------------------------------
    def commit_taking_lease(self, principal: Principal, conversation_id: str, pending: list[PendingItem], operation: str,
                            record: TurnRecord | None = None, prefetch: int = 100,
                            window: HistoryWindow | None = None) -> tuple[list[Item], Lease | None]:
        """``commit`` without a lease that also takes the conversation's lease for the turn that follows, in the
        same transaction (SQLite and PostgreSQL; elsewhere, and with nothing to append, no lease: None). The
        lease is renewed until the turn adopts it (``adopt``) or ``ADOPT_SECONDS`` pass; on PostgreSQL its
        ``page`` holds the newest ``prefetch`` items, this commit's included (only those after ``window``, the
        newest items the caller knows, are read when no item was removed since)."""
        if self.fast is None or not pending:
            return self.commit(principal, conversation_id, None, pending, operation, record), None
        now = self.service.clock.now_ms()
        take = LeaseTake(secrets.token_hex(16), now + self.lease_ms, max(1, prefetch), window=window)
        items = self._commit(principal, conversation_id, None, pending, operation, record, take)
        lease = Lease(principal.tenant_id, conversation_id, take.token, page=take.page, adopt_by=time.monotonic() + ADOPT_SECONDS,
                      page_removed=take.removed if take.page is not None else None)
        lease.handle = self.keeper.keep(lambda: self._renew(lease), self.lease_ms / 3000)
        return items, lease

    def commit(self, principal: Principal, conversation_id: str | None, lease: Lease | None, pending: list[PendingItem],
               operation: str, record: TurnRecord | None = None, counts: dict | None = None) -> list[Item]:
        """Appends ``pending`` to the conversation (under ``lease``, which this releases) and stores ``record``:
        one transaction on SQLite and PostgreSQL. Returns the appended items. ``counts``: see
        ``TurnStore.commit_turn`` (PostgreSQL)."""
        if self.fast is None:
            return self._commit_slowly(principal, conversation_id, lease, pending, operation, record)
        return self._commit(principal, conversation_id, lease, pending, operation, record, None, counts)

    def _commit(self, principal: Principal, conversation_id: str | None, lease: Lease | None, pending: list[PendingItem],
                operation: str, record: TurnRecord | None, take: LeaseTake | None, counts: dict | None = None) -> list[Item]:
        service = self.service
        tenant = principal.tenant_id
        with service.audit.operation(principal, operation, conversation_id) as note:
            principal.require("write")
            service._tenant(tenant)
            encoded = service._encode_items(tenant, pending)
            note.item_ids = [i.id for i in encoded]
            audits = []
            if conversation_id is not None and encoded:
                audits.append(service.audit.build(principal, operation, "ok", note))
            write, record_audit = self._record_write(principal, record)
            if record_audit is not None:
                audits.append(record_audit)
            if record is not None and record.reads and service.audit.audit_reads:
                from weft.threads.audit import AuditNote

                audits += [service.audit.build(principal, op, "ok", AuditNote(cid)) for op, cid in record.reads]
            intent = service._index_begin(tenant, conversation_id) if conversation_id is not None and encoded else None
            now = service.clock.now_ms()
            if lease is not None:
                self._stop(lease)  # no beat between here and the commit that ends the lease
            try:
                first = self.fast.commit_turn(tenant, conversation_id, lease.token if lease else None, encoded, now, audits, write,
                                              take if encoded else None, record.guard if record is not None else None, counts)
            except BasisChanged:
                service._index_abandon(intent)
                note.discard = True  # nothing was stored: the caller reads and commits again (that one is audited)
                raise
            except BaseException:
                service._index_abandon(intent)
                if lease is not None:
                    lease.released = False
                raise
            if lease is not None:
                lease.released = True
            if write is not None:
                record.stored_extra = write.record.extra_body if write.record is not None else write.extra_body  # type: ignore[union-attr]
            from weft.threads.hot_path import new_item_records

            stored = new_item_records(tenant, conversation_id or "", first, encoded, now) if conversation_id is not None else []
            if counts is not None and counts:
                counts["records"] = stored  # what was stored, as stored
            observability.items_appended(len(stored))
            decoded = [service._item(r) for r in stored]
            if intent is not None:
                service.index_hooks.after_append(intent, decoded)
            if audits:
                note.stored_with_write = audits[0]
                for extra in audits[1:]:
                    service.audit.emit(extra)
            return decoded

    def _record_write(self, principal: Principal, record: TurnRecord | None):
        if record is None:
            return None, None
        service, tenant = self.service, principal.tenant_id
        from weft.threads.audit import AuditNote

        extra_body = service.codec.encode(tenant, f"conversation:{record.record_id}:extra", record.extra)
        if not record.create:
            audit = service.audit.build(principal, record.operation or "conversation.update", "ok", AuditNote(record.record_id))
            return RecordWrite(update_id=record.record_id, extra_body=extra_body, expect_extra=record.expect_extra), audit
        now = service.clock.now_ms()
        metadata = validate_metadata(record.metadata)
        row = ConversationRecord(record.record_id, tenant, record.kind, now, now,
                                 service.codec.encode(tenant, f"conversation:{record.record_id}:metadata", metadata), extra_body, 0,
                                 record.retention_seconds)
        tags = tuple(service.codec.tags(tenant, metadata).items())
        audit = service.audit.build(principal, record.operation or f"{record.kind}.create", "ok", AuditNote(record.record_id))
        return RecordWrite(record=row, tags=tags), audit

    @property
    def compares(self) -> bool:
        """Whether a commit honours ``TurnRecord.expect_extra`` (the one-transaction backends)."""
        return self.fast is not None

    @property
    def guards(self) -> bool:
        """Whether a commit honours ``TurnRecord.guard`` (PostgreSQL: the guard is part of the commit's statement)."""
        return self.fast is not None and self.fast.guards

    def _commit_slowly(self, principal, conversation_id, lease, pending, operation, record) -> list[Item]:
        """MariaDB/MySQL: the same writes through the general store methods (one commit each)."""
        service = self.service
        appended: list[Item] = []
        try:
            if conversation_id is not None and pending:
                appended = service.append_items(principal, conversation_id, None, pending=pending, operation=operation,
                                                lock_token=lease.token if lease else None)
        finally:
            self.release(lease)
        if record is not None:
            if record.create:
                service.create_conversation(principal, kind=record.kind, conversation_id=record.record_id, pending=[],
                                            extra=record.extra, retention_seconds=record.retention_seconds, metadata=record.metadata)
            else:
                service.update_conversation(principal, record.record_id, extra=record.extra)
        return appended


__all__ = ["Lease", "RecordChanged", "TurnRecord", "TurnWriter", "conversation_locked"]
