"""Foundry/Assistants-style threads API over HTTP: threads, messages, paging, metadata limits."""
from __future__ import annotations

import httpx


def test_threads_and_messages(live):
    h = live.headers(tenant="foundry")
    base = live.endpoint
    r = httpx.post(f"{base}/threads?api-version=v1", json={"metadata": {"user": "u1"}, "messages": [{"role": "user", "content": "hello"}]}, headers=h)
    assert r.status_code == 200, r.text
    thread = r.json()
    assert thread["object"] == "thread" and thread["id"].startswith("thread_") and thread["metadata"] == {"user": "u1"}
    ids = []
    for n in range(6):
        role = "assistant" if n % 2 else "user"
        content = f"m{n}" if n % 3 else [{"type": "text", "text": f"m{n}"}]
        m = httpx.post(f"{base}/threads/{thread['id']}/messages", json={"role": role, "content": content, "metadata": {"n": str(n)}}, headers=h).json()
        assert m["object"] == "thread.message" and m["thread_id"] == thread["id"] and m["role"] == role
        assert m["content"] == [{"type": "text", "text": {"value": f"m{n}", "annotations": []}}] and m["metadata"] == {"n": str(n)}
        ids.append(m["id"])
    listed = httpx.get(f"{base}/threads/{thread['id']}/messages", params={"limit": 3}, headers=h).json()
    assert listed["object"] == "list" and listed["has_more"] and [m["id"] for m in listed["data"]] == ids[::-1][:3]
    asc = httpx.get(f"{base}/threads/{thread['id']}/messages", params={"order": "asc", "after": ids[1], "before": ids[4]}, headers=h).json()
    assert [m["id"] for m in asc["data"]] == ids[2:4]
    desc = httpx.get(f"{base}/threads/{thread['id']}/messages", params={"before": ids[2], "limit": 10}, headers=h).json()
    assert [m["id"] for m in desc["data"]] == ids[3:][::-1]
    one = httpx.get(f"{base}/threads/{thread['id']}/messages/{ids[0]}", headers=h).json()
    assert one["content"][0]["text"]["value"] == "m0"
    upd = httpx.post(f"{base}/threads/{thread['id']}/messages/{ids[0]}", json={"metadata": {"seen": "yes"}}, headers=h).json()
    assert upd["metadata"] == {"seen": "yes"}
    t2 = httpx.post(f"{base}/threads/{thread['id']}", json={"metadata": {"user": "u2"}}, headers=h).json()
    assert t2["metadata"] == {"user": "u2"}
    assert httpx.get(f"{base}/threads/{thread['id']}", headers=h).json()["metadata"] == {"user": "u2"}
    all_threads = httpx.get(f"{base}/threads", headers=h).json()
    assert thread["id"] in [t["id"] for t in all_threads["data"]]
    d = httpx.delete(f"{base}/threads/{thread['id']}", headers=h).json()
    assert d == {"id": thread["id"], "object": "thread.deleted", "deleted": True}
    assert httpx.get(f"{base}/threads/{thread['id']}", headers=h).status_code == 404


def test_metadata_limits(live):
    h = live.headers(tenant="foundry")
    base = live.endpoint
    ok = {f"k{n}": "v" * 512 for n in range(16)}
    ok["k" * 64] = ok.pop("k0")
    assert httpx.post(f"{base}/threads", json={"metadata": ok}, headers=h).status_code == 200
    for bad in ({f"k{n}": "v" for n in range(17)}, {"k" * 65: "v"}, {"k": "v" * 513}, {"k": 5}):
        r = httpx.post(f"{base}/threads", json={"metadata": bad}, headers=h)
        assert r.status_code == 400, bad
        assert r.json()["error"]["type"] == "invalid_request_error"
    t = httpx.post(f"{base}/threads", json={}, headers=h).json()
    r = httpx.post(f"{base}/threads/{t['id']}/messages", json={"role": "system", "content": "x"}, headers=h)
    assert r.status_code == 400


def test_a_conversation_is_also_a_thread(live, sdk):
    conv = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "via conversations"}])
    msgs = httpx.get(f"{live.endpoint}/threads/{conv.id}/messages", headers=live.headers()).json()
    assert msgs["data"][0]["content"][0]["text"]["value"] == "via conversations"
