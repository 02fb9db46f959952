"""A run's create that takes the thread's lease for the turn that follows (weft.threads.turns.
TurnWriter.commit_taking_lease, weft.agents.runs ``start_now``): the lease is held from the create's commit, the
turn adopts it and reads no first page of its own on PostgreSQL (the commit returned the newest items), a lease no
turn adopts is given back, and a page the commit could not trust (its newest item deleted) is not used."""
from __future__ import annotations

import time

import pytest

from tests.threads.backends import drop_store_tables, unique_prefix, url_for
from tests.threads.fake_llm import FakeChatServer
from weft.agents.assistants import Assistants
from weft.agents.runs import Runs
from weft.threads import turns as turns_module
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService
from weft.threads.store import SqlThreadStore
from weft.threads.turns import TurnRecord, TurnWriter

WHO = Principal.library("acme")


def _user(text: str) -> PendingItem:
    return PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})


def _text(record_or_item) -> str:
    return record_or_item.body["content"][0]["text"]


def test_the_commit_holds_the_lease_for_the_turn_and_returns_the_newest_items(any_store):
    service = ThreadService(any_store)
    conversation = service.create_conversation(WHO)[0].id
    service.append_items(WHO, conversation, [{"role": "user", "content": f"old {n}"} for n in range(3)])
    mine, other = TurnWriter(service, lease_seconds=0.6), TurnWriter(service, lease_seconds=0.6)
    stored, lease = mine.commit_taking_lease(WHO, conversation, [_user("new")], "run.messages",
                                             TurnRecord("run_takentest1", "run", {"run": {}}), prefetch=2)
    assert [i.seq for i in stored] == [3]
    assert service.get_conversation(WHO, "run_takentest1").extra == {"run": {}}
    if any_store.backend not in ("sqlite", "postgresql"):  # MariaDB: one commit per write, no lease taken with them
        assert lease is None
        return
    assert lease is not None and not lease.released
    time.sleep(1.0)  # longer than the lease: its heartbeat renews it until a turn adopts it
    assert other.try_take("acme", conversation) is None
    if any_store.backend == "postgresql":  # the newest two, as a read of the store gives them (newest first), and more
        records, more = lease.page
        expected = any_store.list_items("acme", conversation, limit=2, order="desc")
        assert more and [(r.id, r.seq, bytes(r.body)) for r in records] == [(r.id, r.seq, bytes(r.body)) for r in expected.items]
        assert [_text(service._item(r)) for r in records] == ["new", "old 2"]
    else:  # SQLite: no round trip to save, the turn reads its page itself
        assert lease.page is None
    assert mine.adopt(lease) and not mine.adopt(lease)  # once
    mine.commit(WHO, conversation, lease, [PendingItem("message", "assistant", {"type": "message", "role": "assistant",
                                                                                  "content": [{"type": "output_text", "text": "a"}]})], "run.message")
    assert lease.released
    taken = other.try_take("acme", conversation)
    assert taken is not None
    other.release(taken)


def test_a_lease_no_turn_adopts_is_given_back(any_store, monkeypatch):
    if any_store.backend not in ("sqlite", "postgresql"):
        pytest.skip("MariaDB: a create takes no lease with its commit (weft.threads.turns)")
    monkeypatch.setattr(turns_module, "ADOPT_SECONDS", 0.5)
    service = ThreadService(any_store)
    conversation = service.create_conversation(WHO)[0].id
    mine, other = TurnWriter(service, lease_seconds=0.3), TurnWriter(service, lease_seconds=60)
    _, lease = mine.commit_taking_lease(WHO, conversation, [_user("q")], "run.messages")
    started = time.monotonic()
    taken = None
    while taken is None:
        assert time.monotonic() - started < 5.0, "the lease no turn adopted was not given back"
        taken = other.try_take("acme", conversation)
        time.sleep(0.05)
    assert time.monotonic() - started >= 0.4  # held until its adoption time had passed
    assert lease.released and not mine.adopt(lease)  # too late: the turn would take the lease as any turn does
    other.release(taken)


@pytest.fixture(params=("sqlite", "postgresql"))
def runs_world(request, tmp_path):
    store = SqlThreadStore(url_for(request.param, tmp_path), table_prefix=unique_prefix())
    service = ThreadService(store)
    llm = FakeChatServer().start()
    endpoint = ChatEndpoint(llm.base_url, "k")
    runs = Runs(service, Assistants(service), endpoint)
    agent = runs.assistants.create(WHO, {"model": "fake-model", "instructions": "Be brief."})["id"]
    try:
        yield runs, service, llm, agent
    finally:
        runs.close()
        endpoint.close()
        llm.stop()
        service.close()
        drop_store_tables(store)


def _sent_texts(llm) -> list[str]:
    return [m["content"] for m in llm.requests[-1]["body"]["messages"]]


def test_a_started_run_sees_its_message_and_the_history_and_frees_the_thread(runs_world):
    runs, service, llm, agent = runs_world
    thread = service.create_conversation(WHO, kind="thread")[0].id
    for n in range(3):
        run = runs.create(WHO, thread, {"assistant_id": agent}, [_user(f"question {n}")], start_now=True)
        assert run["id"] in runs._taken
        runs.advance(WHO, run["id"], None)
        assert run["id"] not in runs._taken
        assert runs.get(WHO, thread, run["id"])["status"] == "completed"
    assert _sent_texts(llm) == ["Be brief.", "question 0", "echo: question 0", "question 1", "echo: question 1", "question 2"]
    writer = TurnWriter(service)
    taken = writer.try_take("acme", thread)  # the turn's commit released the lease
    assert taken is not None
    writer.release(taken)


def test_a_deleted_newest_item_makes_the_turn_read_its_history_itself(runs_world):
    runs, service, llm, agent = runs_world
    thread = service.create_conversation(WHO, kind="thread")[0].id
    service.append_items(WHO, thread, [{"role": "user", "content": "kept"}, {"role": "user", "content": "deleted"}])
    newest = service.list_items(WHO, thread, limit=1, order="desc").data[0]
    service.delete_item(WHO, thread, newest.id)
    run = runs.create(WHO, thread, {"assistant_id": agent}, [_user("now")], start_now=True)
    assert runs._taken[run["id"]].page is None  # a gap before the commit's items: the page is not trusted
    runs.advance(WHO, run["id"], None)
    assert _sent_texts(llm) == ["Be brief.", "kept", "now"]


def test_a_run_cancelled_before_its_turn_or_never_started_gives_the_lease_back(runs_world):
    runs, service, llm, agent = runs_world
    thread = service.create_conversation(WHO, kind="thread")[0].id
    run = runs.create(WHO, thread, {"assistant_id": agent}, [_user("q")], start_now=True)
    writer = TurnWriter(service)
    assert writer.try_take("acme", thread) is None  # held for the turn
    assert runs.cancel(WHO, thread, run["id"])["status"] in ("cancelling", "cancelled")
    runs.advance(WHO, run["id"], None)  # the turn does not run; the lease goes back
    assert llm.requests == []
    taken = writer.try_take("acme", thread)
    assert taken is not None
    writer.release(taken)
    other = service.create_conversation(WHO, kind="thread")[0].id
    runs.create(WHO, other, {"assistant_id": agent}, [_user("never run")], start_now=True)
    runs.close()  # a run whose turn never started: closing gives its thread back
    taken = writer.try_take("acme", other)
    assert taken is not None
    writer.release(taken)


def test_the_next_turn_reads_only_the_items_after_those_the_last_turn_left(runs_world, monkeypatch):
    """PostgreSQL: the create's commit reads the items after the newest the thread's last turn here left (its
    HistoryWindow) and completes the page with them; an item removed or appended by another process in between is
    seen as the database has it."""
    from weft.threads import turn_store

    runs, service, llm, agent = runs_world
    taken: list[tuple[bool, bool]] = []
    original = turn_store.TurnStore._take_page

    def spied(take, window, *args):
        original(take, window, *args)
        taken.append((window is not None, take.page is not None))

    monkeypatch.setattr(turn_store.TurnStore, "_take_page", staticmethod(spied))
    thread = service.create_conversation(WHO, kind="thread")[0].id

    def turn(text: str) -> list[str]:
        run = runs.create(WHO, thread, {"assistant_id": agent}, [_user(text)], start_now=True)
        runs.advance(WHO, run["id"], None)
        assert runs.get(WHO, thread, run["id"])["status"] == "completed"
        return _sent_texts(llm)[1:]

    for n in range(3):
        turn(f"q{n}")
    if service.store.backend != "postgresql":
        assert taken == []  # SQLite: the turn reads its page itself
        return
    assert taken == [(False, True), (True, True), (True, True)]  # the first turn knew nothing yet
    assert turn("q3") == ["q0", "echo: q0", "q1", "echo: q1", "q2", "echo: q2", "q3"]
    items = service.list_items(WHO, thread, limit=None, order="asc").data
    service.store.delete_item("acme", thread, items[2].id)  # as another process would: this one is not told
    assert turn("q4") == ["q0", "echo: q0", "echo: q1", "q2", "echo: q2", "q3", "echo: q3", "q4"]
    assert taken[-1] == (True, False)  # an item was removed since: the window is not used, the turn read its page
    service.store.append_items("acme", thread, [service._encode_items("acme", [_user("from elsewhere")])[0]], service.clock.now_ms())
    assert turn("q5")[-3:] == ["echo: q4", "from elsewhere", "q5"]
    assert taken[-1] == (False, True)  # the turn that read its own page left no window: this create read a whole page
    service.store.append_items("acme", thread, [service._encode_items("acme", [_user("again elsewhere")])[0]], service.clock.now_ms())
    assert turn("q6")[-4:] == ["q5", "echo: q5", "again elsewhere", "q6"]
    assert taken[-1] == (True, True)  # an append elsewhere is read with the items after the window
    assert turn("q7") == ["q0", "echo: q0", "echo: q1", "q2", "echo: q2", "q3", "echo: q3", "q4", "echo: q4", "from elsewhere",
                          "q5", "echo: q5", "again elsewhere", "q6", "echo: q6", "q7"]
