"""A classic run in flight when weft is killed (SIGKILL, mid model call) ends `failed` with `server_error` after the
restart, once its lease (WEFT_RUN_LEASE_SECONDS) is over; nothing of it is written, nothing twice."""
from __future__ import annotations

import time

import httpx

from tests.threads.fake_llm import FakeChatServer
from tests.threads.live import ThreadsServer


def _wait(fn, until, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if until(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out; last value {value}")


def test_run_in_flight_at_a_crash_ends_failed(tmp_path):
    slow = FakeChatServer(delay=4.0).start()
    env = {"WEFT_LLM_BASE_URL": slow.base_url, "WEFT_LLM_MODEL": "fake-model", "WEFT_RUN_LEASE_SECONDS": "1",
           "WEFT_CONVERSATION_LOCK_MODE": "wait"}
    server = ThreadsServer(tmp_path / "data", env=env).start(timeout=120)  # a loaded CI machine starts slowly
    try:
        h = server.headers()
        base = server.endpoint
        agent = httpx.post(f"{base}/assistants", json={"model": "fake-model"}, headers=h).json()
        thread = httpx.post(f"{base}/threads", json={"messages": [{"role": "user", "content": "first"}]}, headers=h).json()
        run = httpx.post(f"{base}/threads/{thread['id']}/runs", json={"assistant_id": agent["id"]}, headers=h).json()
        get = lambda: httpx.get(f"{server.endpoint}/threads/{thread['id']}/runs/{run['id']}", headers=server.headers()).json()  # noqa: E731
        _wait(get, lambda r: r["status"] == "in_progress")
        _wait(lambda: len(slow.requests), lambda n: n >= 1)  # the model call is under way
        server.kill()
        server.start(timeout=120)
        ended = _wait(get, lambda r: r["status"] not in ("queued", "in_progress"))
        assert ended["status"] == "failed" and ended["last_error"]["code"] == "server_error", ended
        messages = httpx.get(f"{server.endpoint}/threads/{thread['id']}/messages?order=asc", headers=server.headers()).json()
        assert [m["content"][0]["text"]["value"] for m in messages["data"]] == ["first"]
    finally:
        server.stop()
        slow.stop()
