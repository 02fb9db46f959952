"""A run's create from what this process knows (weft.agents.runs' create basis, weft.threads.turn_sql's guard): on
PostgreSQL the thread's next create reads nothing first, its commit checks what the read would have found (the
thread, the agent's stored state, the thread's newest runs). Whatever another process changes in between (an
open run it created, the agent updated, the thread deleted) makes the commit store nothing, and the create reads
and decides as it always does; the audit trail is the one a reading create leaves."""
from __future__ import annotations

import pytest

from tests.threads.backends import drop_store_tables, unique_prefix, url_for
from tests.threads.fake_llm import FakeChatServer
from weft.agents.assistants import Assistants
from weft.agents.runs import Runs
from weft.errors import InvalidInput, NotFound
from weft.threads import turn_reads
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService
from weft.threads.store import SqlThreadStore

WHO = Principal.library("acme")


def _user(text: str) -> PendingItem:
    return PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})


@pytest.fixture(params=("sqlite", "postgresql"))
def two(request, tmp_path, monkeypatch):
    """Two weft processes (services and Runs) on one database, a fake model, an agent; counts the creates' reads."""
    url = url_for(request.param, tmp_path)
    prefix = unique_prefix()
    stores = [SqlThreadStore(url, table_prefix=prefix) for _ in range(2)]
    services = [ThreadService(s, master_key=bytes(range(32)), encryption=True) for s in stores]
    llm = FakeChatServer().start()
    endpoint = ChatEndpoint(llm.base_url, "k")
    runs = [Runs(s, Assistants(s), endpoint) for s in services]
    reads: list[int] = []
    original = turn_reads.TurnReads.records_and_kind

    def counted(self, *args, **kwargs):
        reads.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(turn_reads.TurnReads, "records_and_kind", counted)
    agent = runs[0].assistants.create(WHO, {"model": "fake-model", "instructions": "Be brief."})["id"]

    class World:
        pass

    w = World()
    w.kind, w.services, w.runs, w.llm, w.agent, w.reads = request.param, services, runs, llm, agent, reads
    try:
        yield w
    finally:
        for r in runs:
            r.close()
        endpoint.close()
        llm.stop()
        for s in services:
            s.close()
        drop_store_tables(stores[0])
        stores[1].close()


def _run(w, n: int, thread: str, text: str, **body) -> dict:
    run = w.runs[n].create(WHO, thread, {"assistant_id": w.agent, **body}, [_user(text)], start_now=True)
    w.runs[n].advance(WHO, run["id"], None)
    return w.runs[n].get(WHO, thread, run["id"])


def test_the_next_create_on_a_thread_reads_nothing_first_on_postgresql(two):
    w = two
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    for n in range(4):
        assert _run(w, 0, thread, f"q{n}")["status"] == "completed"
    # the first create reads; on PostgreSQL the next ones check in their commit what the read would have found
    assert len(w.reads) == (1 if w.kind == "postgresql" else 4)
    audit = w.services[0].list_audit(WHO)
    operations = [r.operation for r in audit]
    # each create: the thread and the agent read (or checked), the newest runs listed, the messages and the run
    # stored; each _run's get of its run a read too
    assert operations.count("conversation.list") == 4 and operations.count("conversation.get") == 8 + 4
    assert operations.count("run.create") == 4 and operations.count("run.messages") == 4
    assert [(r.operation, r.conversation_id) for r in audit if r.operation == "conversation.get"][:2] == [
        ("conversation.get", thread), ("conversation.get", w.agent)]
    assert not [r for r in audit if r.outcome != "ok"]
    runs = w.runs[0].list(WHO, thread, limit=10, order="asc", after=None, before=None).data
    assert [r["status"] for r in runs] == ["completed"] * 4


def test_an_open_run_another_process_created_is_found(two):
    w = two
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    _run(w, 0, thread, "first")
    other = w.runs[1].create(WHO, thread, {"assistant_id": w.agent}, [_user("elsewhere")])  # queued there, open
    with pytest.raises(InvalidInput) as busy:
        w.runs[0].create(WHO, thread, {"assistant_id": w.agent}, [_user("here")], start_now=True)
    assert busy.value.code == "thread_busy" and other["id"] in busy.value.message
    texts = [i.body["content"][0]["text"] for i in w.services[0].list_items(WHO, thread, limit=None, order="asc").data]
    assert texts == ["first", "echo: first", "elsewhere"]  # the refused create stored nothing
    assert not [r for r in w.services[0].list_audit(WHO) if r.outcome == "error"]


def test_an_agent_another_process_updated_is_used_as_updated(two):
    w = two
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    _run(w, 0, thread, "first")
    w.runs[1].assistants.update(WHO, w.agent, {"instructions": "Answer in French."})
    run = _run(w, 0, thread, "second")
    assert run["instructions"] == "Answer in French."
    assert w.llm.requests[-1]["body"]["messages"][0] == {"role": "system", "content": "Answer in French."}


def test_a_thread_another_process_deleted_is_not_found(two):
    w = two
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    _run(w, 0, thread, "first")
    w.services[1].delete_conversation(WHO, thread)
    with pytest.raises(NotFound):
        w.runs[0].create(WHO, thread, {"assistant_id": w.agent}, [_user("again")], start_now=True)


def test_a_run_this_process_left_waiting_for_tool_outputs_is_busy(two):
    w = two
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
    w.runs[0].assistants.update(WHO, w.agent, {"tools": tools})
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    _run(w, 0, thread, "first")
    waiting = _run(w, 0, thread, "what is the weather?")
    assert waiting["status"] == "requires_action"
    with pytest.raises(InvalidInput) as busy:
        w.runs[0].create(WHO, thread, {"assistant_id": w.agent}, [_user("third")], start_now=True)
    assert busy.value.code == "thread_busy" and waiting["id"] in busy.value.message


def test_a_run_with_no_new_messages_is_checked_the_same_way(two):
    w = two
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    _run(w, 0, thread, "first")
    again = w.runs[0].create(WHO, thread, {"assistant_id": w.agent, "instructions": "Say it again."}, [])
    w.runs[0].advance(WHO, again["id"], None)
    assert w.runs[0].get(WHO, thread, again["id"])["status"] == "completed"
    assert len(w.reads) == (1 if w.kind == "postgresql" else 2)
    assert w.llm.requests[-1]["body"]["messages"] == [{"role": "system", "content": "Say it again."},
                                                       {"role": "user", "content": "first"},
                                                       {"role": "assistant", "content": "echo: first"}]
    w.runs[1].create(WHO, thread, {"assistant_id": w.agent}, [])  # open, in the other process
    with pytest.raises(InvalidInput) as busy:
        w.runs[0].create(WHO, thread, {"assistant_id": w.agent}, [])
    assert busy.value.code == "thread_busy"
