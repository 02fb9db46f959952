"""POST /v1/responses with a conversation: history in, output stored, SSE streaming, locking, truncation.

The upstream model is a fake OpenAI-compatible server started by the test; the client is the openai SDK.
"""
from __future__ import annotations

import threading

import httpx
import openai
import pytest

from tests.threads.fake_llm import FakeChatServer
from tests.threads.live import ThreadsServer


def test_response_uses_and_extends_the_conversation(sdk, fake_llm):
    conv = sdk.conversations.create(items=[{"type": "message", "role": "developer", "content": "Be brief."}])
    first = sdk.responses.create(model="fake-model", conversation=conv.id, input="Hello there")
    assert first.status == "completed" and first.output_text == "echo: Hello there"
    second = sdk.responses.create(model="fake-model", conversation={"id": conv.id}, input=[{"role": "user", "content": "Again"}])
    assert second.output_text == "echo: Again"
    sent = fake_llm.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "Hello there" and sent[2]["content"] == "echo: Hello there"
    assert fake_llm.requests[-1]["authorization"] == "Bearer upstream-key"
    items = sdk.conversations.items.list(conv.id, order="asc").data
    assert [(i.type, i.role) for i in items] == [("message", "developer"), ("message", "user"), ("message", "assistant"),
                                                 ("message", "user"), ("message", "assistant")]
    assert items[-1].id == second.output[0].id


def test_streaming_stores_the_output(sdk):
    conv = sdk.conversations.create()
    events = list(sdk.responses.create(model="fake-model", conversation=conv.id, input="stream these words", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "echo: stream these words"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert final.output_text == deltas
    stored = sdk.conversations.items.list(conv.id, order="asc").data
    assert [i.role for i in stored] == ["user", "assistant"] and stored[1].content[0].text == deltas


def test_function_calls_round_trip(sdk, fake_llm):
    conv = sdk.conversations.create()
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    asked = sdk.responses.create(model="fake-model", conversation=conv.id, input="what's the weather?", tools=tools)
    call = asked.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id.startswith("call_")
    answered = sdk.responses.create(model="fake-model", conversation=conv.id, tools=tools,
                                    input=[{"type": "function_call_output", "call_id": call.call_id, "output": "{\"temp\": 21}"}])
    assert answered.output_text == "echo: {\"temp\": 21}"
    sent = fake_llm.requests[-1]["body"]["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == call.call_id
    assert sent[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "{\"temp\": 21}"}
    kinds = [i.type for i in sdk.conversations.items.list(conv.id, order="asc").data]
    assert kinds == ["message", "function_call", "function_call_output", "message"]


def test_history_is_truncated_oldest_first_keeping_system(sdk, fake_llm):
    conv = sdk.conversations.create(items=[{"type": "message", "role": "system", "content": "SYSTEM RULES"}])
    for n in range(12):  # the live server's budget is 400 tokens; each message is ~55
        sdk.conversations.items.create(conv.id, items=[{"type": "message", "role": "user", "content": f"old-{n} " + "x" * 200}])
    sdk.responses.create(model="fake-model", conversation=conv.id, input="latest question", truncation="auto")
    sent = fake_llm.requests[-1]["body"]["messages"]
    assert sent[0] == {"role": "system", "content": "SYSTEM RULES"}
    assert sent[-1]["content"] == "latest question"
    kept = [m["content"].split(" ")[0] for m in sent[1:-1]]
    assert 0 < len(kept) < 12 and kept == [f"old-{n}" for n in range(12 - len(kept), 12)]  # the newest survive, in order


def test_concurrent_requests_on_one_conversation_are_refused_not_interleaved(tmp_path):
    slow = FakeChatServer(delay=1.0).start()
    server = ThreadsServer(tmp_path / "data", env={"WEFT_LLM_BASE_URL": slow.base_url, "WEFT_LLM_MODEL": "slow",
                                                   "WEFT_CONVERSATION_LOCK_MODE": "refuse"}).start()
    try:
        client = openai.OpenAI(base_url=f"{server.endpoint}/v1", api_key=server.admin_key, max_retries=0)
        conv = client.conversations.create()
        outcomes: list = []

        def ask(n: int) -> None:
            try:
                outcomes.append(client.responses.create(model="slow", conversation=conv.id, input=f"q{n}").output_text)
            except openai.BadRequestError as exc:  # OpenAI's status and code (a 409 would be retried by the SDK)
                assert exc.param == "conversation"
                outcomes.append(exc.code)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(o for o in outcomes if o == "conversation_locked") == ["conversation_locked"] * 2
        # plain appends are refused while a response holds the conversation, too
        seen = len(slow.requests)
        holder = threading.Thread(target=ask, args=(9,))
        holder.start()
        import time

        deadline = time.monotonic() + 10
        while len(slow.requests) == seen:  # the upstream has the request: the lock is held now
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # OpenAI's answer for a busy conversation is one: 400 conversation_locked (BadRequestError, never retried)
        with pytest.raises(openai.BadRequestError) as refused:
            client.conversations.items.create(conv.id, items=[{"role": "user", "content": "sneaky"}])
        holder.join()
        assert refused.value.status_code == 400 and refused.value.code == "conversation_locked"
        assert refused.value.param == "conversation"
        items = client.conversations.items.list(conv.id, order="asc").data
        roles = [i.role for i in items]
        assert roles == ["user", "assistant"] * 2  # each exchange stored whole, never interleaved
        assert client.responses.create(model="slow", conversation=conv.id, input="after").output_text == "echo: after"
        client.close()
    finally:
        server.stop()
        slow.stop()


def test_unknown_conversation_and_missing_model_config(sdk):
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="fake-model", conversation="conv_missing", input="hi")


def test_wait_mode_serializes_concurrent_requests(tmp_path):
    slow = FakeChatServer(delay=0.5).start()  # the default mode: wait
    server = ThreadsServer(tmp_path / "data", env={"WEFT_LLM_BASE_URL": slow.base_url, "WEFT_LLM_MODEL": "slow"}).start()
    try:
        client = openai.OpenAI(base_url=f"{server.endpoint}/v1", api_key=server.admin_key, max_retries=0, timeout=30)
        conv = client.conversations.create()
        answers: list[str] = []
        threads = [threading.Thread(target=lambda n=n: answers.append(
            client.responses.create(model="slow", conversation=conv.id, input=f"q{n}").output_text)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(answers) == ["echo: q0", "echo: q1", "echo: q2"]
        items = client.conversations.items.list(conv.id, order="asc", limit=100).data
        texts = [i.content[0].text for i in items]
        for n in range(0, 6, 2):  # every question is directly followed by its own answer
            assert texts[n + 1] == f"echo: {texts[n]}"
        # each later request saw the earlier exchanges as history
        assert max(len(r["body"]["messages"]) for r in slow.requests) == 5
        client.close()
    finally:
        server.stop()
        slow.stop()
