"""An upstream answer with nothing in it (a stream that closes without one data chunk, a completion whose message has
no content and no tool call) is a broken upstream, as OpenAI would treat it: the response or run ends ``failed``
with ``server_error``, on the plain, streamed and background paths of /v1/responses and of classic runs, and no
empty assistant message is stored."""
from __future__ import annotations

import time

import openai
import pytest

from weft.agents.assistants import Assistants
from weft.agents.responses import ResponsesService
from weft.agents.runs import Runs
from weft.errors import WeftError
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.settings import ThreadsSettings

P = Principal.library("acme")
ASK = "empty-upstream please"


@pytest.fixture
def responses(sqlite_store, fake_llm):
    service = ThreadService(sqlite_store)
    settings = ThreadsSettings(database_url="unused", llm_base_url=fake_llm.base_url, llm_model="fake-model")
    svc = ResponsesService(service, settings)
    yield svc
    svc.close()


def _roles(service, conversation_id):
    return [(i.type, i.role) for i in service.list_items(P, conversation_id).data]


def _wait(responses, response_id):
    deadline = time.monotonic() + 10
    while responses.retrieve(P, response_id)["status"] in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.02)
    return responses.retrieve(P, response_id)


def test_a_plain_response_fails_and_stores_nothing(responses):
    conv, _ = responses.service.create_conversation(P)
    with pytest.raises(WeftError) as failed:
        responses.create(P, {"input": ASK, "conversation": conv.id})
    assert failed.value.code == "server_error" and failed.value.status >= 500
    assert _roles(responses.service, conv.id) == []  # neither the input nor an empty assistant message
    with pytest.raises(WeftError) as failed:  # no conversation, a stored response: none is kept
        responses.create(P, {"input": ASK})
    assert failed.value.code == "server_error"


def test_a_streamed_response_ends_failed_and_stores_nothing(responses):
    conv, _ = responses.service.create_conversation(P)
    events = list(responses.prepare_stream(P, {"input": ASK, "conversation": conv.id, "stream": True}))
    kinds = [e["type"] for e in events]
    assert kinds == ["response.created", "response.in_progress", "response.failed"]
    assert events[-1]["response"]["status"] == "failed" and events[-1]["response"]["error"]["code"] == "server_error"
    assert events[-1]["response"]["output"] == []
    assert _roles(responses.service, conv.id) == []
    # the id the stream named is retrievable, failed, with its input (as OpenAI keeps a stored response that failed)
    kept = responses.retrieve(P, events[0]["response"]["id"])
    assert kept["status"] == "failed" and kept["error"]["code"] == "server_error" and kept["output"] == []
    inputs = responses.records.input_items(P, kept["id"], limit=20, order="asc", after=None, before=None).data
    assert [i.body.get("content") for i in inputs] in ([ASK], [[{"type": "input_text", "text": ASK}]])
    unstored = list(responses.prepare_stream(P, {"input": ASK, "stream": True, "store": False}))
    assert unstored[-1]["type"] == "response.failed"
    with pytest.raises(WeftError) as missing:  # store: false keeps nothing
        responses.retrieve(P, unstored[0]["response"]["id"])
    assert missing.value.status == 404


def test_background_responses_end_failed(responses):
    conv, _ = responses.service.create_conversation(P)
    queued = responses.create(P, {"input": ASK, "conversation": conv.id, "background": True})
    ended = _wait(responses, queued["id"])
    assert ended["status"] == "failed" and ended["error"]["code"] == "server_error" and ended["output"] == []
    streamed = list(responses.prepare_stream(P, {"input": ASK, "background": True, "stream": True}))
    assert streamed[-1]["type"] == "response.failed"
    ended = _wait(responses, streamed[-1]["response"]["id"])
    assert ended["status"] == "failed" and ended["error"]["code"] == "server_error"
    assert _roles(responses.service, conv.id) == []


def test_the_http_answer_is_an_openai_server_error(sdk):
    conv = sdk.conversations.create()
    with pytest.raises(openai.APIStatusError) as failed:
        sdk.responses.create(model="fake-model", conversation=conv.id, input=ASK)
    assert failed.value.status_code == 503 and failed.value.body["code"] == "server_error"
    assert sdk.conversations.items.list(conv.id).data == []
    events = list(sdk.responses.create(model="fake-model", conversation=conv.id, input=ASK, stream=True))
    assert events[-1].type == "response.failed" and events[-1].response.error.code == "server_error"
    assert sdk.conversations.items.list(conv.id).data == []
    assert sdk.responses.retrieve(events[-1].response.id).status == "failed"


@pytest.mark.parametrize("how", ["advance", "stream", "start"])
def test_a_classic_run_fails_without_an_empty_message(sqlite_store, fake_llm, how):
    service = ThreadService(sqlite_store)
    runs = Runs(service, Assistants(service), ChatEndpoint(fake_llm.base_url, None), lease_seconds=600)
    try:
        agent = runs.assistants.create(P, {"model": "m"})["id"]
        thread, _ = service.create_conversation(P, kind="thread", items=[{"role": "user", "content": ASK}])
        run = runs.create(P, thread.id, {"assistant_id": agent}, [])
        if how == "advance":
            names = []
            runs.advance(P, run["id"], lambda name, data: names.append(name))
            assert names == ["thread.run.in_progress", "thread.run.failed"]
        elif how == "stream":
            names = [name for name, _ in runs.stream(P, run["id"], [])]
            assert names == ["thread.run.in_progress", "thread.run.failed"]
        else:
            runs.start(P, run["id"])
            deadline = time.monotonic() + 10
            while runs.get(P, thread.id, run["id"])["status"] in ("queued", "in_progress") and time.monotonic() < deadline:
                time.sleep(0.02)
        ended = runs.get(P, thread.id, run["id"])
        assert ended["status"] == "failed" and ended["last_error"]["code"] == "server_error"
        assert [i.role for i in service.list_items(P, thread.id).data] == ["user"]  # no empty assistant message
        steps, _ = runs.steps(P, thread.id, run["id"], limit=20, order="asc", after=None, before=None)
        assert all(s["type"] != "message_creation" or s["status"] != "completed" for s in steps)
    finally:
        runs.close()


def test_a_server_tool_turn_fails_too(responses):
    # a request with weft's own search tool runs the server-tool loop (weft.agents.server_tools): same outcome
    tool = {"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"project_connection_id": "weft", "index_name": "x"}]}}
    conv, _ = responses.service.create_conversation(P)
    with pytest.raises(WeftError) as failed:
        responses.create(P, {"input": ASK, "conversation": conv.id, "tools": [tool]}, search_grant="admin")
    assert failed.value.code == "server_error"
    events = list(responses.prepare_stream(P, {"input": ASK, "conversation": conv.id, "tools": [tool], "stream": True},
                                           search_grant="admin"))
    assert events[-1]["type"] == "response.failed" and events[-1]["response"]["error"]["code"] == "server_error"
    assert _roles(responses.service, conv.id) == []


def test_a_stream_cut_short_fails_rather_than_storing_half_an_answer(responses, sqlite_store, fake_llm):
    cut = "cut-upstream please"
    conv, _ = responses.service.create_conversation(P)
    events = list(responses.prepare_stream(P, {"input": cut, "conversation": conv.id, "stream": True}))
    assert events[-1]["type"] == "response.failed" and events[-1]["response"]["error"]["code"] == "server_error"
    assert _roles(responses.service, conv.id) == []  # the half answer streamed is not stored as a whole one
    runs = Runs(responses.service, Assistants(responses.service), ChatEndpoint(fake_llm.base_url, None), lease_seconds=600)
    try:
        agent = runs.assistants.create(P, {"model": "m"})["id"]
        thread, _ = responses.service.create_conversation(P, kind="thread", items=[{"role": "user", "content": cut}])
        run = runs.create(P, thread.id, {"assistant_id": agent}, [])
        names = [name for name, _ in runs.stream(P, run["id"], [])]
        assert names[-1] == "thread.run.failed"
        assert runs.get(P, thread.id, run["id"])["last_error"]["code"] == "server_error"
        assert [i.role for i in responses.service.list_items(P, thread.id).data] == ["user"]
    finally:
        runs.close()
