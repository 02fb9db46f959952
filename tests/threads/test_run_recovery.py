"""How a classic run ends after a crash (weft.agents.runs module docstring), in process: a run whose worker is gone
ends `completed` when its message was written, `failed` when not, `cancelled` when it was being cancelled; a run
waiting for tool outputs past its expiry ends `expired`. And a model error ends a run `failed`, in-band."""
from __future__ import annotations

import time

import pytest

from weft.agents.assistants import Assistants
from weft.agents.runs import Runs
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService

P = Principal.library("acme")


def _setup(service, base_url=None):
    runs = Runs(service, Assistants(service), ChatEndpoint(base_url, None), lease_seconds=1)
    agent = runs.assistants.create(P, {"model": "m"})["id"]
    thread, _ = service.create_conversation(P, kind="thread", items=[{"role": "user", "content": "q"}])
    return runs, agent, thread.id


def _cut_off(runs, run_id, status="in_progress"):
    def change(state):
        state["run"]["status"], state["owner"], state["lease_until_ms"] = status, "a-dead-process", 0

    runs.records.mutate(P, run_id, change)


def test_cut_off_runs_end_by_what_was_written(any_store):
    service = ThreadService(any_store)  # SQLite, PostgreSQL and MariaDB where they run
    runs, agent, thread = _setup(service)
    written = runs.create(P, thread, {"assistant_id": agent}, [])
    _cut_off(runs, written["id"])
    body = {"type": "message", "role": "assistant", "status": "completed", "run_id": written["id"], "assistant_id": agent,
            "content": [{"type": "output_text", "text": "done", "annotations": []}]}
    [message] = service.append_items(P, thread, None, pending=[PendingItem("message", "assistant", body)])
    ended = runs.get(P, thread, written["id"])
    assert ended["status"] == "completed" and ended["last_error"] is None
    steps, _ = runs.steps(P, thread, written["id"], limit=20, order="asc", after=None, before=None)
    assert [(s["type"], s["step_details"]["message_creation"]["message_id"]) for s in steps] == [("message_creation", message.id)]

    lost = runs.create(P, thread, {"assistant_id": agent}, [])
    _cut_off(runs, lost["id"])
    ended = runs.get(P, thread, lost["id"])
    assert ended["status"] == "failed" and ended["last_error"]["code"] == "server_error"
    assert ended["failed_at"] is not None
    assert runs.get(P, thread, lost["id"])["status"] == "failed"  # stored, not recomputed

    cancelling = runs.create(P, thread, {"assistant_id": agent}, [])
    _cut_off(runs, cancelling["id"], "cancelling")
    assert runs.get(P, thread, cancelling["id"])["status"] == "cancelled"
    # a reader sees the outcome without the write scope
    reader = Principal("acme", frozenset({"read"}), key_id="r")
    queued = runs.create(P, thread, {"assistant_id": agent}, [])
    _cut_off(runs, queued["id"], "queued")
    assert runs.get(reader, thread, queued["id"])["status"] == "failed"


def test_requires_action_past_its_expiry_is_expired(service):
    runs, agent, thread = _setup(service)
    run = runs.create(P, thread, {"assistant_id": agent}, [])

    def waiting(state):
        state["run"].update(status="requires_action", expires_at=1,
                            required_action={"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": []}})

    runs.records.mutate(P, run["id"], waiting)
    ended = runs.get(P, thread, run["id"])
    assert ended["status"] == "expired" and ended["required_action"] is None


def test_model_error_fails_the_run(service, fake_llm):
    runs, agent, _ = _setup(service, fake_llm.base_url)
    thread, _ = service.create_conversation(P, kind="thread", items=[{"role": "user", "content": "fail-upstream please"}])
    run = runs.create(P, thread.id, {"assistant_id": agent}, [])
    events = []
    runs.advance(P, run["id"], lambda name, data: events.append(name))
    ended = runs.get(P, thread.id, run["id"])
    assert ended["status"] == "failed" and ended["last_error"]["code"] == "upstream_error"
    assert events == ["thread.run.in_progress", "thread.run.failed"]
    assert [i.role for i in service.list_items(P, thread.id).data] == ["user"]  # nothing written


def _garbled_thread(service):
    thread, _ = service.create_conversation(P, kind="thread", items=[{"role": "user", "content": "garbled-upstream please"}])
    return thread.id


def test_an_unexpected_exception_fails_the_run_at_once(service, fake_llm):
    # the fake model answers 200 with {"choices": ["garbled"]}: reading it raises AttributeError, not a WeftError
    runs = Runs(service, Assistants(service), ChatEndpoint(fake_llm.base_url, None), lease_seconds=600)
    agent = runs.assistants.create(P, {"model": "m"})["id"]
    thread = _garbled_thread(service)
    run = runs.create(P, thread, {"assistant_id": agent}, [])
    events = []
    runs.advance(P, run["id"], lambda name, data: events.append(name))
    ended = runs.get(P, thread, run["id"])
    assert ended["status"] == "failed" and ended["last_error"]["code"] == "server_error"
    assert "garbled" not in ended["last_error"]["message"] and ended["failed_at"] is not None
    assert events == ["thread.run.in_progress", "thread.run.failed"]
    assert [i.role for i in service.list_items(P, thread).data] == ["user"]
    # the thread takes a new run at once (the failed one is over, not holding it until a lease runs out)
    assert runs._open_run(P, thread) is None

    # the background path (runs.start, the pool) and the streamed path end the same way, well inside the lease
    started = runs.create(P, thread, {"assistant_id": agent}, [])
    runs.start(P, started["id"])
    deadline = time.monotonic() + 10
    while runs.get(P, thread, started["id"])["status"] in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runs.get(P, thread, started["id"])["status"] == "failed"
    streamed = runs.create(P, thread, {"assistant_id": agent}, [])
    names = [name for name, _ in runs.stream(P, streamed["id"], [])]
    assert names == ["thread.run.in_progress", "thread.run.failed"]
    assert runs.get(P, thread, streamed["id"])["last_error"]["code"] == "server_error"
    runs.close()


def test_a_write_during_the_turn_is_kept_by_its_end(any_store):
    # the turn's end is a compare-and-swap of the state it read at its start: a write in between (here another
    # process's metadata update and cancel) makes it read the run again, so neither is lost
    from tests.threads.fake_llm import FakeChatServer

    slow = FakeChatServer(delay=0.4).start()
    try:
        service = ThreadService(any_store)
        runs, agent, thread = _setup(service, slow.base_url)
        kept = runs.create(P, thread, {"assistant_id": agent}, [])
        elsewhere = Runs(service, Assistants(service), ChatEndpoint(slow.base_url, None))  # "another process"
        runs.start(P, kept["id"])
        time.sleep(0.2)  # the model call is under way
        elsewhere.records.mutate(P, kept["id"], lambda s: s["run"].__setitem__("metadata", {"set": "meanwhile"}))
        deadline = time.monotonic() + 10
        while runs.get(P, thread, kept["id"])["status"] in ("queued", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.02)
        ended = runs.get(P, thread, kept["id"])
        assert ended["status"] == "completed" and ended["metadata"] == {"set": "meanwhile"}

        cancelled = runs.create(P, thread, {"assistant_id": agent}, [])
        runs.start(P, cancelled["id"])
        time.sleep(0.2)
        elsewhere.records.mutate(P, cancelled["id"], lambda s: s["run"].__setitem__("status", "cancelling"))
        deadline = time.monotonic() + 10
        while runs.get(P, thread, cancelled["id"])["status"] in ("queued", "in_progress", "cancelling") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runs.get(P, thread, cancelled["id"])["status"] == "cancelled"
        answers = [i for i in service.list_items(P, thread).data if i.role == "assistant"]
        assert [i.body["run_id"] for i in answers] == [kept["id"]]  # the cancelled run wrote no message
        elsewhere.close()
        runs.close()
    finally:
        slow.stop()


def test_create_reads_the_thread_and_the_assistant_at_once_and_404s_as_before(any_store):
    from weft.errors import NotFound

    service = ThreadService(any_store)
    runs, agent, thread = _setup(service)
    found = service.get_conversations(P, [thread, agent, "thread_missing"])
    assert set(found) == {thread, agent} and found[agent].kind == "assistant"
    assert service.get_conversations(Principal.library("beta"), [thread, agent]) == {}  # tenant-scoped
    for thread_id, assistant_id, says in ((thread, "asst_missing", "assistant"), ("thread_missing", agent, "thread"),
                                          (thread, thread, "assistant"), (agent, agent, "thread")):
        with pytest.raises(NotFound) as missing:
            runs.create(P, thread_id, {"assistant_id": assistant_id}, [])
        assert missing.value.message.startswith(f"No {says} found")
    assert runs.create(P, thread, {"assistant_id": agent}, [])["status"] == "queued"
    reads = [a for a in service.list_audit(Principal("acme", frozenset({"admin"}), key_id="t"), limit=1000)
             if a.operation == "conversation.get" and a.outcome == "ok"]
    assert {thread, agent} <= {a.conversation_id for a in reads}


def test_a_run_cancelled_elsewhere_before_its_turn_writes_nothing(service, fake_llm):
    # the turn starts from the state its create stored (no read); the end's compare-and-swap finds the cancel
    runs, agent, thread = _setup(service, fake_llm.base_url)
    run = runs.create(P, thread, {"assistant_id": agent}, [])
    elsewhere = Runs(service, Assistants(service), ChatEndpoint(fake_llm.base_url, None))  # another process
    elsewhere.records.mutate(P, run["id"], lambda s: s["run"].__setitem__("status", "cancelling"))
    runs.advance(P, run["id"], None)
    assert runs.get(P, thread, run["id"])["status"] == "cancelled"
    assert [i.role for i in service.list_items(P, thread).data] == ["user"]
    # in this process a change through the records (a cancel, a metadata update, a search grant) forgets the kept state
    again = runs.create(P, thread, {"assistant_id": agent}, [])
    runs.update(P, thread, again["id"], {"metadata": {"k": "v"}})
    assert again["id"] not in runs.records._fresh
    runs.advance(P, again["id"], None)
    ended = runs.get(P, thread, again["id"])
    assert ended["status"] == "completed" and ended["metadata"] == {"k": "v"}
    elsewhere.close()
    runs.close()
