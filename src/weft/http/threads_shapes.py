"""JSON shapes of the OpenAI Conversations API and the Foundry/Assistants threads API, from service values."""
from __future__ import annotations

from typing import Any

from weft.agents.citations import foundry_annotation
from weft.threads.service import Conversation, Item, Page

_FOUNDRY_ONLY = ("metadata", "attachments", "run_id", "assistant_id")


def conversation_json(conversation: Conversation) -> dict:
    return {"id": conversation.id, "object": "conversation", "created_at": conversation.created_at, "metadata": conversation.metadata}


def item_json(item: Item) -> dict:
    """An item in OpenAI's shape; weft adds the item's ``metadata`` when it has any (e.g. an imported
    email's ``message_id`` and threading headers)."""
    body = {k: v for k, v in item.body.items() if k not in _FOUNDRY_ONLY}
    out = {"id": item.id, **body}
    if item.metadata:
        out["metadata"] = item.metadata
    return out


def list_json(data: list[dict], has_more: bool) -> dict:
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": has_more}


def item_page_json(page: Page) -> dict:
    return list_json([item_json(i) for i in page.data], page.has_more)


# ---- Foundry / Assistants ---------------------------------------------------------------------------
def thread_json(conversation: Conversation) -> dict:
    return {"id": conversation.id, "object": "thread", "created_at": conversation.created_at,
            "metadata": conversation.metadata, "tool_resources": conversation.extra.get("tool_resources") or {}}


def _foundry_part(part: dict) -> dict:
    if part.get("type") in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
        return {"type": "text", "text": {"value": part["text"], "annotations": [
            foundry_annotation(a, part["text"]) for a in part.get("annotations") or []]}}
    return part


def is_thread_message(item: Item) -> bool:
    """What the Foundry messages API shows: messages. A tool call and its output are run steps there, never
    messages (they stay items of the conversation, as the Responses face shows them)."""
    return item.type == "message"


def message_json(item: Item) -> dict:
    content = item.body.get("content") or []
    status = item.body.get("status") if item.body.get("status") in ("in_progress", "incomplete") else "completed"
    return {
        "id": item.id, "object": "thread.message", "created_at": item.created_at, "thread_id": item.conversation_id,
        "status": status, "incomplete_details": None, "completed_at": item.created_at if status == "completed" else None,
        "incomplete_at": None, "role": item.role if item.role in ("user", "assistant") else "assistant",
        "content": [_foundry_part(p) for p in content], "assistant_id": item.body.get("assistant_id"), "run_id": item.body.get("run_id"),
        "attachments": item.body.get("attachments") or [], "metadata": item.body.get("metadata") or {},
    }


def foundry_message_to_item(raw: Any) -> dict:
    """A Foundry message create body (role, content str|blocks, attachments, metadata) to an input item."""
    if not isinstance(raw, dict):
        return raw
    role = raw.get("role")
    content = raw.get("content")
    text_type = "output_text" if role == "assistant" else "input_text"
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                text = block.get("text")
                parts.append({"type": text_type, "text": text.get("value") if isinstance(text, dict) else text})
            else:
                parts.append(block)
        content = parts
    item = {"type": "message", "role": role, "content": content}
    return item
