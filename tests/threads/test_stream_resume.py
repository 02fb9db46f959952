"""Streamed background responses and resuming their stream (`GET /v1/responses/{id}?stream=true&starting_after=N`),
through the openai SDK unchanged against a live weft and the fake model over HTTP."""
from __future__ import annotations

import time

import httpx
import openai
import pytest


def test_a_background_stream_can_be_resumed_after_any_sequence_number(sdk):
    stream = sdk.responses.create(model="fake-model", input="one two three four five", background=True, stream=True)
    head = []
    for event in stream:
        head.append(event)
        if len(head) == 4:
            break
    stream.close()
    assert [e.type for e in head[:2]] == ["response.created", "response.queued"]
    assert head[0].response.status == "queued" and head[0].response.background is True
    response_id = head[0].response.id
    rest = list(sdk.responses.retrieve(response_id, stream=True, starting_after=head[-1].sequence_number))
    assert rest[0].sequence_number == head[-1].sequence_number + 1
    numbers = [e.sequence_number for e in head + rest]
    assert numbers == list(range(len(numbers)))  # nothing lost, nothing repeated
    assert rest[-1].type == "response.completed" and rest[-1].response.output_text == "echo: one two three four five"
    deltas = "".join(e.delta for e in head + rest if e.type == "response.output_text.delta")
    assert deltas == "echo: one two three four five"
    # the whole log again from the start; the response is stored and can be polled
    again = list(sdk.responses.retrieve(response_id, stream=True))
    assert [e.sequence_number for e in again] == numbers
    assert sdk.responses.retrieve(response_id).status == "completed"


def test_resuming_what_has_no_event_log_is_a_400_and_another_tenants_a_404(sdk, live):
    plain = sdk.responses.create(model="fake-model", input="not streamed", background=True)
    deadline = time.monotonic() + 10
    while sdk.responses.retrieve(plain.id).status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(openai.BadRequestError) as caught:
        list(sdk.responses.retrieve(plain.id, stream=True))
    assert caught.value.param == "stream"
    r = httpx.get(f"{live.endpoint}/v1/responses/{plain.id}", params={"stream": "true", "starting_after": "x"},
                  headers=live.headers())
    assert r.status_code == 400
    with pytest.raises(openai.NotFoundError):
        list(sdk.responses.retrieve("resp_unknown", stream=True, starting_after=3))


def test_a_cancel_ends_the_stream(sdk):
    stream = sdk.responses.create(model="fake-model", input="cancel me " * 50, background=True, stream=True)
    first = next(iter(stream))
    cancelled = sdk.responses.cancel(first.response.id)
    rest = [e.type for e in stream]  # ends (does not hang) whether the cancel or the run came first
    if cancelled.status == "cancelled":
        assert "response.completed" not in rest
        assert sdk.responses.retrieve(first.response.id).status == "cancelled"
    else:
        assert rest[-1] == "response.completed"
    resumed = [e.type for e in sdk.responses.retrieve(first.response.id, stream=True, starting_after=0)]
    assert resumed == rest
