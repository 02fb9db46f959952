"""Append-only audit trail: who (key id, tenant), what (operation, conversation and item ids), when,
and the outcome. Never content. Each record is also logged as one JSON line on ``weft.audit``."""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from weft.observability import current_request_id
from weft.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, WeftError
from weft.threads.clock import Clock
from weft.threads.policy import Principal
from weft.threads.records import AuditRecord

log = logging.getLogger("weft.audit")


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, (Forbidden, Unauthenticated)):
        return "denied"
    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, Conflict):
        return "conflict"
    if isinstance(exc, InvalidInput):
        return "invalid"
    return "error"


@dataclass
class AuditNote:
    """Filled in by the operation while it runs: which conversation and items it touched."""

    conversation_id: str | None = None
    item_ids: list[str] = field(default_factory=list)
    detail: str | None = None
    stored_with_write: AuditRecord | None = None  # the record the write's own transaction already stored
    outcome: str | None = None  # set by an operation that returns normally without doing its work (default "ok")
    # set by an operation that raises having done nothing it must account for (a commit whose basis changed, retried
    # at once from a fresh read: weft.threads.turn_store.BasisChanged): no audit row for the attempt
    discard: bool = False


def record_to_json(record: AuditRecord) -> dict:
    return {"id": record.id, "object": "audit.event", "at_ms": record.at_ms, "created_at": record.at_ms // 1000,
            "tenant": record.tenant_id, "key_id": record.key_id, "operation": record.operation, "outcome": record.outcome,
            "conversation_id": record.conversation_id, "item_ids": record.item_ids, "detail": record.detail,
            "request_id": record.request_id}


class AuditTrail:
    def __init__(self, store, clock: Clock, *, audit_reads: bool = True, buffer_reads: bool = True):
        self.store = store
        self.clock = clock
        self.audit_reads = audit_reads  # successful reads are recorded too unless turned off
        # successful reads' records are stored in batches (with the next write, or within 0.2 s;
        # see weft.threads.hot_path) when the store can; False stores each before the read returns
        self.buffer_reads = buffer_reads and hasattr(store, "queue_audit")

    def build(self, principal: Principal | None, operation: str, outcome: str, note: AuditNote) -> AuditRecord:
        return AuditRecord(self.clock.now_ms(), principal.tenant_id if principal else None, principal.key_id if principal else None,
                           operation, outcome, note.conversation_id, list(note.item_ids), note.detail,
                           request_id=current_request_id())

    @staticmethod
    def emit(record: AuditRecord) -> None:
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps({"audit": record_to_json(record)}, separators=(",", ":")))

    def record(self, principal: Principal | None, operation: str, outcome: str, note: AuditNote | None = None) -> None:
        record = self.build(principal, operation, outcome, note or AuditNote())
        try:
            self.store.insert_audit(record)
        except Exception:  # the audit must not hide the operation's own result; it is still logged
            log.exception("could not store an audit record")
        self.emit(record)

    @contextmanager
    def operation(self, principal: Principal | None, operation: str, conversation_id: str | None = None, *,
                  read: bool = False) -> Iterator[AuditNote]:
        note = AuditNote(conversation_id=conversation_id)
        try:
            yield note
        except WeftError as exc:
            note.detail = note.detail or (exc.code or None)
            self.record(principal, operation, outcome_of(exc), note)
            raise
        except Exception:
            if not note.discard:
                self.record(principal, operation, "error", note)
            raise
        if read and not self.audit_reads:
            return
        if note.stored_with_write is not None:
            self.emit(note.stored_with_write)
        elif read and self.buffer_reads:
            record = self.build(principal, operation, note.outcome or "ok", note)
            self.store.queue_audit(record)
            self.emit(record)
        else:
            self.record(principal, operation, note.outcome or "ok", note)

    def list(self, *, tenant_id: str | None, since_ms: int | None, until_ms: int | None, limit: int, after_id: int | None = None) -> list[AuditRecord]:
        return self.store.list_audit(tenant_id=tenant_id, since_ms=since_ms, until_ms=until_ms, limit=limit, after_id=after_id)
