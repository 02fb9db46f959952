"""Stored items -> chat-completions messages, with oldest-first truncation to a token budget. Pure."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from weft.threads.items import message_text

KEPT_ROLES = ("system", "developer")
PER_MESSAGE_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """About four characters per token, as OpenAI's rule of thumb; an estimate, no tokenizer needed."""
    return math.ceil(len(text) / 4) + PER_MESSAGE_TOKENS


@dataclass(frozen=True)
class HistoryEntry:
    type: str
    role: str | None
    body: dict[str, Any]
    text: str | None = field(default=None, compare=False)  # a message's message_text(body), when already known


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value)


def entry_tokens(entry: HistoryEntry) -> int:
    body = entry.body
    if entry.type == "message":
        return estimate_tokens(entry.text if entry.text is not None else message_text(body))
    if entry.type in ("function_call", "mcp_approval_request"):
        return estimate_tokens(_text(body.get("name")) + _text(body.get("arguments")))
    if entry.type in ("function_call_output", "azure_ai_search_call_output"):
        return estimate_tokens(_text(body.get("output")))
    if entry.type == "azure_ai_search_call":
        return estimate_tokens(_text(body.get("arguments")))
    if entry.type == "mcp_call":  # a call and its output in one item
        return estimate_tokens(_text(body.get("name")) + _text(body.get("arguments")) + _text(body.get("output")))
    return 0


# A tool call and what answers it are separate items the chat model must see together (a tool output without
# its call is refused by chat endpoints): items of one pair share a key, and truncation keeps or drops them all.
CALL_TYPES = ("function_call", "azure_ai_search_call", "mcp_approval_request")
ANSWER_TYPES = ("function_call_output", "azure_ai_search_call_output", "mcp_approval_response", "mcp_call")


def pair_key(entry: HistoryEntry) -> str | None:
    """The key an item shares with the other half of its tool-call pair; None for an item that stands alone."""
    body = entry.body
    if entry.type in ("function_call", "function_call_output", "azure_ai_search_call", "azure_ai_search_call_output"):
        return f"call:{body.get('call_id')}"
    if entry.type == "mcp_approval_request":
        return f"approval:{body.get('id')}"
    if entry.type in ("mcp_approval_response", "mcp_call") and body.get("approval_request_id"):
        return f"approval:{body.get('approval_request_id')}"
    return None  # a message, an mcp_call run without approval (call and output in one item), ...


def truncate(history: list[HistoryEntry], new_input: list[HistoryEntry], budget: int,
             sizes: list[int] | None = None) -> tuple[list[HistoryEntry], int]:
    """Drops the oldest history entries until history + input fit in ``budget`` tokens.

    System and developer messages are always kept, and so is the new input. A tool call and its output
    (``pair_key``) are dropped together or kept together; a call the new input answers (its tool output
    or approval response is in ``new_input``) is kept. An answer whose call is in neither the kept history
    nor the new input (cut off before the history was loaded) is dropped, so the kept window never starts
    with an orphan tool output. Returns the kept history (in order) and how many entries were dropped.
    ``sizes``: the history's ``entry_tokens``, when the caller has them already.
    """
    sizes = sizes if sizes is not None and len(sizes) == len(history) else [entry_tokens(e) for e in history]
    total = sum(sizes) + sum(entry_tokens(e) for e in new_input)
    if total <= budget and not any(e.type in ANSWER_TYPES for e in history):
        return list(history), 0  # it fits, and no answer can have lost its call: nothing to drop
    keys = [pair_key(e) for e in history]
    members: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        if key is not None:
            members.setdefault(key, []).append(index)
    answered = {pair_key(e) for e in new_input} - {None}
    keep = [True] * len(history)
    for index, entry in enumerate(history):
        if total <= budget:
            break
        if not keep[index] or (entry.type == "message" and entry.role in KEPT_ROLES):
            continue
        key = keys[index]
        if key in answered:
            continue
        for member in members[key] if key is not None else [index]:
            if keep[member]:
                keep[member] = False
                total -= sizes[member]
    kept = [e for n, e in enumerate(history) if keep[n]]
    called = {pair_key(e) for e in kept + list(new_input) if e.type in CALL_TYPES}
    kept = [e for e in kept if not (e.type in ANSWER_TYPES and pair_key(e) is not None and pair_key(e) not in called)]
    return kept, len(history) - len(kept)


def to_chat_messages(entries: list[HistoryEntry], instructions: str | None = None) -> list[dict]:
    messages: list[dict] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for entry in entries:
        if entry.type == "message":
            role = entry.role or "user"
            role = "system" if role == "developer" else role
            if role not in ("system", "user", "assistant", "tool"):
                role = "user"
            messages.append({"role": role, "content": entry.text if entry.text is not None else message_text(entry.body)})
        elif entry.type == "function_call":
            call = {"id": entry.body.get("call_id"), "type": "function",
                    "function": {"name": entry.body.get("name"), "arguments": entry.body.get("arguments", "")}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif entry.type == "function_call_output":
            output = entry.body.get("output")
            messages.append({"role": "tool", "tool_call_id": entry.body.get("call_id"),
                             "content": output if isinstance(output, str) else json.dumps(output)})
    return messages
