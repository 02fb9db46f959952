"""Agent state (assistants, runs, agent definitions) kept as item-less records of internal conversation kinds in
the threads store: tenant-scoped, encrypted (the state is the record's encrypted ``extra`` body), audited, under the
tenant's retention, and never listed by the conversations or threads APIs (``INTERNAL_KINDS``).

A record is changed under the store's lease lock on it (``try_lock``), so two weft processes on one PostgreSQL
database never lose each other's update."""
from __future__ import annotations

import secrets
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from weft.errors import Conflict, NotFound
from weft.threads.policy import Principal
from weft.threads.service import Conversation, Page, ThreadService

LOCK_LEASE_MS = 30_000
LOCK_WAIT_SECONDS = 10.0

NOUN = {"assistant": "assistant", "run": "run", "agent": "agent"}


class AgentRecords:
    def __init__(self, service: ThreadService, kind: str):
        self.service = service
        self.kind = kind

    def _missing(self, record_id: str) -> NotFound:
        return NotFound(f"No {NOUN[self.kind]} found with id '{record_id}'.", code="not_found")

    def create(self, principal: Principal, state: dict, tags: dict[str, str] | None = None, record_id: str | None = None) -> Conversation:
        record, _ = self.service.create_conversation(principal, kind=self.kind, metadata=tags or {}, extra=state, record_id=record_id)
        return record

    def get(self, principal: Principal, record_id: str) -> Conversation:
        try:
            record = self.service.get_conversation(principal, record_id)
        except NotFound:
            raise self._missing(record_id) from None
        if record.kind != self.kind:
            raise self._missing(record_id)
        return record

    def list(self, principal: Principal, *, limit: int, order: str, after: str | None = None, before: str | None = None,
             tags: dict[str, str] | None = None) -> Page:
        return self.service.list_conversations(principal, limit=limit, order=order, after=after, before=before,
                                               metadata=tags or None, kind=self.kind)

    def delete(self, principal: Principal, record_id: str) -> None:
        self.get(principal, record_id)
        self.service.delete_conversation(principal, record_id)

    @contextmanager
    def locked(self, principal: Principal, record_id: str) -> Iterator[None]:
        store, clock = self.service.store, self.service.clock
        token = secrets.token_hex(16)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            now = clock.now_ms()
            if store.try_lock(principal.tenant_id, record_id, token, now, now + LOCK_LEASE_MS):
                break
            if time.monotonic() >= deadline:
                raise Conflict(f"The {NOUN[self.kind]} '{record_id}' is being changed by another request; retry.", code="conflict")
            time.sleep(0.01)
        try:
            yield
        finally:
            store.release_lock(record_id, token)

    def mutate(self, principal: Principal, record_id: str, change: Callable[[dict], Any]) -> tuple[dict, Any]:
        """Reads the state, applies ``change`` (which edits the dict in place and may return a value), writes it
        back: one read-modify-write under the record's lock."""
        self.get(principal, record_id)
        with self.locked(principal, record_id):
            state = dict(self.get(principal, record_id).extra)
            result = change(state)
            self.service.update_conversation(principal, record_id, extra=state)
        return state, result
