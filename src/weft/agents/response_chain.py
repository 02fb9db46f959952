"""``previous_response_id``: what the model sees, and the rules OpenAI applies to a chain.

The model sees the input and output items of the named response and of each of its ancestors,
oldest first, then the new input. ``instructions`` are not carried over. Chains are trees: any stored
response can be the parent of several (a fork), and a fork sees its own ancestors only, never a
sibling. Tool outputs in the new input must answer calls of the chain, and every call the parent
response made must be answered.
"""
from __future__ import annotations

from weft.agents.response_request import invalid
from weft.agents.responses_store import ResponseRecords
from weft.errors import NotFound
from weft.threads.history import HistoryEntry
from weft.threads.policy import Principal
from weft.threads.service import PendingItem

MAX_CHAIN = 1000  # ancestors followed at most (a guard against a cycle in damaged data)
_CALL_TYPES = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}
_OUTPUT_TYPES = set(_CALL_TYPES.values())


def _entry(item: dict) -> HistoryEntry:
    keep_id = str(item.get("type", "")).startswith("mcp_")  # MCP items are paired by id (weft.agents.server_tools)
    return HistoryEntry(item.get("type", "message"), item.get("role"), {k: v for k, v in item.items() if k != "id" or keep_id})


def load_chain(records: ResponseRecords, principal: Principal, previous_response_id: str) -> list[HistoryEntry]:
    """The items of the chain ending at ``previous_response_id``, oldest first."""
    responses = []
    cursor: str | None = previous_response_id
    while cursor and len(responses) < MAX_CHAIN:
        try:
            stored = records.get(principal, cursor)
        except NotFound:
            if cursor == previous_response_id:
                raise invalid(f"Previous response with id '{previous_response_id}' not found.", "previous_response_id",
                              "previous_response_not_found") from None
            break  # an ancestor deleted since: the chain starts after it
        if cursor == previous_response_id and stored.response.get("status") in ("queued", "in_progress"):
            raise invalid(f"Previous response with id '{previous_response_id}' is still {stored.response['status']}; "
                          "wait until it completes.", "previous_response_id", "previous_response_in_progress")
        responses.append(stored)
        cursor = stored.response.get("previous_response_id")
    entries: list[HistoryEntry] = []
    for stored in reversed(responses):
        entries.extend(_entry(i) for i in ResponseRecords.as_entries(stored))
    return entries


def check_tool_outputs(chain: list[HistoryEntry], new_input: list[PendingItem]) -> None:
    """OpenAI's two 400s: an output that answers no call, and a call of the parent left unanswered."""
    calls = {e.body.get("call_id") for e in chain if e.type in _CALL_TYPES}
    calls |= {p.body.get("call_id") for p in new_input if p.type in _CALL_TYPES}
    answered = {e.body.get("call_id") for e in chain if e.type in _OUTPUT_TYPES}
    for p in new_input:
        if p.type in _OUTPUT_TYPES:
            if p.body.get("call_id") not in calls:
                raise invalid(f"No tool call found for function call output with call_id {p.body.get('call_id')}.", "input", None)
            answered.add(p.body.get("call_id"))
    for e in chain:
        if e.type in _CALL_TYPES and e.body.get("call_id") not in answered:
            raise invalid(f"No tool output found for function call {e.body.get('call_id')}.", "input", None)
