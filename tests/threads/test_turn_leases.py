"""A turn's conversation lease (weft.threads.turns): held while its holder beats, gone a lease after it stops
(a SIGKILLed weft), released by the turn's one commit; and model calls of classic runs counted in
WEFT_MODEL_CONCURRENCY with /v1/responses."""
from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from tests.threads.fake_llm import FakeChatServer
from tests.threads.live import ThreadsServer
from weft.errors import InvalidInput
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService
from weft.threads.turns import TurnRecord, TurnWriter

LEASE = 0.6


def _message(text: str) -> PendingItem:
    return PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})


def test_a_beating_holder_keeps_its_lease_and_its_commit_releases_it(any_store):
    service = ThreadService(any_store)
    who = Principal.library("acme")
    conversation = service.create_conversation(who)[0].id
    mine, other = TurnWriter(service, lease_seconds=LEASE), TurnWriter(service, lease_seconds=LEASE)  # two "processes"
    lease = mine.try_take("acme", conversation)
    assert lease is not None
    deadline = time.monotonic() + 3 * LEASE  # three leases long: only the heartbeat keeps it
    while time.monotonic() < deadline:
        assert other.try_take("acme", conversation) is None
        time.sleep(0.05)
    stored = mine.commit(who, conversation, lease, [_message("q"), _message("a")], "response.create",
                         TurnRecord("resp_leasetest1", "response", {"response": {"id": "resp_leasetest1"}}))
    assert [i.seq for i in stored] == [0, 1]
    assert lease.released
    assert service.get_conversation(who, "resp_leasetest1").extra["response"]["id"] == "resp_leasetest1"
    assert [i.body["content"][0]["text"] for i in service.history(who, conversation)] == ["q", "a"]
    taken = other.try_take("acme", conversation)  # released in the commit: free at once
    assert taken is not None
    other.release(taken)
    operations = [(r.operation, r.conversation_id) for r in service.list_audit(who)]
    assert ("response.create", conversation) in operations and ("response.create", "resp_leasetest1") in operations


def test_a_dead_holders_lease_ends_within_one_lease_and_its_late_commit_stores_nothing(any_store):
    service = ThreadService(any_store)
    who = Principal.library("acme")
    conversation = service.create_conversation(who)[0].id
    dead, alive = TurnWriter(service, lease_seconds=LEASE), TurnWriter(service, lease_seconds=LEASE)
    lease = dead.try_take("acme", conversation)
    dead.keeper.drop(lease.handle)  # the holder's heartbeat stops, as when its process dies
    started = time.monotonic()
    assert alive.try_take("acme", conversation) is None
    taken = None
    while taken is None:
        assert time.monotonic() - started < LEASE + 2.0, "the dead holder's lease did not end"
        taken = alive.try_take("acme", conversation)
        time.sleep(0.02)
    assert time.monotonic() - started >= LEASE * 0.8  # not before its time
    with pytest.raises(InvalidInput) as refused:  # fencing: the old holder's turn is refused whole
        dead.commit(who, conversation, lease, [_message("late")], "response.create",
                    TurnRecord("resp_leasetest2", "response", {"response": {}}))
    assert refused.value.code == "conversation_locked" and refused.value.status == 400
    assert service.history(who, conversation) == []
    with pytest.raises(Exception):
        service.get_conversation(who, "resp_leasetest2")
    alive.commit(who, conversation, taken, [_message("on time")], "response.create")
    assert [i.body["content"][0]["text"] for i in service.history(who, conversation)] == ["on time"]


def _wait(fn, until, timeout=60.0):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fn()
        if until(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out; last value {value}")


def test_a_killed_weft_releases_its_conversations_within_the_lease(tmp_path):
    """SIGKILL during the model calls of a response and of a run: after the restart both conversations take a new
    turn at once (the lock of a dead holder lasts one lease, 2 s here; it was 600 s / 130 s)."""
    slow = FakeChatServer(delay=60.0).start()
    env = {"WEFT_LLM_BASE_URL": slow.base_url, "WEFT_LLM_MODEL": "fake-model", "WEFT_CONVERSATION_LEASE_SECONDS": "2",
           "WEFT_RUN_LEASE_SECONDS": "1", "WEFT_CONVERSATION_LOCK_WAIT": "30"}
    server = ThreadsServer(tmp_path / "data", env=env).start(timeout=120)
    try:
        h, base = server.headers(), server.endpoint
        conversation = httpx.post(f"{base}/v1/conversations", json={}, headers=h).json()["id"]
        agent = httpx.post(f"{base}/assistants", json={"model": "fake-model"}, headers=h).json()
        thread = httpx.post(f"{base}/threads", json={"messages": [{"role": "user", "content": "first"}]}, headers=h).json()

        def respond():
            try:
                httpx.post(f"{base}/v1/responses", json={"conversation": conversation, "input": "cut off"}, headers=h, timeout=90)
            except httpx.HTTPError:
                pass  # the server dies under it

        asking = threading.Thread(target=respond, daemon=True)
        asking.start()
        httpx.post(f"{base}/threads/{thread['id']}/runs", json={"assistant_id": agent["id"]}, headers=h)
        _wait(lambda: len(slow.requests), lambda n: n >= 2)  # both model calls are under way: both locks are held
        server.kill()
        slow.delay = 0.0
        server.start(timeout=120)
        client = openai.OpenAI(base_url=f"{server.endpoint}/v1", api_key=server.admin_key, max_retries=0)
        began = time.monotonic()
        answer = client.responses.create(model="fake-model", conversation=conversation, input="after the crash")
        assert answer.output_text == "echo: after the crash"
        assert time.monotonic() - began < 10, "the dead server's conversation lock outlived its lease"
        items = client.conversations.items.list(conversation, order="asc").data
        assert [i.role for i in items] == ["user", "assistant"]  # nothing of the cut-off turn, nothing twice
        h = server.headers()
        get_run = lambda run_id: httpx.get(f"{server.endpoint}/threads/{thread['id']}/runs/{run_id}", headers=h).json()  # noqa: E731
        runs = httpx.get(f"{server.endpoint}/threads/{thread['id']}/runs", headers=h).json()["data"]
        _wait(lambda: get_run(runs[0]["id"]), lambda r: r["status"] == "failed")
        began = time.monotonic()
        second = httpx.post(f"{server.endpoint}/threads/{thread['id']}/runs", json={"assistant_id": agent["id"]}, headers=h).json()
        done = _wait(lambda: get_run(second["id"]), lambda r: r["status"] not in ("queued", "in_progress"), timeout=30)
        assert done["status"] == "completed", done
        assert time.monotonic() - began < 10
        client.close()
    finally:
        server.stop()
        slow.stop()


def test_runs_count_in_model_concurrency(tmp_path):
    """WEFT_MODEL_CONCURRENCY=1: two runs of one tenant, started together, never call the model at the same time."""
    slow = FakeChatServer(delay=0.5).start()
    spans: list[tuple[float, float]] = []
    respond = slow.respond

    def timed(handler, body):  # the delay is spent just before respond(): the call spanned [now - delay, now]
        spans.append((time.monotonic() - slow.delay, time.monotonic()))
        return respond(handler, body)

    slow.respond = timed
    env = {"WEFT_LLM_BASE_URL": slow.base_url, "WEFT_LLM_MODEL": "fake-model", "WEFT_MODEL_CONCURRENCY": "1"}
    server = ThreadsServer(tmp_path / "data", env=env).start(timeout=120)
    try:
        h, base = server.headers(), server.endpoint
        agent = httpx.post(f"{base}/assistants", json={"model": "fake-model"}, headers=h).json()
        threads = [httpx.post(f"{base}/threads", json={"messages": [{"role": "user", "content": f"q{n}"}]}, headers=h).json()
                   for n in range(2)]
        started: list[dict] = []

        def run(thread_id: str) -> None:
            started.append(httpx.post(f"{base}/threads/{thread_id}/runs", json={"assistant_id": agent["id"]}, headers=h).json())

        workers = [threading.Thread(target=run, args=(t["id"],)) for t in threads]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for r in started:
            done = _wait(lambda: httpx.get(f"{base}/threads/{r['thread_id']}/runs/{r['id']}", headers=h).json(),
                         lambda x: x["status"] not in ("queued", "in_progress"))
            assert done["status"] == "completed", done
        assert len(spans) == 2
        (a_start, a_end), (b_start, b_end) = sorted(spans)
        assert b_start >= a_end - 0.05, f"model calls overlapped: {spans}"
    finally:
        server.stop()
        slow.stop()
