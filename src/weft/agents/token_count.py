"""``POST /v1/responses/input_tokens``: how many input tokens a Responses request would send.

The count is weft's own estimate, the one it checks against ``WEFT_HISTORY_TOKEN_BUDGET`` for ``truncation``
(about four characters a token plus a few per item, weft.threads.history.estimate_tokens), over what the model
would see: the instructions, the tool definitions (as JSON; an MCP server's tools are not listed for a count),
the history (conversation or ``previous_response_id`` chain; with ``truncation: "auto"`` after weft would
drop the oldest items) and the new input. It is not the model's tokenizer: tiktoken, the library for OpenAI's
encodings, downloads them from the internet at first use, and the models behind weft are any
OpenAI-compatible server, whose tokenizer weft cannot know.
"""
from __future__ import annotations

import json
import sys

from weft.agents.response_chain import load_chain
from weft.agents.response_request import invalid
from weft.agents.server_tools import model_view
from weft.threads.history import HistoryEntry, entry_tokens, estimate_tokens, truncate
from weft.threads.policy import Principal

# the members of OpenAI's input token count request
MEMBERS = {"conversation", "input", "instructions", "model", "parallel_tool_calls", "previous_response_id", "reasoning", "text",
           "tool_choice", "tools", "truncation"}


def count_input_tokens(service, principal: Principal, body: dict) -> dict:
    principal.require("read")
    unknown = sorted(k for k in body if k not in MEMBERS and body[k] is not None)
    if unknown:
        raise invalid(f"Unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter")
    request = service.parse({**body, "model": body.get("model") or service.settings.llm_model or "weft-estimate"})
    everything = sys.maxsize // 4
    budget = service.settings.history_token_budget if request.truncation == "auto" else everything
    history: list[HistoryEntry] = []
    if request.conversation_id:
        loaded = service.service.recent_history(principal, request.conversation_id, budget,
                                                lambda item: entry_tokens(HistoryEntry(item.type, item.role, item.body)))
        history = [HistoryEntry(i.type, i.role, i.body) for i in loaded]
    elif request.previous_response_id:
        history = load_chain(service.records, principal, request.previous_response_id)
    new = [HistoryEntry(p.type, p.role, p.body) for p in request.input_items]
    if request.truncation == "auto":
        history, _dropped = truncate(history, new, budget)
    tokens = sum(entry_tokens(e) for e in model_view(history + new))
    if request.instructions:
        tokens += estimate_tokens(request.instructions)
    if request.tools:
        tokens += estimate_tokens(json.dumps(request.tools, separators=(",", ":")))
    if request.text["format"]["type"] == "json_schema":
        tokens += estimate_tokens(json.dumps(request.text["format"].get("schema"), separators=(",", ":")))
    return {"object": "response.input_tokens", "input_tokens": tokens}
