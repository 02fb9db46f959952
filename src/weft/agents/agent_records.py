"""Agent state (assistants, runs, agent definitions) kept as item-less records of internal conversation kinds in
the threads store: tenant-scoped, encrypted (the state is the record's encrypted ``extra`` body), audited, under the
tenant's retention, and never listed by the conversations or threads APIs (``INTERNAL_KINDS``).

A record is changed read-modify-write under a lock of this process (one of a few striped locks): one commit per
change. Across weft processes sharing one PostgreSQL database the record is last-writer-wins; a run's tool outputs
carry an idempotency key per turn, so two processes never both take a turn of one run (weft.agents.runs).
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from weft.errors import NotFound
from weft.threads.policy import Principal
from weft.threads.service import Conversation, Page, ThreadService

_STRIPES = [threading.Lock() for _ in range(64)]
_FRESH_LIMIT = 1024

NOUN = {"assistant": "assistant", "run": "run", "agent": "agent"}


class AgentRecords:
    def __init__(self, service: ThreadService, kind: str):
        self.service = service
        self.kind = kind
        # records this process has just written, by id: (tenant, state, stored bytes), taken once by
        # read_for_write(fresh=True) in place of a read; any change through mutate() forgets its record
        self._fresh: dict[str, tuple[str, dict, bytes]] = {}

    def remember(self, principal: Principal, record_id: str, state: dict, stored: bytes | None) -> None:
        """The state this process has just stored (with its bytes as stored), for the next read_for_write(fresh=True)."""
        if stored is None:
            return
        while len(self._fresh) >= _FRESH_LIMIT:
            self._fresh.pop(next(iter(self._fresh)), None)
        self._fresh[record_id] = (principal.tenant_id, json.loads(json.dumps(state)), stored)  # a copy (JSON: it is stored as JSON)

    def _missing(self, record_id: str) -> NotFound:
        return NotFound(f"No {NOUN[self.kind]} found with id '{record_id}'.", code="not_found")

    def create(self, principal: Principal, state: dict, tags: dict[str, str] | None = None, record_id: str | None = None) -> Conversation:
        record, _ = self.service.create_conversation(principal, kind=self.kind, metadata=tags or {}, extra=state, conversation_id=record_id)
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

    def state_for_write(self, principal: Principal, record_id: str) -> dict:
        """The record's state read right before this process writes it back: not audited as a read of its own,
        since the write that follows is audited (and names the record); NotFound as ``get``."""
        return self.read_for_write(principal, record_id)[0]

    def read_for_write(self, principal: Principal, record_id: str, *, fresh: bool = False) -> tuple[dict, bytes | None]:
        """``state_for_write`` and the state's stored bytes (a later compare-and-swap's expectation,
        weft.threads.turns.TurnRecord.expect_extra). ``fresh``: what ``remember`` kept, when it is there, with no
        read (a write by another process since is then found by the compare-and-swap)."""
        from weft.errors import NotFound as _NotFound

        principal.require("read")
        kept = self._fresh.pop(record_id, None) if fresh else None
        if kept is not None and kept[0] == principal.tenant_id:
            return kept[1], kept[2]
        try:
            stored = self.service.store.get_conversation(principal.tenant_id, record_id)
            record = self.service._conversation(stored)
        except _NotFound:
            raise self._missing(record_id) from None
        if record.kind != self.kind:
            raise self._missing(record_id)
        return dict(record.extra), stored.extra_body

    @contextmanager
    def locked(self, principal: Principal, record_id: str) -> Iterator[None]:
        with _STRIPES[hash(record_id) % len(_STRIPES)]:
            yield

    def mutate(self, principal: Principal, record_id: str, change: Callable[[dict], Any]) -> tuple[dict, Any]:
        """Reads the state, applies ``change`` (which edits the dict in place and may return a value), writes it
        back: one read-modify-write under the record's lock."""
        with self.locked(principal, record_id):
            self._fresh.pop(record_id, None)
            state = self.state_for_write(principal, record_id)
            result = change(state)
            self.service.update_conversation(principal, record_id, extra=state)
        return state, result
