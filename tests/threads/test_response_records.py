"""Stored responses in the thread store on every backend (SQLite, PostgreSQL, MariaDB): encrypted at rest,
tenant-scoped, audited, purged by retention; background runs whose server stopped end `failed`."""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from weft.agents.responses import ResponsesService
from weft.errors import InvalidInput, NotFound
from weft.threads.clock import ManualClock
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.settings import ThreadsSettings

SECRET = "zebra-secret-9141"


@pytest.fixture
def setup(any_store, fake_llm):
    clock = ManualClock()
    service = ThreadService(any_store, master_key=os.urandom(32), encryption=True, clock=clock)
    settings = ThreadsSettings(database_url="unused", llm_base_url=fake_llm.base_url, llm_model="fake-model")
    responses = ResponsesService(service, settings)
    yield service, responses, clock
    responses.close()


def test_encrypted_tenant_scoped_audited_and_chained(setup, any_store):
    service, responses, _clock = setup
    acme, beta = Principal.library("acme"), Principal.library("beta")
    first = responses.create(acme, {"input": f"remember {SECRET}"})
    second = responses.create(acme, {"input": "and?", "previous_response_id": first["id"]})
    assert second["output"][0]["content"][0]["text"] == "echo: and?"
    with any_store.engine.connect() as conn:
        rows = conn.execute(select(any_store.tables.conversations.c.extra_body)).scalars().all()
    assert rows and all(SECRET.encode() not in bytes(r) for r in rows if r)  # sealed with the tenant's data key
    assert responses.retrieve(acme, first["id"])["output"][0]["content"][0]["text"] == f"echo: remember {SECRET}"
    with pytest.raises(NotFound):
        responses.retrieve(beta, first["id"])
    with pytest.raises(InvalidInput) as caught:  # another tenant cannot chain on it either
        responses.create(beta, {"input": "x", "previous_response_id": first["id"]})
    assert caught.value.code == "previous_response_not_found"
    operations = [a.operation for a in service.list_audit(Principal("acme", frozenset({"admin"}), key_id="t"), limit=1000)]
    assert operations.count("response.create") == 2 and "conversation.get" in operations
    page = responses.input_items(acme, first["id"], limit=20, order="asc")
    assert [i.body["content"][0]["text"] for i in page.data] == [f"remember {SECRET}"]


def test_retention_purges_stored_responses(setup):
    service, responses, clock = setup
    acme = Principal.library("acme")
    kept = responses.create(acme, {"input": "old"})
    service.set_tenant_retention(Principal("acme", frozenset({"admin"}), key_id="t", server_admin=True), "acme", 3600)
    clock.advance(seconds=7200)
    assert kept["id"] in service.purge_expired()
    with pytest.raises(NotFound):
        responses.retrieve(acme, kept["id"])


def test_a_background_response_of_a_stopped_server_ends_failed(setup):
    service, responses, clock = setup
    acme = Principal.library("acme")
    stale = {"id": "resp_stale", "object": "response", "status": "in_progress", "background": True, "output": []}
    responses.records.save(acme, stale, [], owner="proc_gone")
    assert responses.retrieve(acme, "resp_stale")["status"] == "in_progress"  # within the lease: still running
    clock.advance(seconds=responses.settings.lock_lease_seconds + 1)
    failed = responses.retrieve(acme, "resp_stale")
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert responses.cancel(acme, "resp_stale")["status"] == "failed"


def test_background_runs_to_completion_on_every_backend(setup):
    _service, responses, _clock = setup
    acme = Principal.library("acme")
    queued = responses.create(acme, {"input": "later", "background": True})
    deadline = time.monotonic() + 20
    while responses.retrieve(acme, queued["id"])["status"] in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.05)
    done = responses.retrieve(acme, queued["id"])
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "echo: later"


def _count_writes(store, calls: list[str]) -> None:
    """Notes each write of the record and each turn's commit (a spy on the real store: the writes still happen)."""
    for name in ("update_conversation", "append_items"):
        real = getattr(store, name)
        setattr(store, name, lambda *a, _real=real, _name=name, **kw: (calls.append(_name), _real(*a, **kw))[1])
    if store.turns is not None:
        real_commit = store.turns.commit_turn
        store.turns.commit_turn = lambda *a, **kw: (calls.append("commit_turn"), real_commit(*a, **kw))[1]


def _wait_done(responses, principal, response_id):
    deadline = time.monotonic() + 20
    while responses.retrieve(principal, response_id)["status"] in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.02)
    return responses.retrieve(principal, response_id)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_background_response_ends_in_one_commit(setup, any_store, streamed):
    service, responses, _clock = setup
    acme = Principal.library("acme")
    conversation, _ = service.create_conversation(acme)
    calls: list[str] = []
    _count_writes(any_store, calls)
    body = {"input": "later", "background": True, "conversation": conversation.id}
    if streamed:
        events = list(responses.prepare_stream(acme, {**body, "stream": True}))
        assert events[-1]["type"] == "response.completed"
        response_id = events[0]["response"]["id"]
    else:
        response_id = responses.create(acme, body)["id"]
    done = _wait_done(responses, acme, response_id)
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "echo: later"
    items = service.list_items(acme, conversation.id, order="asc").data
    assert [(i.role, i.body["content"][0]["text"]) for i in items] == [("user", "later"), ("assistant", "echo: later")]
    if any_store.turns is not None:  # SQLite, PostgreSQL: "in_progress", then the append with the final record
        assert calls == ["update_conversation", "commit_turn"]
    else:  # MariaDB: the same writes, one commit each
        assert calls == ["update_conversation", "append_items", "update_conversation"]
