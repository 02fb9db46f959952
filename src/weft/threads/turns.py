"""A model turn's storage, as the agents (responses, runs) use it: the conversation's lease, kept alive by a
heartbeat, and the turn's one commit (weft.threads.turn_store): items appended under the lease, the lease
released, the response or run record written, with every audit row, in one transaction.

``TurnWriter.commit`` keeps what ``ThreadService.append_items`` and ``create_conversation`` promise: the
items are encoded (encrypted) with the tenant's key, each write has its audit row in its own transaction,
a failure is audited, the conversation-search index follows the append. Knows nothing of HTTP.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from weft import observability
from weft.threads.items import validate_metadata
from weft.threads.lease_keeper import LeaseKeeper
from weft.threads.policy import Principal
from weft.threads.records import ConversationRecord
from weft.threads.service import Item, PendingItem, ThreadService
from weft.threads.turn_store import RecordChanged, RecordWrite, conversation_locked, renew_lease_general

DEFAULT_LEASE_SECONDS = 10.0


@dataclass
class Lease:
    tenant_id: str
    conversation_id: str
    token: str
    handle: int | None = None
    released: bool = False
    # the newest items read with the lease (try_take's ``prefetch``): (records newest first, more), or None
    page: tuple[list, bool] | None = None


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


class TurnWriter:
    def __init__(self, service: ThreadService, *, lease_seconds: float = DEFAULT_LEASE_SECONDS, keeper: LeaseKeeper | None = None):
        self.service = service
        self.fast = getattr(service.store, "turns", None)  # TurnStore on SQLite and PostgreSQL
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.keeper = keeper or LeaseKeeper()

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
        until = self.service.clock.now_ms() + self.lease_ms
        if self.fast is not None:
            self.fast.renew_lease(lease.conversation_id, lease.token, until)
        else:
            renew_lease_general(self.service.store, lease.conversation_id, lease.token, until)

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
    def commit(self, principal: Principal, conversation_id: str | None, lease: Lease | None, pending: list[PendingItem],
               operation: str, record: TurnRecord | None = None) -> list[Item]:
        """Appends ``pending`` to the conversation (under ``lease``, which this releases) and stores ``record``:
        one transaction on SQLite and PostgreSQL. Returns the appended items."""
        service = self.service
        tenant = principal.tenant_id
        if self.fast is None:
            return self._commit_slowly(principal, conversation_id, lease, pending, operation, record)
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
            intent = service._index_begin(tenant, conversation_id) if conversation_id is not None and encoded else None
            now = service.clock.now_ms()
            if lease is not None:
                self._stop(lease)  # no beat between here and the commit that ends the lease
            try:
                first = self.fast.commit_turn(tenant, conversation_id, lease.token if lease else None, encoded, now, audits, write)
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
