"""Stored responses: held in the thread store, as a row of kind ``response`` with its input items.

A stored response is a "conversation" record of its own (``kind = "response"``, id ``resp_…``):

* its ``extra`` body holds the **Response object** (status, output, usage, the echoed request fields,
  the chain link ``previous_response_id``) and its **input items**, written in the one transaction that
  creates the record: a chain of N responses is then N reads, one per ancestor.

So it has, with no code of its own, what conversations have: tenant isolation (every read is scoped by
the caller's tenant), encryption at rest (the tenant's data key seals the items and the extra body),
the audit trail (``response.create``, reads, deletes), retention (the tenant's retention, or the
record's own: a background response with ``store: false`` is kept 10 minutes for polling) and
deletion that cascades to the items.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weft.errors import NotFound
from weft.threads.items import item_id_for
from weft.threads.policy import Principal
from weft.threads.service import Page, PendingItem, ThreadService


class _Input:
    """An input item on a page (``id`` and ``body``, like a stored Item)."""

    def __init__(self, item: dict):
        self.id = item["id"]
        self.body = {k: v for k, v in item.items() if k != "id"}

KIND = "response"
POLLING_RETENTION_SECONDS = 600  # a background response with store:false: about 10 minutes, as OpenAI


@dataclass
class StoredResponse:
    response: dict  # the Response object as returned to clients
    inputs: list[dict]  # the input items (rendered, with ids), oldest first
    owner: str | None  # the process running it (background), for crash detection
    updated_at_ms: int


def _not_found(response_id: str) -> NotFound:
    error = NotFound(f"Response with id '{response_id}' not found.")
    error.param = "response_id"  # type: ignore[attr-defined]
    return error


class ResponseRecords:
    def __init__(self, service: ThreadService):
        self.service = service

    def save(self, principal: Principal, response: dict, inputs: list[PendingItem], *, owner: str | None = None,
             retention_seconds: int | None = None) -> None:
        """Creates the record with its input items in one transaction."""
        items = [{"id": item_id_for(p.type), **p.body} for p in inputs]
        self.service.create_conversation(principal, kind=KIND, conversation_id=response["id"], pending=[],
                                         extra={"response": response, "inputs": items, "owner": owner},
                                         retention_seconds=retention_seconds)

    def update(self, principal: Principal, stored: "StoredResponse", response: dict, *, owner: str | None = None) -> None:
        self.service.update_conversation(principal, response["id"], extra={"response": response, "inputs": stored.inputs, "owner": owner})

    def touch(self, tenant_id: str, response_id: str) -> None:
        """The heartbeat of a background response's run: the record's ``updated_at`` set to now."""
        try:
            self.service.touch_conversation(tenant_id, response_id)
        except NotFound:  # deleted meanwhile: nothing left to keep alive
            pass

    def update_if_unchanged(self, principal: Principal, stored: "StoredResponse", response: dict) -> bool:
        """The record's new state, only while nothing (a heartbeat, the run's end) has written it since ``stored``."""
        return self.service.update_conversation_if_unchanged(
            principal, response["id"], stored.updated_at_ms,
            extra={"response": response, "inputs": stored.inputs, "owner": stored.owner})

    def get(self, principal: Principal, response_id: str) -> StoredResponse:
        try:
            record = self.service.get_conversation(principal, response_id)
        except NotFound:
            raise _not_found(response_id) from None
        if record.kind != KIND:
            raise _not_found(response_id)
        return StoredResponse(record.extra["response"], record.extra.get("inputs") or [], record.extra.get("owner"), record.updated_at_ms)

    def input_items(self, principal: Principal, response_id: str, *, limit: int, order: str, after: str | None,
                    before: str | None) -> Page:
        items = self.get(principal, response_id).inputs
        if order == "desc":
            items = items[::-1]
        ids = [i["id"] for i in items]
        for cursor, forward in ((after, True), (before, False)):
            if cursor:
                if cursor not in ids:
                    raise NotFound(f"Item with id '{cursor}' not found.")
                at = ids.index(cursor)
                items, ids = (items[at + 1:], ids[at + 1:]) if forward else (items[:at], ids[:at])
        return Page([_Input(i) for i in items[:limit]], len(items) > limit)

    def delete(self, principal: Principal, response_id: str) -> None:
        self.get(principal, response_id)
        self.service.delete_conversation(principal, response_id)

    @staticmethod
    def as_entries(stored: StoredResponse) -> list[dict[str, Any]]:
        """What this response contributes to a chain: its input items, then its output items."""
        return stored.inputs + [dict(o) for o in stored.response.get("output") or []]
