"""The reads a classic run's turn makes together (weft.threads.turn_reads), the batched decode of a page of items,
the read-audit flusher's deadline, and the round trips of a run's turn on PostgreSQL (counted on the wire)."""
from __future__ import annotations

import threading
import time

import pytest

from tests.threads.backends import PG_URL, drop_store_tables, require_server, unique_prefix
from weft.errors import NotFound
from weft.threads.codec import BodyCodec
from weft.threads.crypto import Keyring
from weft.threads.hot_path import AuditBuffer
from weft.threads.policy import Principal
from weft.threads.records import AuditRecord
from weft.threads.service import PendingItem, ThreadService
from weft.threads.turns import TurnWriter

WHO = Principal.library("acme")


def _user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_the_lease_comes_with_the_newest_page_where_it_saves_a_round_trip(any_store):
    service = ThreadService(any_store)
    conversation = service.create_conversation(WHO, items=[_user(f"m{n}") for n in range(5)])[0].id
    mine, other = TurnWriter(service), TurnWriter(service)
    lease = mine.try_take("acme", conversation, prefetch=3)
    assert lease is not None
    assert other.try_take("acme", conversation, prefetch=3) is None  # the lease is held: no page, no lease
    if any_store.backend == "postgresql":
        items, more = lease.page
        assert [i.seq for i in items] == [4, 3, 2] and more
        assert [service._item(i).body["content"][0]["text"] for i in items] == ["m4", "m3", "m2"]
    else:
        assert lease.page is None  # SQLite: the turn reads its history itself (no round trip to save); MariaDB: no fast path
    history = service.recent_history(WHO, conversation, 1000, lambda item: 1, first_size=3, first_page=lease.page)
    assert [i.body["content"][0]["text"] for i in history] == [f"m{n}" for n in range(5)]
    mine.release(lease)
    with pytest.raises(NotFound):
        mine.try_take("acme", "conv_missing", prefetch=3)


def test_a_page_whose_newest_item_is_not_the_last_numbered_is_read_again(any_store):
    # a deleted newest item looks as an append the lease's snapshot missed would: the page is not used
    service = ThreadService(any_store)
    conversation = service.create_conversation(WHO, items=[_user("kept"), _user("deleted")])[0].id
    newest = service.list_items(WHO, conversation, limit=1).data[0]
    service.delete_item(WHO, conversation, newest.id)
    writer = TurnWriter(service)
    lease = writer.try_take("acme", conversation, prefetch=10)
    assert lease is not None and lease.page is None
    assert [i.body["content"][0]["text"] for i in service.recent_history(WHO, conversation, 1000, lambda item: 1)] == ["kept"]
    writer.release(lease)


def test_records_and_the_newest_of_a_kind_in_one_read_are_the_two_reads(any_store):
    service = ThreadService(any_store)
    thread = service.create_conversation(WHO, kind="thread")[0].id
    agent = service.create_conversation(WHO, kind="assistant", extra={"name": "a"})[0].id
    runs = [service.create_conversation(WHO, kind="run", metadata={"thread_id": thread}, extra={"n": n})[0].id for n in range(3)]
    service.create_conversation(WHO, kind="run", metadata={"thread_id": "thread_other"})
    service.create_conversation(Principal.library("globex"), kind="thread", conversation_id="conv_globexonly")
    found, page = service.get_conversations_and_list(WHO, [thread, agent, "conv_missing", "conv_globexonly"], kind="run",
                                                     limit=2, order="desc", metadata={"thread_id": thread})
    assert set(found) == {thread, agent}  # another tenant's record is not found
    assert found[agent].extra == {"name": "a"} and found[thread].kind == "thread"
    alone = service.list_conversations(WHO, limit=2, order="desc", metadata={"thread_id": thread}, kind="run")
    assert [c.id for c in page.data] == [c.id for c in alone.data] and page.has_more == alone.has_more is True
    assert {c.id for c in page.data} <= set(runs)
    _, everything = service.get_conversations_and_list(WHO, [thread], kind="run", limit=5, order="asc", metadata={"thread_id": thread})
    assert [c.id for c in everything.data] == [c.id for c in service.list_conversations(
        WHO, limit=5, order="asc", metadata={"thread_id": thread}, kind="run").data] and not everything.has_more
    admin = Principal("acme", frozenset({"read", "write", "admin"}), key_id="adm", server_admin=True)
    operations = [(r.operation, r.conversation_id) for r in service.list_audit(admin, tenant_id="acme")]
    assert ("conversation.get", agent) in operations and ("conversation.list", None) in operations


def test_a_page_of_plain_bodies_is_decoded_as_one_array_and_as_each_alone():
    codec = BodyCodec(Keyring(None, None, encrypt_new_writes=False))
    values = [{"a": 1}, [1, 2], "x", None, {"text": "é, ]"}]
    blobs = [codec.encode("acme", f"item:{n}", v) for n, v in enumerate(values)]
    assert codec.decode_many("acme", blobs, lambda: [f"item:{n}" for n in range(len(blobs))]) == values
    with pytest.raises(ValueError):  # a body that is not JSON fails as its own decode does
        codec.decode_many("acme", [blobs[0], b"\x00{not json"], lambda: ["item:0", "item:1"])
    with pytest.raises(ValueError):  # two values in one body are not taken as two items
        codec.decode_many("acme", [blobs[0], b"\x001,2"], lambda: ["item:0", "item:1"])


def test_a_sealed_page_is_decoded_item_by_item(tmp_path):
    from weft.threads.store import SqlThreadStore

    store = SqlThreadStore(f"sqlite:///{tmp_path / 'sealed.sqlite3'}", table_prefix=unique_prefix())
    try:
        service = ThreadService(store, master_key=bytes(range(32)), encryption=True)
        conversation = service.create_conversation(WHO, items=[_user(f"s{n}") for n in range(4)])[0].id
        stored = store.list_items("acme", conversation, limit=10, order="asc").items
        assert all(r.body[:1] == b"\x01" for r in stored)
        assert [i.body["content"][0]["text"] for i in service._items(stored)] == ["s0", "s1", "s2", "s3"]
    finally:
        store.close()


def test_the_flusher_leaves_records_a_write_takes_within_the_interval_and_stores_the_rest_in_time():
    written: list[list[tuple]] = []
    buffer = AuditBuffer(written.append, flush_interval=0.3)
    record = lambda: AuditRecord(int(time.time() * 1000), "acme", None, "items.list", "ok")  # noqa: E731
    try:
        for _ in range(5):  # a turn: a read, then its write takes the read's record along within the interval
            buffer.add(record())
            time.sleep(0.1)
            assert len(buffer.take()) == 1
        time.sleep(0.4)
        assert written == []  # no transaction of its own for records a write took
        buffer.add(record())
        added = time.monotonic()
        while not written and time.monotonic() < added + 3:
            time.sleep(0.01)
        assert len(written) == 1 and len(written[0]) == 1
        assert 0.25 <= time.monotonic() - added < 1.5  # at its deadline, not before
    finally:
        buffer.close()


@pytest.mark.parametrize("start_now", [True, False])
def test_a_classic_run_turn_is_two_round_trips_on_postgresql(start_now):
    """Create (the message and the run record: one commit, which checks the thread, the agent and the newest runs
    the previous turn left; with ``start_now`` it also takes the thread's lease and reads the history) and the turn
    (the message, the lease's release and the run's end: one commit). Without ``start_now`` the turn takes the
    lease and reads the history in one statement of its own: three."""
    require_server("PostgreSQL", PG_URL)
    from urllib.parse import urlsplit

    from bench.threads.runs_roundtrips import WireCounter, proxied
    from tests.threads.fake_llm import FakeChatServer
    from weft.agents.assistants import Assistants
    from weft.agents.runs import Runs
    from weft.threads.chat_endpoint import ChatEndpoint
    from weft.threads.store import SqlThreadStore

    parts = urlsplit(PG_URL)
    proxy = WireCounter((parts.hostname or "127.0.0.1", parts.port or 5432), 0)
    llm = FakeChatServer().start()
    endpoint = ChatEndpoint(llm.base_url, "k")
    store = SqlThreadStore(proxied(PG_URL, proxy), table_prefix=unique_prefix())
    store.read_audit._interval = 600.0  # only the turn's own statements are counted
    service = ThreadService(store)
    runs = Runs(service, Assistants(service), endpoint)
    try:
        agent = runs.assistants.create(WHO, {"model": "fake-model", "instructions": "Be brief."})["id"]
        thread = service.create_conversation(WHO, kind="thread")[0].id
        counts = []
        for n in range(16):
            before = proxy.snapshot()
            run = runs.create(WHO, thread, {"assistant_id": agent}, [PendingItem("message", "user", _user(f"q{n}"))], start_now=start_now)
            runs.advance(WHO, run["id"], None)
            after = proxy.snapshot()
            counts.append((after["Q"] + after["S"]) - (before["Q"] + before["S"]))
            assert runs.get(WHO, thread, run["id"])["status"] == "completed"
        # once psycopg's connections are open and its statements prepared, a turn is 2 (3); the counter sees the whole
        # wire, so on a loaded host a turn now and then also counts a statement of another thread of the store (or a
        # pooled connection opened then, preparing its statements anew): the typical turn, and the least, is 2 (3)
        late = counts[-8:]
        expected = 2 if start_now else 3
        assert min(late) == expected and late.count(expected) >= 6, counts
        assert counts[0] > expected  # the first create reads the thread, the agent and the runs: nothing known yet
        texts = [i.body["content"][0]["text"] for i in service.history(WHO, thread) if i.role == "user"]
        assert texts == [f"q{n}" for n in range(16)]
    finally:
        runs.close()
        service.close()
        drop_store_tables(store)
        endpoint.close()
        llm.stop()
        proxy.close()


def test_a_run_turn_sees_a_message_appended_just_before_it(any_store):
    """The lease's statement and an append racing it: the turn's history holds every message appended before its
    lease was taken (appended from another thread while turns take the lease)."""
    service = ThreadService(any_store)
    conversation = service.create_conversation(WHO)[0].id
    writer = TurnWriter(service)
    stop = threading.Event()
    appended: list[int] = []

    def append() -> None:
        while not stop.is_set():
            try:
                appended.append(service.append_items(WHO, conversation, [_user("x")])[0].seq)
            except Exception:  # noqa: BLE001 - refused while the lease is held
                time.sleep(0.001)

    worker = threading.Thread(target=append)
    worker.start()
    try:
        for _ in range(30):
            lease = None
            while lease is None:
                lease = writer.try_take("acme", conversation, prefetch=1000)
            seen = service.recent_history(WHO, conversation, 100000, lambda item: 1, first_size=1000, first_page=lease.page)
            stored = service.list_items(WHO, conversation, limit=None, order="asc").data  # under the lease: no appends
            assert [i.seq for i in seen] == [i.seq for i in stored]
            writer.release(lease)
            time.sleep(0.003)  # the appender's window
    finally:
        stop.set()
        worker.join()
    assert appended


def test_a_long_threads_history_is_one_read_once_the_run_knows_its_size(sqlite_store, fake_llm, monkeypatch):
    from weft.agents.assistants import Assistants
    from weft.agents.runs import Runs
    from weft.threads.chat_endpoint import ChatEndpoint

    service = ThreadService(sqlite_store)
    thread = service.create_conversation(WHO, kind="thread")[0].id
    for n in range(0, 150, 10):
        service.append_items(WHO, thread, [_user(f"old {k}") for k in range(n, n + 10)])
    endpoint = ChatEndpoint(fake_llm.base_url, "k")
    runs = Runs(service, Assistants(service), endpoint, history_token_budget=100000)
    older = []
    real = sqlite_store.list_items_older
    monkeypatch.setattr(sqlite_store, "list_items_older", lambda *a, **kw: older.append(1) or real(*a, **kw))
    try:
        agent = runs.assistants.create(WHO, {"model": "fake-model"})["id"]
        reads = []
        for n in range(3):
            before = len(older)
            run = runs.create(WHO, thread, {"assistant_id": agent}, [PendingItem("message", "user", _user(f"q{n}"))])
            runs.advance(WHO, run["id"], None)
            assert runs.get(WHO, thread, run["id"])["status"] == "completed"
            reads.append(len(older) - before)
        assert reads[0] >= 1 and reads[1:] == [0, 0], reads  # the first turn learns the size; later ones read one page
        sent = fake_llm.requests[-1]["body"]["messages"]
        assert sum(1 for m in sent if m["role"] == "user") == 153  # the whole history still reaches the model
        assert sum(1 for m in sent if m["role"] == "assistant") == 2
    finally:
        runs.close()
        endpoint.close()
