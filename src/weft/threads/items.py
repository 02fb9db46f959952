"""The item union (messages, function calls and their outputs, ...) and metadata rules: validation
of what clients send and the JSON shapes returned. Pure functions, no storage."""
from __future__ import annotations

import secrets
from typing import Any

from weft.errors import InvalidInput

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_ITEMS_PER_REQUEST = 20
MESSAGE_ROLES = ("user", "assistant", "system", "developer", "critic", "discriminator", "tool", "unknown")
TEXT_PART_TYPES = ("input_text", "output_text", "text", "summary_text", "reasoning_text", "refusal")
_ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def item_id_for(item_type: str) -> str:
    return new_id(_ID_PREFIX.get(item_type, "item"))


def validate_metadata(metadata: Any, *, param: str = "metadata") -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise _invalid("metadata must be an object of string keys and string values.", param)
    if len(metadata) > MAX_METADATA_PAIRS:
        raise _invalid(f"metadata can have at most {MAX_METADATA_PAIRS} pairs; got {len(metadata)}.", param)
    clean: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > MAX_METADATA_KEY:
            raise _invalid(f"metadata keys must be strings of 1 to {MAX_METADATA_KEY} characters.", param)
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            raise _invalid(f"metadata value for '{key}' must be a string of at most {MAX_METADATA_VALUE} characters.", param)
        clean[key] = value
    return clean


def _invalid(message: str, param: str | None) -> InvalidInput:
    error = InvalidInput(message, code="invalid_value")
    error.param = param  # type: ignore[attr-defined]
    return error


def _text_parts(content: Any, role: str, param: str) -> list[dict]:
    default_type = "output_text" if role == "assistant" else "input_text"
    if isinstance(content, str):
        parts: list = [{"type": default_type, "text": content}]
    elif isinstance(content, list):
        parts = content
    else:
        raise _invalid("message content must be a string or a list of content parts.", param)
    clean = []
    for n, part in enumerate(parts):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _invalid("each content part must be an object with a 'type'.", f"{param}[{n}]")
        part = dict(part)
        if part["type"] in TEXT_PART_TYPES:
            if part["type"] == "refusal":
                if not isinstance(part.get("refusal"), str):
                    raise _invalid("a refusal part needs a string 'refusal'.", f"{param}[{n}]")
            elif not isinstance(part.get("text"), str):
                raise _invalid(f"a {part['type']} part needs a string 'text'.", f"{param}[{n}]")
            if part["type"] == "output_text":
                part.setdefault("annotations", [])
        clean.append(part)
    return clean


def normalize_input_item(raw: Any, param: str = "items") -> tuple[str, str | None, dict]:
    """Validates one item as the Conversations/Responses APIs accept it; returns (type, role, body).

    ``body`` is what gets stored (encrypted when on): everything but the id.
    """
    if not isinstance(raw, dict):
        raise _invalid("each item must be an object.", param)
    item_type = raw.get("type", "message" if "role" in raw else None)
    if not isinstance(item_type, str):
        raise _invalid("each item needs a 'type' (or a 'role' for a message).", param)
    if item_type == "message":
        role = raw.get("role")
        if role not in MESSAGE_ROLES:
            raise _invalid(f"message role must be one of {', '.join(MESSAGE_ROLES)}.", f"{param}.role")
        body = {"type": "message", "role": role, "content": _text_parts(raw.get("content"), role, f"{param}.content"),
                "status": raw.get("status", "completed")}
        if raw.get("phase"):
            body["phase"] = raw["phase"]
        return "message", role, body
    if item_type == "function_call":
        for field in ("call_id", "name", "arguments"):
            if not isinstance(raw.get(field), str):
                raise _invalid(f"a function_call item needs a string '{field}'.", f"{param}.{field}")
        body = {"type": "function_call", "call_id": raw["call_id"], "name": raw["name"], "arguments": raw["arguments"],
                "status": raw.get("status", "completed")}
        return "function_call", None, body
    if item_type == "function_call_output":
        if not isinstance(raw.get("call_id"), str):
            raise _invalid("a function_call_output item needs a string 'call_id'.", f"{param}.call_id")
        output = raw.get("output")
        if not isinstance(output, (str, list)):
            raise _invalid("a function_call_output item needs an 'output' string or list.", f"{param}.output")
        return "function_call_output", None, {"type": "function_call_output", "call_id": raw["call_id"], "output": output,
                                              "status": raw.get("status", "completed")}
    if item_type == "item_reference":
        raise _invalid("item_reference items are not supported here.", f"{param}.type")
    # Other members of the union (reasoning, web_search_call, ...) are stored as given.
    body = {k: v for k, v in raw.items() if k != "id"}
    return item_type, raw.get("role") if isinstance(raw.get("role"), str) else None, body


def render_item(item_id: str, body: dict, created_at_ms: int | None = None) -> dict:
    out = {"id": item_id, **body}
    if out.get("type") == "message":
        out.setdefault("status", "completed")
    return out


def message_text(body: dict) -> str:
    """All text of a message item (for token counting and the chat endpoint)."""
    content = body.get("content")
    if isinstance(content, str):
        return content
    texts = []
    for part in content or []:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
    return "".join(texts)


def check_paging(limit: Any, order: Any, *, default_order: str) -> tuple[int, str]:
    try:
        limit_value = 20 if limit is None else int(limit)
    except (TypeError, ValueError):
        raise _invalid("limit must be an integer between 1 and 100.", "limit")
    if not 1 <= limit_value <= 100:
        raise _invalid("limit must be an integer between 1 and 100.", "limit")
    order_value = default_order if order is None else order
    if order_value not in ("asc", "desc"):
        raise _invalid("order must be 'asc' or 'desc'.", "order")
    return limit_value, order_value
