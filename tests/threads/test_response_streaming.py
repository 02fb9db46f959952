"""Streaming: OpenAI's full event sequence for text and for function calls (argument deltas), through the
SDK's raw event iterator and its `responses.stream()` helper; and 16 concurrent senders on one conversation."""
from __future__ import annotations

import json
import threading

import openai

from tests.threads.test_stored_responses import TOOLS


def test_text_stream_event_sequence(sdk):
    events = list(sdk.responses.create(model="fake-model", input="stream these words", stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    deltas = [i for i, t in enumerate(types) if t == "response.output_text.delta"]
    assert len(deltas) == 4 and deltas == list(range(4, 8))
    assert types[8:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert final.output_text == "echo: stream these words" and events[-2].item.id == final.output[0].id
    assert sdk.responses.retrieve(final.id).output_text == final.output_text  # stored


def test_function_call_stream_has_argument_deltas(sdk):
    events = list(sdk.responses.create(model="fake-model", input="weather for two cities", tools=TOOLS, stream=True))
    types = [e.type for e in events]
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [a.item.type for a in added] == ["function_call", "function_call"] and added[0].item.arguments == ""
    first = added[0].item.id
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta" and e.item_id == first]
    assert len(pieces) > 1 and json.loads("".join(pieces)) == {"city": "Paris"}
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [json.loads(d.arguments)["city"] for d in done] == ["Paris", "Rome"]
    assert types[-1] == "response.completed" and types.index("response.function_call_arguments.done") > max(
        i for i, t in enumerate(types) if t == "response.function_call_arguments.delta" and events[i].item_id == first)
    assert [o.type for o in events[-1].response.output] == ["function_call", "function_call"]


def test_stream_helper_assembles_the_final_response(sdk):
    with sdk.responses.stream(model="fake-model", input="what's the weather?", tools=TOOLS) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    call = final.output[0]
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Paris"}
    with sdk.responses.stream(model="fake-model", input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rain"}],
                              previous_response_id=final.id, tools=TOOLS) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
    assert text == "echo: rain"


def test_sixteen_concurrent_senders_on_one_conversation(sdk, live):
    conv = sdk.conversations.create()
    client = openai.OpenAI(base_url=f"{live.endpoint}/v1", api_key=live.admin_key, max_retries=0, timeout=60)
    answers: dict[int, str] = {}
    errors: list = []

    def ask(n: int) -> None:
        try:
            kwargs = {"stream": True} if n % 2 else {}
            result = client.responses.create(model="fake-model", conversation=conv.id, input=f"question {n}", **kwargs)
            if n % 2:
                result = [e for e in result if e.type == "response.completed"][0].response
            answers[n] = result.output_text
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert errors == []
    assert answers == {n: f"echo: question {n}" for n in range(16)}  # none lost, none answered with another's question
    items = sdk.conversations.items.list(conv.id, order="asc", limit=100).data
    assert len(items) == 32
    for n in range(0, 32, 2):  # never interleaved: each question directly followed by its own answer
        assert items[n].role == "user" and items[n + 1].content[0].text == f"echo: {items[n].content[0].text}"
