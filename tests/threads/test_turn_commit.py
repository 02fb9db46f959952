"""The turn's one commit (weft.threads.turns.TurnWriter.commit; on PostgreSQL one statement, weft.threads.turn_sql)
in each of its shapes, on every backend: what it stores together, and that a refused commit stores nothing."""
from __future__ import annotations

import pytest

from weft.errors import Conflict, InvalidInput, NotFound
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService
from weft.threads.turns import TurnRecord, TurnWriter

WHO = Principal.library("acme")
ADMIN = Principal("acme", frozenset({"admin"}), key_id="t")


def _item(text: str) -> PendingItem:
    return PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})


def _texts(service, conversation):
    return [i.body["content"][0]["text"] for i in service.list_items(WHO, conversation, order="asc").data]


@pytest.fixture
def setup(any_store):
    service = ThreadService(any_store)
    writer = TurnWriter(service, lease_seconds=30)
    conversation = service.create_conversation(WHO)[0].id
    run, _ = service.create_conversation(WHO, kind="run", extra={"state": 0})
    yield service, writer, conversation, run.id
    writer.keeper.close() if hasattr(writer.keeper, "close") else None


def _operations(service):
    """The operations audited as done (a refused one is audited too, with its error)."""
    return [a.operation for a in service.list_audit(ADMIN, limit=1000) if a.outcome == "ok"]


def _one_commit(service) -> bool:
    return service.store.turns is not None  # SQLite, PostgreSQL; MariaDB writes the same things one commit each


def test_items_under_the_lease_with_a_record_update(setup):
    service, writer, conversation, run = setup
    lease = writer.try_take("acme", conversation)
    stored = writer.commit(WHO, conversation, lease, [_item("q"), _item("a")], "run.message",
                           TurnRecord(run, "run", {"state": 1}, create=False, operation="run.finish"))
    assert [i.seq for i in stored] == [0, 1] and _texts(service, conversation) == ["q", "a"]
    assert service.get_conversation(WHO, run).extra == {"state": 1}
    assert writer.try_take("acme", conversation) is not None  # released by the commit
    assert "run.message" in _operations(service)
    if _one_commit(service):
        assert "run.finish" in _operations(service)


def test_free_items_with_a_new_tagged_record_and_a_record_alone(setup):
    service, writer, conversation, _ = setup
    writer.commit(WHO, conversation, None, [_item("x")], "response.create",
                  TurnRecord("resp_turncommit1", "response", {"r": 1}, metadata={"thread_id": conversation}))
    assert _texts(service, conversation) == ["x"]
    found = service.list_conversations(WHO, limit=5, order="desc", metadata={"thread_id": conversation}, kind="response")
    assert [c.id for c in found.data] == ["resp_turncommit1"] and found.data[0].extra == {"r": 1}
    writer.commit(WHO, None, None, [], "response.create", TurnRecord("resp_turncommit2", "response", {"r": 2}))
    assert service.get_conversation(WHO, "resp_turncommit2").extra == {"r": 2}
    if not _one_commit(service):
        return
    with pytest.raises(Conflict):  # the same id again: nothing of the turn is stored
        writer.commit(WHO, conversation, None, [_item("y")], "response.create", TurnRecord("resp_turncommit2", "response", {}))
    assert _texts(service, conversation) == ["x"]


def test_a_release_without_items_with_a_record_update(setup):
    service, writer, conversation, run = setup
    lease = writer.try_take("acme", conversation)
    assert writer.commit(WHO, conversation, lease, [], "run.cancel", TurnRecord(run, "run", {"state": 2}, create=False)) == []
    assert service.get_conversation(WHO, run).extra == {"state": 2} and writer.try_take("acme", conversation) is not None


def test_refused_commits_store_nothing(setup):
    service, writer, conversation, run = setup
    if not _one_commit(service):
        pytest.skip("MariaDB stores a turn in one commit per write (weft.threads.turns): a refused record can follow stored items")
    lease = writer.try_take("acme", conversation)
    before = len(_operations(service))
    with pytest.raises(NotFound) as missing:  # the record to update is gone: no items, the lease still held
        writer.commit(WHO, conversation, lease, [_item("lost")], "run.message", TurnRecord("run_missing", "run", {}, create=False))
    assert "run_missing" in missing.value.message and _texts(service, conversation) == []
    assert writer.try_take("acme", conversation) is None
    with pytest.raises(NotFound):  # a record alone, missing
        writer.commit(WHO, None, None, [], "run.finish", TurnRecord("run_missing", "run", {}, create=False))
    writer.release(lease)
    other = writer.try_take("acme", conversation)
    with pytest.raises(InvalidInput) as locked:  # another holder has the conversation: neither items nor the record
        writer.commit(WHO, conversation, None, [_item("late")], "run.message", TurnRecord(run, "run", {"state": 9}, create=False))
    assert locked.value.code == "conversation_locked"
    assert _texts(service, conversation) == [] and service.get_conversation(WHO, run).extra == {"state": 0}
    assert not {"run.message", "run.finish"} & set(_operations(service)[before:])
    with pytest.raises(NotFound):
        writer.commit(WHO, "conv_missing", None, [_item("x")], "response.create", None)
    writer.release(other)


def test_a_compare_and_swap_update_stores_nothing_after_another_write(setup):
    from weft.threads.turns import RecordChanged

    service, writer, conversation, run = setup
    if not writer.compares:
        pytest.skip("MariaDB: no compare-and-swap; a run reads its record again before its commit (weft.agents.runs)")
    read = service.store.get_conversation("acme", run).extra_body
    service.update_conversation(WHO, run, extra={"state": "changed elsewhere"})  # another process's write
    lease = writer.try_take("acme", conversation)
    with pytest.raises(RecordChanged):
        writer.commit(WHO, conversation, lease, [_item("stale")], "run.message",
                      TurnRecord(run, "run", {"state": "stale"}, create=False, expect_extra=read))
    assert _texts(service, conversation) == [] and service.get_conversation(WHO, run).extra == {"state": "changed elsewhere"}
    assert writer.try_take("acme", conversation) is None  # still this turn's lease: it can commit again
    current = service.store.get_conversation("acme", run).extra_body
    writer.commit(WHO, conversation, lease, [_item("fresh")], "run.message",
                  TurnRecord(run, "run", {"state": "fresh"}, create=False, expect_extra=current))
    assert _texts(service, conversation) == ["fresh"] and service.get_conversation(WHO, run).extra == {"state": "fresh"}
    with pytest.raises(RecordChanged):  # a record alone, changed
        writer.commit(WHO, None, None, [], "run.finish", TurnRecord(run, "run", {"state": "x"}, create=False, expect_extra=current))


def test_array_literals_read_back_as_the_values_on_postgresql():
    """The commit statement's text and bigint arrays are sent as literals (weft.threads.turn_sql.array_literal)."""
    import psycopg

    from tests.threads.backends import PG_URL, require_server
    from weft.threads.turn_sql import array_literal

    require_server("PostgreSQL", PG_URL)
    tricky = ['say "hi"', "back\\slash", "\\\"", "{braces}, commas", "NULL", "", " spaced ", "ünïcødé ✓", "tab\tnew\nline", None, "'"]
    numbers = [0, -1, 2 ** 62, None]
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        texts, bigints, empty = conn.execute("SELECT %s::text[], %s::bigint[], %s::text[]",
                                             (array_literal(tricky), array_literal(numbers), array_literal([]))).fetchone()
    assert texts == tricky and bigints == numbers and empty == []
