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


def entry_tokens(entry: HistoryEntry) -> int:
    if entry.type == "message":
        return estimate_tokens(entry.text if entry.text is not None else message_text(entry.body))
    if entry.type == "function_call":
        return estimate_tokens(entry.body.get("name", "") + entry.body.get("arguments", ""))
    if entry.type == "function_call_output":
        output = entry.body.get("output")
        return estimate_tokens(output if isinstance(output, str) else json.dumps(output))
    return 0


def truncate(history: list[HistoryEntry], new_input: list[HistoryEntry], budget: int,
             sizes: list[int] | None = None) -> tuple[list[HistoryEntry], int]:
    """Drops the oldest history entries until history + input fit in ``budget`` tokens.

    System and developer messages are always kept, and so is the new input. A dropped function call
    takes its outputs with it (a tool result without its call is rejected by chat endpoints).
    Returns the kept history (in order) and how many entries were dropped. ``sizes``: the history's
    ``entry_tokens``, when the caller has them already.
    """
    sizes = sizes if sizes is not None and len(sizes) == len(history) else [entry_tokens(e) for e in history]
    total = sum(sizes) + sum(entry_tokens(e) for e in new_input)
    keep = [True] * len(history)
    dropped_calls: set[str] = set()
    for index, entry in enumerate(history):
        if total <= budget:
            break
        if entry.type == "message" and entry.role in KEPT_ROLES:
            continue
        keep[index] = False
        total -= sizes[index]
        if entry.type == "function_call":
            dropped_calls.add(entry.body.get("call_id", ""))
    kept = []
    for index, entry in enumerate(history):
        if not keep[index]:
            continue
        if entry.type == "function_call_output" and entry.body.get("call_id") in dropped_calls:
            continue
        kept.append(entry)
    # an output whose call was dropped earlier than the budget loop looked is dropped too
    present_calls = {e.body.get("call_id") for e in kept if e.type == "function_call"}
    kept = [e for e in kept if not (e.type == "function_call_output" and e.body.get("call_id") not in present_calls)]
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
