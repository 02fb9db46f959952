"""A background response whose process is alive is never marked ``failed`` by a poller, however long the model
takes (weft.agents.background: the running process renews the record every third of the lease; a poller fails
a response only after a whole lease without a beat, by a compare-and-swap). Two service instances on one SQLite
file stand for two processes: one runs the response against a slow fake model, the other polls it."""
from __future__ import annotations

import time

import pytest

from tests.threads.fake_llm import FakeChatServer
from weft.agents.responses import ResponsesService
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.settings import ThreadsSettings
from weft.threads.store import SqlThreadStore

P = Principal.library("acme")
LEASE = 0.6  # WEFT_CONVERSATION_LOCK_SECONDS, short: the model below takes several leases


@pytest.fixture
def slow_llm():
    server = FakeChatServer(delay=LEASE * 4).start()
    yield server
    server.stop()


@pytest.fixture
def two_processes(tmp_path, slow_llm):
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    made = []
    for _ in range(2):
        store = SqlThreadStore(url, table_prefix="weft_")
        settings = ThreadsSettings(database_url="unused", llm_base_url=slow_llm.base_url, llm_model="fake-model",
                                   lock_lease_seconds=LEASE)
        made.append((store, ResponsesService(ThreadService(store), settings)))
    yield made[0][1], made[1][1]
    for store, responses in made:
        responses.close()
        store.close()


def _poll_until_done(poller, response_id, seconds=20.0):
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = poller.retrieve(P, response_id)
        seen.append(current["status"])
        if current["status"] not in ("queued", "in_progress"):
            return current, seen
        time.sleep(0.05)
    raise AssertionError(f"still running after {seconds} s: {seen[-5:]}")


def test_a_busy_owner_is_not_failed_by_another_process(two_processes):
    runner, poller = two_processes
    conv, _ = runner.service.create_conversation(P)
    queued = runner.create(P, {"input": "take your time", "conversation": conv.id, "background": True})
    ended, seen = _poll_until_done(poller, queued["id"])
    assert "failed" not in seen and ended["status"] == "completed", seen[-5:]
    assert ended["output"][0]["content"][0]["text"] == "echo: take your time"
    assert runner.retrieve(P, queued["id"])["status"] == "completed"
    assert [i.role for i in runner.service.list_items(P, conv.id, order="asc").data] == ["user", "assistant"]


def test_a_response_waiting_for_a_worker_is_kept_alive_too(tmp_path, slow_llm):
    # one worker: the second response waits in the pool's queue for a whole model call, still renewed
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    stores = [SqlThreadStore(url, table_prefix="weft_") for _ in range(2)]
    settings = ThreadsSettings(database_url="unused", llm_base_url=slow_llm.base_url, llm_model="fake-model",
                               lock_lease_seconds=LEASE)
    runner = ResponsesService(ThreadService(stores[0]), settings, background_workers=1)
    poller = ResponsesService(ThreadService(stores[1]), settings)
    try:
        first = runner.create(P, {"input": "one", "background": True})
        second = runner.create(P, {"input": "two", "background": True})
        ended, seen = _poll_until_done(poller, second["id"])
        assert "failed" not in seen and ended["status"] == "completed", seen[-5:]
        assert poller.retrieve(P, first["id"])["status"] == "completed"
    finally:
        for svc in (runner, poller):
            svc.close()
        for store in stores:
            store.close()


def test_a_stopped_owner_still_ends_failed(two_processes):
    runner, poller = two_processes
    queued = runner.create(P, {"input": "never finishes here", "background": True})
    runner.background.close()  # the process "stops": no worker, no heartbeat (the record stays queued/in_progress)
    time.sleep(LEASE * 2)
    current = poller.retrieve(P, queued["id"])
    if current["status"] == "completed":  # the worker had already started and finished: nothing to show here
        pytest.skip("the run finished before the stop")
    assert current["status"] == "failed" and current["error"]["code"] == "server_error"
