"""``POST /v1/responses/compact``: a long context made short, as OpenAI's compaction does.

The context (``input``, after the ``previous_response_id`` chain when given) goes to the model with an
instruction to summarize it; the answer is the compacted window OpenAI defines: every user message of the
context, then one ``compaction`` item. OpenAI's ``encrypted_content`` is opaque and only its own servers read
it; weft's is its own format, ``weft-compaction-v1.`` and the summary as base64url JSON: encoded, not
encrypted (it goes back to the caller whose context it summarizes). Sent back as input to ``/v1/responses``,
weft shows the model the summary as a system message; a compaction item made elsewhere is a 400.
"""
from __future__ import annotations

import base64
import binascii
import json
import time

from weft.agents.response_chain import load_chain
from weft.agents.response_request import invalid
from weft.agents.response_stream import usage_of
from weft.threads.history import HistoryEntry, to_chat_messages
from weft.threads.items import item_id_for, new_id
from weft.threads.policy import Principal

PREFIX = "weft-compaction-v1."
MEMBERS = {"model", "input", "instructions", "previous_response_id", "prompt_cache_key", "service_tier"}
SUMMARY_INSTRUCTIONS = ("Write a compact summary of the conversation so far for your own later use: the facts, decisions, "
                        "tool results and open questions a continuation needs. Answer with the summary only.")
SUMMARY_HEADER = "Summary of the earlier conversation:\n"


def encode(summary: str) -> str:
    raw = json.dumps({"summary": summary}, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(content) -> str:
    if not isinstance(content, str) or not content.startswith(PREFIX):
        raise invalid("This compaction item was not made by this server (its encrypted_content is not weft's); "
                      "compact the context with this server's POST /v1/responses/compact.", "input")
    body = content[len(PREFIX):]
    try:
        summary = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["summary"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid("This compaction item's encrypted_content is damaged.", "input") from None
    if not isinstance(summary, str):
        raise invalid("This compaction item's encrypted_content is damaged.", "input")
    return summary


def compaction_message(body: dict) -> HistoryEntry:
    """A ``compaction`` item as the model sees it."""
    return HistoryEntry("message", "system", {"type": "message", "role": "system",
                                              "content": SUMMARY_HEADER + decode(body.get("encrypted_content"))})


def compact(service, principal: Principal, body: dict) -> dict:
    from weft.agents.server_tools import model_view

    principal.require("write")
    unknown = sorted(k for k in body if k not in MEMBERS and body[k] is not None)
    if unknown:
        raise invalid(f"Unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter")
    if not body.get("model"):
        raise invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    request = service.parse(body)
    history = load_chain(service.records, principal, request.previous_response_id) if request.previous_response_id else []
    entries = history + [HistoryEntry(p.type, p.role, p.body) for p in request.input_items]
    instructions = SUMMARY_INSTRUCTIONS + (f"\n\nThe conversation's own instructions were:\n{request.instructions}"
                                           if request.instructions else "")
    messages = to_chat_messages(model_view(entries), instructions)
    completion = service.endpoint.complete({"model": request.model, "messages": messages, **request.passed})
    summary = (((completion.get("choices") or [{}])[0].get("message") or {}).get("content")) or ""
    users = [{"id": item_id_for("message"), **e.body} for e in entries if e.type == "message" and e.role == "user"]
    item = {"id": new_id("cmp"), "type": "compaction", "encrypted_content": encode(summary), "created_by": "weft"}
    return {"id": new_id("resp"), "object": "response.compaction", "created_at": int(time.time()), "output": users + [item],
            "usage": usage_of(completion.get("usage"))}
