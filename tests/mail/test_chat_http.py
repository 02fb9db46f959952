"""Chat continuity over HTTP on a live server (state in the thread store), and imported mail seen over HTTP."""
from __future__ import annotations

import json
import mailbox
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.mail.test_reading import mixed_mailbox
from tests.threads.live import ThreadsServer, weft_cli

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
IDLE = 600  # WEFT_CHAT_IDLE_SECONDS for this server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("chat") / "data"
    srv = ThreadsServer(data, env={"WEFT_CHAT_IDLE_SECONDS": str(IDLE)}).start()
    yield srv
    srv.kill()


def _post(server, body, *, key=None, tenant="acme"):
    return httpx.post(f"{server.endpoint}/v1/chat/messages", json=body, headers=server.headers(key, tenant), timeout=30)


def _message(channel, at, text, **extra):
    return {"channel": channel, "participants": ["alice@example.com", "bot"], "sender": "alice@example.com",
            "text": text, "at": at.isoformat(), **extra}


def test_continuity_scenarios_and_reasons(server):
    first = _post(server, _message("widget", T0, "hello", thread_id="client-thread-1", message_id="m1"))
    assert first.status_code == 200, first.text
    one = first.json()
    assert one["decision"]["reason"] == "no_open_conversation" and one["decision"]["started_new"]
    assert one["item"]["role"] == "user" and one["item"]["content"][0]["text"] == "hello"
    assert one["item"]["metadata"]["chat_reason"] == "no_open_conversation"
    cid = one["conversation_id"]

    # same participants (any order, any case), a fresh client thread id, within the window: continues
    again = _post(server, {**_message("widget", T0 + timedelta(minutes=5), "still there?", thread_id="client-thread-2"),
                           "participants": ["BOT", "Alice@example.com"]}).json()
    assert again["conversation_id"] == cid
    assert again["decision"]["reason"] == "within_idle_window" and "window" in again["decision"]["explanation"]

    # idle longer than WEFT_CHAT_IDLE_SECONDS: a new conversation
    later = _post(server, _message("widget", T0 + timedelta(minutes=5, seconds=IDLE + 1), "new topic")).json()
    assert later["conversation_id"] != cid
    assert later["decision"]["reason"] == "idle_window_expired" and later["decision"]["started_new"]

    # an explicit thread id (or a reply to a known message) wins over the idle rule
    explicit = _post(server, _message("widget", T0 + timedelta(hours=2), "back to the first", thread_id="client-thread-1")).json()
    assert explicit["conversation_id"] == cid and explicit["decision"]["reason"] == "explicit_id"
    assert explicit["decision"]["matched_explicit_id"] == "client-thread-1"
    reply = _post(server, _message("widget", T0 + timedelta(hours=3), "re m1", reply_to="m1")).json()
    assert reply["conversation_id"] == cid and reply["decision"]["matched_explicit_id"] == "m1"
    by_id = _post(server, _message("widget", T0 + timedelta(hours=4), "by weft id", thread_id=cid)).json()
    assert by_id["conversation_id"] == cid and by_id["decision"]["reason"] == "explicit_id"

    # the assistant's answer: role assistant, same conversation
    answer = _post(server, {**_message("widget", T0 + timedelta(hours=4, seconds=1), "answer"), "role": "assistant",
                            "sender": "bot"}).json()
    assert answer["conversation_id"] == cid and answer["item"]["role"] == "assistant"

    # another channel with the same people is another conversation
    other = _post(server, _message("email-bridge", T0 + timedelta(minutes=1), "hi")).json()
    assert other["conversation_id"] not in (cid, later["conversation_id"])

    decisions = httpx.get(f"{server.endpoint}/v1/chat/conversations/{cid}/decisions", headers=server.headers(tenant="acme")).json()
    assert [d["reason"] for d in decisions["data"]] == ["no_open_conversation", "within_idle_window", "explicit_id",
                                                        "explicit_id", "explicit_id", "within_idle_window"]
    items = httpx.get(f"{server.endpoint}/v1/conversations/{cid}/items?order=asc", headers=server.headers(tenant="acme")).json()
    assert [i["content"][0]["text"] for i in items["data"]] == ["hello", "still there?", "back to the first", "re m1",
                                                                "by weft id", "answer"]


def test_state_survives_a_restart(server):
    start = T0 + timedelta(days=1)
    first = _post(server, _message("restart", start, "before", thread_id="rt-1")).json()
    server.stop()
    server.start()
    after = _post(server, _message("restart", start + timedelta(minutes=1), "after")).json()
    assert after["conversation_id"] == first["conversation_id"] and after["decision"]["reason"] == "within_idle_window"
    explicit = _post(server, _message("restart", start + timedelta(days=3), "much later", thread_id="rt-1")).json()
    assert explicit["conversation_id"] == first["conversation_id"] and explicit["decision"]["reason"] == "explicit_id"


def test_tenant_rules_and_errors(server):
    created = weft_cli("keys", "create", "--tenant", "globex", "--data-dir", str(server.data_dir), "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["key"]
    mine = _post(server, _message("widget", T0, "globex hello", thread_id="client-thread-1"), key=key, tenant=None).json()
    assert mine["decision"]["reason"] == "no_open_conversation"  # acme's thread id means nothing for globex
    assert _post(server, _message("widget", T0, "x"), key=key, tenant="acme").status_code == 403
    missing = httpx.post(f"{server.endpoint}/v1/chat/messages", json=_message("widget", T0, "x"), timeout=30)
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "invalid_request_error"
    bad = _post(server, {"channel": "widget", "participants": "alice", "text": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "participants"
    bad_at = _post(server, {**_message("widget", T0, "x"), "at": "yesterday"})
    assert bad_at.status_code == 400 and bad_at.json()["error"]["param"] == "at"
    # without 'at' the server clock is used
    now = _post(server, {k: v for k, v in _message("clock", T0, "now").items() if k != "at"}).json()
    assert abs(datetime.fromisoformat(now["decision"]["at"]) - datetime.now(timezone.utc)) < timedelta(minutes=5)


def test_imported_mail_metadata_over_http(server, tmp_path):
    box = mailbox.mbox(str(tmp_path / "box.mbox"))
    for raw in mixed_mailbox():
        box.add(raw)
    box.flush()
    run = weft_cli("mail", "import", str(tmp_path / "box.mbox"), "--tenant", "mailtenant", "--data-dir", str(server.data_dir))
    assert run.returncode == 0, run.stderr
    headers = server.headers(tenant="mailtenant")
    listed = httpx.get(f"{server.endpoint}/v1/conversations?metadata[mail_root]=<late-parent@example.com>", headers=headers).json()
    assert len(listed["data"]) == 1
    cid = listed["data"][0]["id"]
    messages = httpx.get(f"{server.endpoint}/threads/{cid}/messages?order=asc", headers=headers).json()["data"]
    assert [m["metadata"]["message_id"] for m in messages] == ["<late-parent@example.com>", "<late-child@example.com>"]
    assert messages[1]["metadata"]["in_reply_to"] == "<late-parent@example.com>"
    # the same headers come with the items on the OpenAI Conversations API
    items = httpx.get(f"{server.endpoint}/v1/conversations/{cid}/items?order=asc", headers=headers).json()["data"]
    assert [i["metadata"]["message_id"] for i in items] == ["<late-parent@example.com>", "<late-child@example.com>"]
    assert items[0]["type"] == "message" and items[0]["content"][0]["text"] == "Lunch at noon?"


def test_library_store_uses_the_injected_clock_and_is_shared(tmp_path):
    from weft.mail.chat import ChatConversationStore, ContinuityPolicy
    from weft.mail.chat_store import ChatMessages, ThreadChatConversationStore
    from weft.threads.clock import ManualClock
    from weft.threads.policy import Principal
    from weft.threads.service import ThreadService
    from weft.threads.store import SqlThreadStore

    url = f"sqlite:///{tmp_path / 'threads.sqlite3'}"
    clock = ManualClock()
    one, two = ThreadService(SqlThreadStore(url), clock=clock), ThreadService(SqlThreadStore(url), clock=clock)
    principal = Principal.library("acme")
    try:
        assert isinstance(ThreadChatConversationStore(one, principal), ChatConversationStore)
        policy = ContinuityPolicy(idle_window=timedelta(minutes=30))
        first = ChatMessages(one, policy).post(principal, channel="c", participants=["a", "b"], text="hi")
        clock.advance(seconds=29 * 60)
        second = ChatMessages(two, policy).post(principal, channel="c", participants=["b", "a"], text="again")  # another "process"
        assert second.decision.conversation_id == first.decision.conversation_id
        clock.advance(seconds=31 * 60)
        third = ChatMessages(one, policy).post(principal, channel="c", participants=["a", "b"], text="later")
        assert third.decision.started_new and third.decision.reason.value == "idle_window_expired"
        decisions = ThreadChatConversationStore(two, principal).decisions(first.decision.conversation_id)
        assert [d.reason.value for d in decisions] == ["no_open_conversation", "within_idle_window"]
    finally:
        one.close()
        two.close()
