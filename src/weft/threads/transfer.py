"""Export and import conversations as JSON lines (one conversation line, then its items in order).

Exports are decrypted (plaintext JSON): protect the files. Import re-encrypts with the target
tenant's key and keeps conversation and item ids, so a round trip is lossless.
"""
from __future__ import annotations

import json
from typing import Iterable, Iterator

from weft.errors import InvalidInput
from weft.threads.policy import Principal
from weft.threads.service import Conversation, PendingItem, ThreadService

FORMAT = "weft.threads.v1"


def _conversation_line(c: Conversation) -> str:
    return json.dumps({"format": FORMAT, "record": "conversation", "id": c.id, "kind": c.kind, "created_at": c.created_at,
                       "created_at_ms": c.created_at_ms, "metadata": c.metadata, "extra": c.extra, "retention_seconds": c.retention_seconds}, ensure_ascii=False)


def export_lines(service: ThreadService, principal: Principal, conversation_id: str | None = None) -> Iterator[str]:
    if conversation_id:
        conversations = [service.get_conversation(principal, conversation_id)]
    else:
        conversations, after = [], None
        while True:
            page = service.list_conversations(principal, limit=100, order="asc", after=after)
            conversations.extend(page.data)
            if not page.has_more:
                break
            after = page.last_id
    for conversation in conversations:
        yield _conversation_line(conversation)
        for item in service.history(principal, conversation.id):
            yield json.dumps({"format": FORMAT, "record": "item", "conversation_id": conversation.id, "id": item.id, "seq": item.seq,
                              "type": item.type, "role": item.role, "created_at": item.created_at,
                              "created_at_ms": item.created_at_ms, "body": item.body}, ensure_ascii=False)


def import_lines(service: ThreadService, principal: Principal, lines: Iterable[str]) -> tuple[int, int]:
    conversations = items = 0
    current: dict | None = None
    pending: list[PendingItem] = []

    def flush() -> None:
        nonlocal conversations, items
        if current is None:
            return
        service.import_conversation(principal, current, pending)
        conversations += 1
        items += len(pending)

    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise InvalidInput(f"line {number} is not JSON.")
        if record.get("format") != FORMAT:
            raise InvalidInput(f"line {number} is not a {FORMAT} record.")
        if record.get("record") == "conversation":
            flush()
            current, pending = record, []
        elif record.get("record") == "item":
            if current is None or record.get("conversation_id") != current["id"]:
                raise InvalidInput(f"line {number}: an item must follow its conversation.")
            pending.append(PendingItem(record["type"], record.get("role"), record["body"], record["id"], record.get("created_at_ms")))
        else:
            raise InvalidInput(f"line {number}: unknown record kind.")
    flush()
    return conversations, items
