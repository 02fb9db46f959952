"""``truncation: "auto"`` on a conversation whose cut falls on a tool call: what the model is sent never holds a tool
output without its call (weft.threads.history.truncate keeps a call+output pair together)."""
from __future__ import annotations

import pytest

from weft.agents.responses import ResponsesService
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService
from weft.threads.settings import ThreadsSettings

P = Principal.library("acme")


@pytest.fixture
def responses(sqlite_store, fake_llm):
    settings = ThreadsSettings(database_url="unused", llm_base_url=fake_llm.base_url, llm_model="fake-model",
                               history_token_budget=100)
    svc = ResponsesService(ThreadService(sqlite_store), settings)
    yield svc
    svc.close()


def _message(role: str, text: str) -> PendingItem:
    kind = "output_text" if role == "assistant" else "input_text"
    return PendingItem("message", role, {"type": "message", "role": role, "content": [{"type": kind, "text": text}]})


def _sent_in_pairs(messages: list[dict]) -> None:
    offered: set[str] = set()
    for m in messages:
        for call in m.get("tool_calls") or []:
            offered.add(call["id"])
        if m["role"] == "tool":
            assert m["tool_call_id"] in offered, f"a tool output without its call: {messages}"


@pytest.mark.parametrize("kind", ["function_call", "azure_ai_search_call"])
def test_the_answered_call_at_the_cut_is_sent_with_its_output(responses, fake_llm, kind):
    conv, _ = responses.service.create_conversation(P)
    body = ({"type": kind, "call_id": "call_cut", "name": "get_weather", "arguments": '{"city": "Paris"}', "status": "completed"}
            if kind == "function_call" else {"type": kind, "call_id": "call_cut", "arguments": '{"query": "x"}', "status": "completed"})
    responses.service.append_items(P, conv.id, None, pending=[
        _message("user", "old " + "x" * 400), PendingItem(kind, None, body), _message("assistant", "checking " + "y" * 400)])
    if kind == "function_call":
        answer = {"type": "function_call_output", "call_id": "call_cut", "output": "sunny"}
        done = responses.create(P, {"conversation": conv.id, "input": [answer], "truncation": "auto"})
        assert done["status"] == "completed"
        sent = fake_llm.requests[-1]["body"]["messages"]
        assert sent[-2]["tool_calls"][0]["id"] == "call_cut" and sent[-1]["role"] == "tool"
    else:  # a search call and its output, then a long message: the pair is kept or dropped whole
        responses.service.append_items(P, conv.id, None, pending=[
            PendingItem("azure_ai_search_call_output", None, {"type": "azure_ai_search_call_output", "call_id": "call_cut",
                                                              "output": '{"documents": []}', "status": "completed"}),
            _message("assistant", "found " + "z" * 200)])
        responses.create(P, {"conversation": conv.id, "input": "and now?", "truncation": "auto"})
        sent = fake_llm.requests[-1]["body"]["messages"]
    _sent_in_pairs(sent)
    assert sent[0]["role"] != "tool"
