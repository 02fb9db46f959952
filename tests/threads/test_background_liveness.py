"""A background response whose process is alive is never marked ``failed`` by a poller, however long the model
takes (weft.agents.background: the running process renews the record every third of the lease; a poller fails
a response only after a whole lease without a beat, by a compare-and-swap). Two service instances on one store
(two engines on one SQLite file, PostgreSQL or MariaDB database) stand for two processes: one runs the response
against a slow fake model, the other polls it."""
from __future__ import annotations

import time

import pytest

from tests.threads.backends import drop_store_tables, unique_prefix
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
def two_processes(backend_url, slow_llm):
    prefix = unique_prefix()
    made = []
    for _ in range(2):
        store = SqlThreadStore(backend_url, table_prefix=prefix)
        settings = ThreadsSettings(database_url="unused", llm_base_url=slow_llm.base_url, llm_model="fake-model",
                                   lock_lease_seconds=LEASE)
        made.append((store, ResponsesService(ThreadService(store), settings)))
    yield made[0][1], made[1][1]
    for store, responses in made:
        responses.close()
    made[1][0].close()
    drop_store_tables(made[0][0])


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
    # a record left running by a process that stopped (no worker, no heartbeat): failed once a lease has passed
    _runner, poller = two_processes
    left = {"id": "resp_left_behind", "object": "response", "status": "in_progress", "background": True, "output": []}
    poller.records.save(P, left, [], owner="proc_stopped")
    assert poller.retrieve(P, left["id"])["status"] == "in_progress"  # within the lease
    time.sleep(LEASE * 1.5)
    current = poller.retrieve(P, left["id"])
    assert current["status"] == "failed" and current["error"]["code"] == "server_error"
    assert poller.retrieve(P, left["id"])["status"] == "failed"  # stored so


RUNNER = """
import sys, time
from weft.agents.responses import ResponsesService
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.settings import ThreadsSettings
from weft.threads.store import SqlThreadStore

url, llm, lease = sys.argv[1], sys.argv[2], float(sys.argv[3])
settings = ThreadsSettings(database_url="unused", llm_base_url=llm, llm_model="fake-model", lock_lease_seconds=lease)
responses = ResponsesService(ThreadService(SqlThreadStore(url, table_prefix="weft_")), settings)
queued = responses.create(Principal.library("acme"), {"input": "from another process", "background": True})
print(queued["id"], flush=True)
deadline = time.monotonic() + 30
while responses.retrieve(Principal.library("acme"), queued["id"])["status"] in ("queued", "in_progress") and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def test_a_busy_owner_in_a_second_os_process_is_not_failed(tmp_path, slow_llm):
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    store = SqlThreadStore(url, table_prefix="weft_")
    settings = ThreadsSettings(database_url="unused", llm_base_url=slow_llm.base_url, llm_model="fake-model",
                               lock_lease_seconds=LEASE)
    poller = ResponsesService(ThreadService(store), settings)
    import weft

    src = os.path.dirname(os.path.dirname(os.path.abspath(weft.__file__)))  # the weft this test runs
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, url, slow_llm.base_url, str(LEASE)], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": src})
    try:
        response_id = runner.stdout.readline().strip()
        assert response_id.startswith("resp_")
        ended, seen = _poll_until_done(poller, response_id)
        assert "failed" not in seen and ended["status"] == "completed", seen[-5:]
        assert ended["output"][0]["content"][0]["text"] == "echo: from another process"
        assert runner.wait(30) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
        poller.close()
        store.close()
