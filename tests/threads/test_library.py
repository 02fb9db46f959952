"""weft.threads as a library (sync and async), the store's semantics on every backend, export/import."""
from __future__ import annotations

import asyncio
import io
import threading

import pytest

from tests.threads.backends import unique_prefix
from tests.threads.live import weft_cli
from weft.errors import Conflict, NotFound
from weft.threads.library import AsyncThreads, Threads
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.transfer import export_lines, import_lines


def test_sync_library_mirrors_the_agent_operations(tmp_path):
    with Threads.open(data_dir=tmp_path, tenant="acme") as threads:
        thread = threads.create_thread(user_id="u-42", metadata={"channel": "web"})
        assert thread.metadata == {"user_id": "u-42", "channel": "web"}
        first = threads.add_message(thread.id, role="user", content="Hello")
        threads.add_message(thread.id, role="assistant", content="Hi!")
        messages = threads.list_messages(thread.id)
        assert [(m.role, m.body["content"][0]["text"]) for m in messages] == [("user", "Hello"), ("assistant", "Hi!")]
        assert messages[0].id == first.id and [m.seq for m in messages] == [0, 1]
        assert threads.get_thread(thread.id).item_count == 2
        assert [t.id for t in threads.list_threads(metadata={"user_id": "u-42"}).data] == [thread.id]
        threads.delete_thread(thread.id)
        with pytest.raises(NotFound):
            threads.get_thread(thread.id)


def test_async_library(tmp_path):
    async def scenario():
        async with AsyncThreads.open(data_dir=tmp_path, tenant="acme") as threads:
            thread = await threads.create_thread(user_id="u1")
            await asyncio.gather(*(threads.add_message(thread.id, role="user", content=f"m{n}") for n in range(20)))
            messages = await threads.list_messages(thread.id)
            assert sorted(m.body["content"][0]["text"] for m in messages) == sorted(f"m{n}" for n in range(20))
            assert [m.seq for m in messages] == list(range(20))
            await threads.delete_thread(thread.id)

    asyncio.run(scenario())


def test_store_semantics_on_every_backend(any_store):
    service = ThreadService(any_store)
    acme, other = Principal.library("acme"), Principal.library("other")
    conv, created = service.create_conversation(acme, metadata={"k": "v"}, items=[{"role": "user", "content": f"c{n}"} for n in range(3)])
    assert [i.seq for i in created] == [0, 1, 2]
    again = service.append_items(acme, conv.id, [{"role": "user", "content": "idem"}], idempotency_key="key-1")
    replay = service.append_items(acme, conv.id, [{"role": "user", "content": "idem"}], idempotency_key="key-1")
    assert [i.id for i in replay] == [i.id for i in again]
    more = service.append_items(acme, conv.id, [{"role": "user", "content": "after"}])
    assert more[0].seq == 4  # the replay left no gap
    page = service.list_items(acme, conv.id, limit=2, order="asc", after=created[1].id)
    assert [i.seq for i in page.data] == [2, 3] and page.has_more
    page = service.list_items(acme, conv.id, limit=10, order="desc", before=created[1].id)
    assert [i.seq for i in page.data] == [4, 3, 2]
    with pytest.raises(NotFound):
        service.get_conversation(other, conv.id)
    with pytest.raises(NotFound):
        service.append_items(other, conv.id, [{"role": "user", "content": "x"}])
    assert service.list_conversations(other).data == []
    assert [c.id for c in service.list_conversations(acme, metadata={"k": "v"}).data] == [conv.id]
    # the idempotency key is scoped to the tenant
    theirs, _ = service.create_conversation(other)
    assert service.append_items(other, theirs.id, [{"role": "user", "content": "b"}], idempotency_key="key-1")[0].id != again[0].id
    service.delete_conversation(acme, conv.id)
    with pytest.raises(NotFound):
        service.list_items(acme, conv.id)
    # a key reused after its conversation was deleted starts fresh (derived rows went with it)
    fresh, _ = service.create_conversation(acme)
    assert service.append_items(acme, fresh.id, [{"role": "user", "content": "idem"}], idempotency_key="key-1")[0].seq == 0


def test_concurrent_retries_with_one_idempotency_key_write_once(sqlite_store):
    service = ThreadService(sqlite_store)
    acme = Principal.library("acme")
    conv, _ = service.create_conversation(acme)
    results, errors = [], []

    def retry():
        try:
            results.append(service.append_items(acme, conv.id, [{"role": "user", "content": "once"}], idempotency_key="dup")[0].id)
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and not errors
    assert len(service.history(acme, conv.id)) == 1


def test_export_import_round_trip(tmp_path):
    source = ThreadService(__import__("weft.threads.store", fromlist=["SqlThreadStore"]).SqlThreadStore(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    acme = Principal.library("acme")
    conv, _ = source.create_conversation(acme, metadata={"user": "ann"}, items=[
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"}])
    source.create_conversation(acme, items=[{"role": "assistant", "content": "second"}])
    lines = list(export_lines(source, acme))
    target = ThreadService(__import__("weft.threads.store", fromlist=["SqlThreadStore"]).SqlThreadStore(f"sqlite:///{tmp_path / 'b.sqlite3'}"))
    assert import_lines(target, acme, io.StringIO("\n".join(lines))) == (2, 4)
    assert list(export_lines(target, acme)) == lines
    with pytest.raises(Conflict):
        import_lines(target, acme, io.StringIO("\n".join(lines)))


def test_export_import_cli(tmp_path):
    data = tmp_path / "data"
    with Threads.open(data_dir=data, tenant="acme") as threads:
        thread = threads.create_thread(user_id="u1")
        threads.add_message(thread.id, role="user", content="exported")
    out = tmp_path / "acme.jsonl"
    done = weft_cli("threads", "export", "--tenant", "acme", "--output", str(out), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    done = weft_cli("threads", "import", "--tenant", "acme", "--input", str(out), "--data-dir", str(tmp_path / "copy"))
    assert done.returncode == 0, done.stderr
    with Threads.open(data_dir=tmp_path / "copy", tenant="acme") as copy:
        assert copy.list_messages(thread.id)[0].body["content"][0]["text"] == "exported"


def test_recent_history_reads_only_the_window_and_the_pinned_messages(sqlite_store):
    service = ThreadService(sqlite_store)
    acme = Principal.library("acme")
    conv, _ = service.create_conversation(acme, items=[{"role": "system", "content": "rules"}])
    for n in range(30):
        service.append_items(acme, conv.id, [{"role": "user", "content": f"m{n}"}] * 20)
    loaded = service.recent_history(acme, conv.id, token_budget=50, estimate=lambda item: 10)
    assert loaded[0].role == "system" and loaded[0].seq == 0
    assert len(loaded) == 1 + 100 and loaded[-1].seq == 600 and [i.seq for i in loaded[1:]] == list(range(501, 601))
