"""Stored responses through the openai SDK 3.x, unchanged, against a live weft and a fake model over HTTP:
retrieve/delete/input_items/cancel, previous_response_id chains (context, forks, tool outputs), background,
store:false, structured output, truncation modes and the request fields weft passes on or refuses."""
from __future__ import annotations

import time

import httpx
import openai
import pytest
from pydantic import BaseModel

TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather of a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def sent_messages(fake_llm) -> list[dict]:
    return fake_llm.requests[-1]["body"]["messages"]


def test_every_response_is_kept_and_can_be_retrieved_listed_and_deleted(sdk):
    created = sdk.responses.create(model="fake-model", input=[{"role": "user", "content": "first"}, {"role": "user", "content": "second"}],
                                   metadata={"k": "v"})
    assert created.store is True and created.status == "completed"
    got = sdk.responses.retrieve(created.id)
    assert got.id == created.id and got.output_text == "echo: second" and got.metadata == {"k": "v"}
    items = sdk.responses.input_items.list(created.id)  # order defaults to desc
    assert [i.content[0].text for i in items.data] == ["second", "first"]
    asc = sdk.responses.input_items.list(created.id, order="asc", limit=1)
    assert [i.content[0].text for i in asc.data] == ["first"] and asc.has_more
    assert [i.content[0].text for i in sdk.responses.input_items.list(created.id, order="asc", after=asc.data[0].id).data] == ["second"]
    assert [i.content[0].text for i in sdk.responses.input_items.list(created.id, order="asc", limit=20)] == ["first", "second"]
    sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.input_items.list(created.id)


def test_store_false_is_honoured_and_echoed(sdk):
    created = sdk.responses.create(model="fake-model", input="not kept", store=False)
    assert created.store is False and created.output_text == "echo: not kept"
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", input="next", previous_response_id=created.id)
    assert caught.value.code == "previous_response_not_found" and caught.value.param == "previous_response_id"


def test_previous_response_id_chain_sends_the_whole_chain_but_not_old_instructions(sdk, fake_llm):
    one = sdk.responses.create(model="fake-model", input="my name is Ada", instructions="OLD RULES")
    two = sdk.responses.create(model="fake-model", input="what is my name?", previous_response_id=one.id, instructions="NEW RULES")
    assert two.previous_response_id == one.id
    assert sent_messages(fake_llm) == [
        {"role": "system", "content": "NEW RULES"}, {"role": "user", "content": "my name is Ada"},
        {"role": "assistant", "content": "echo: my name is Ada"}, {"role": "user", "content": "what is my name?"}]
    three = sdk.responses.create(model="fake-model", input="third", previous_response_id=two.id)
    assert [m["content"] for m in sent_messages(fake_llm)] == [
        "my name is Ada", "echo: my name is Ada", "what is my name?", "echo: what is my name?", "third"]
    # a fork from the first response sees the first only, never its sibling branch
    fork = sdk.responses.create(model="fake-model", input="fork", previous_response_id=one.id)
    assert [m["content"] for m in sent_messages(fake_llm)] == ["my name is Ada", "echo: my name is Ada", "fork"]
    assert fork.output_text == "echo: fork" and three.output_text == "echo: third"


def test_chain_with_tools_and_the_tool_output_rules(sdk, fake_llm):
    asked = sdk.responses.create(model="fake-model", input="weather in Paris?", tools=TOOLS)
    call = asked.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    with pytest.raises(openai.BadRequestError) as missing:
        sdk.responses.create(model="fake-model", previous_response_id=asked.id, input="never mind", tools=TOOLS)
    assert missing.value.param == "input" and f"No tool output found for function call {call.call_id}." in missing.value.message
    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.responses.create(model="fake-model", previous_response_id=asked.id, tools=TOOLS,
                             input=[{"type": "function_call_output", "call_id": "call_nope", "output": "x"}])
    assert "No tool call found for function call output with call_id call_nope." in unknown.value.message
    answered = sdk.responses.create(model="fake-model", previous_response_id=asked.id, tools=TOOLS,
                                    input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert answered.output_text == "echo: sunny"
    sent = sent_messages(fake_llm)
    assert sent[-2]["tool_calls"][0]["id"] == call.call_id and sent[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}


def test_conversation_and_previous_response_id_together_are_refused(sdk):
    conv = sdk.conversations.create()
    first = sdk.responses.create(model="fake-model", input="x")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", input="y", conversation=conv.id, previous_response_id=first.id)
    assert caught.value.param == "previous_response_id"
    assert sdk.conversations.items.list(conv.id).data == []


def test_input_may_be_omitted_or_empty_with_a_conversation(sdk, fake_llm):
    conv = sdk.conversations.create()
    sdk.conversations.items.create(conv.id, items=[{"type": "message", "role": "user", "content": "added first"}])
    answer = sdk.responses.create(model="fake-model", conversation=conv.id)
    assert answer.output_text == "echo: added first" and answer.conversation.id == conv.id
    again = sdk.responses.create(model="fake-model", conversation=conv.id, input="")
    assert again.status == "completed"
    roles = [i.role for i in sdk.conversations.items.list(conv.id, order="asc").data]
    assert roles == ["user", "assistant", "assistant"]  # no empty user message was stored
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model")
    assert caught.value.param == "input"


class Event(BaseModel):
    name: str
    attendees: list[str]
    day: int


def test_structured_output_with_responses_parse(sdk, fake_llm):
    parsed = sdk.responses.parse(model="fake-model", input="plan a party", text_format=Event)
    assert isinstance(parsed.output_parsed, Event) and parsed.output_parsed.day == 7
    fmt = fake_llm.requests[-1]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Event" and fmt["json_schema"]["strict"] is True
    assert parsed.text.format.type == "json_schema"
    plain = sdk.responses.create(model="fake-model", input="as json", text={"format": {"type": "json_object"}})
    assert fake_llm.requests[-1]["body"]["response_format"] == {"type": "json_object"}
    assert plain.output_text == '{"echo": "as json"}'


def test_truncation_disabled_refuses_and_auto_truncates(sdk, fake_llm):
    long = "y" * 2000  # the live server's window (WEFT_HISTORY_TOKEN_BUDGET) is 400 tokens
    first = sdk.responses.create(model="fake-model", input="short start")
    second = sdk.responses.create(model="fake-model", input="z" * 1200, previous_response_id=first.id, truncation="auto")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", input="next", previous_response_id=second.id)  # disabled is the default
    assert caught.value.code == "context_length_exceeded" and caught.value.param == "input"
    kept = sdk.responses.create(model="fake-model", input="next", previous_response_id=second.id, truncation="auto")
    assert kept.truncation == "auto" and kept.output_text == "echo: next"
    assert "short start" not in [m["content"] for m in sent_messages(fake_llm)]  # the oldest went first
    with pytest.raises(openai.BadRequestError) as too_long:
        sdk.responses.create(model="fake-model", input=long, truncation="auto")
    assert too_long.value.code == "context_length_exceeded"


def test_fields_are_echoed_and_passed_on(sdk, fake_llm):
    r = sdk.responses.create(model="fake-model", input="one two three four five six", max_output_tokens=3, temperature=0.2,
                             parallel_tool_calls=False, tool_choice={"type": "function", "name": "get_weather"}, tools=TOOLS)
    body = fake_llm.requests[-1]["body"]
    assert body["max_tokens"] == 3 and body["temperature"] == 0.2 and body["parallel_tool_calls"] is False
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert r.parallel_tool_calls is False and r.max_output_tokens == 3 and r.tool_choice.name == "get_weather"
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens" and r.output_text == "echo: one two"


@pytest.mark.parametrize("tool", [{"type": "web_search"}, {"type": "code_interpreter", "container": {"type": "auto"}},
                                  {"type": "file_search", "vector_store_ids": ["vs_1"]},
                                  {"type": "image_generation"}])  # mcp: tests/threads/test_mcp_tool.py
def test_a_tool_type_weft_does_not_run_is_a_400_naming_it(sdk, tool):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", input="hi", tools=[tool])
    assert tool["type"] in caught.value.message and caught.value.param == "tools[0].type"


def test_unknown_members_are_refused_not_ignored(live):
    r = httpx.post(f"{live.endpoint}/v1/responses", headers=live.headers(), json={"model": "m", "input": "x", "frobnicate": 1})
    assert r.status_code == 400 and r.json()["error"]["param"] == "frobnicate"


def wait_for(sdk, response_id: str, until=("completed", "failed", "cancelled", "incomplete"), timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        got = sdk.responses.retrieve(response_id)
        if got.status in until or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_background_polling_and_store_false(sdk):
    started = sdk.responses.create(model="fake-model", input="in the background", background=True)
    assert started.background is True and started.status in ("queued", "in_progress")
    done = wait_for(sdk, started.id)
    assert done.status == "completed" and done.output_text == "echo: in the background"
    with pytest.raises(openai.BadRequestError):  # only background responses can be cancelled
        sdk.responses.cancel(sdk.responses.create(model="fake-model", input="plain").id)
    assert sdk.responses.cancel(started.id).status == "completed"  # already finished: returned as it is
    # store:false in background is kept for polling (about 10 minutes) and echoed false
    quiet = sdk.responses.create(model="fake-model", input="quiet", background=True, store=False)
    assert wait_for(sdk, quiet.id).store is False


def test_background_cancel(tmp_path):
    from tests.threads.fake_llm import FakeChatServer
    from tests.threads.live import ThreadsServer

    slow = FakeChatServer(delay=1.5).start()
    server = ThreadsServer(tmp_path / "data", env={"WEFT_LLM_BASE_URL": slow.base_url, "WEFT_LLM_MODEL": "slow"}).start()
    try:
        client = openai.OpenAI(base_url=f"{server.endpoint}/v1", api_key=server.admin_key, max_retries=0)
        conv = client.conversations.create()
        started = client.responses.create(model="slow", input="cancel me", background=True, conversation=conv.id)
        cancelled = client.responses.cancel(started.id)
        assert cancelled.status == "cancelled"
        time.sleep(2.0)  # the model answers meanwhile: nothing of it is stored
        assert client.responses.retrieve(started.id).status == "cancelled"
        assert client.conversations.items.list(conv.id).data == []
        client.close()
    finally:
        server.stop()
        slow.stop()


def test_responses_are_tenant_scoped(live, sdk):
    mine = sdk.responses.create(model="fake-model", input="private")
    other = httpx.get(f"{live.endpoint}/v1/responses/{mine.id}", headers=live.headers(tenant="other-tenant"))
    assert other.status_code == 404 and other.json()["error"]["message"] == f"Response with id '{mine.id}' not found."


def test_a_stored_response_is_not_reachable_as_a_conversation_or_thread(sdk, live):
    created = sdk.responses.create(model="fake-model", input="kept to myself")
    headers = {"api-key": live.admin_key}
    for path in (f"/v1/conversations/{created.id}", f"/v1/conversations/{created.id}/items", f"/threads/{created.id}",
                 f"/threads/{created.id}/messages"):
        answer = httpx.get(f"{live.endpoint}{path}", headers=headers)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)
        assert "kept to myself" not in answer.text
    answer = httpx.post(f"{live.endpoint}/v1/conversations/{created.id}/items", headers=headers,
                        json={"items": [{"type": "message", "role": "user", "content": "smuggled"}]})
    assert answer.status_code == 404
    assert [i.content[0].text for i in sdk.responses.input_items.list(created.id)] == ["kept to myself"]
