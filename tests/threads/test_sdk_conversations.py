"""The official openai SDK, base_url pointed at a live weft: the Conversations API end to end."""
from __future__ import annotations

import httpx
import openai
import pytest


def test_create_retrieve_update_delete(sdk):
    conv = sdk.conversations.create(metadata={"topic": "demo"}, items=[
        {"type": "message", "role": "user", "content": "Hello!"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi there."}]},
    ])
    assert conv.id.startswith("conv_") and conv.object == "conversation" and conv.metadata == {"topic": "demo"}
    got = sdk.conversations.retrieve(conv.id)
    assert got.id == conv.id and got.created_at == conv.created_at
    updated = sdk.conversations.update(conv.id, metadata={"topic": "changed", "user": "u1"})
    assert updated.metadata == {"topic": "changed", "user": "u1"}
    items = sdk.conversations.items.list(conv.id, order="asc")
    assert [i.role for i in items.data] == ["user", "assistant"]
    assert items.data[0].content[0].type == "input_text" and items.data[0].content[0].text == "Hello!"
    assert items.data[1].content[0].type == "output_text"
    deleted = sdk.conversations.delete(conv.id)
    assert deleted.deleted and deleted.id == conv.id
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.retrieve(conv.id)


def test_items_union_paging_and_delete(sdk):
    conv = sdk.conversations.create()
    created = sdk.conversations.items.create(conv.id, items=[
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What's the weather?"}]},
        {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
        {"type": "function_call_output", "call_id": "call_9", "output": "{\"temp\": 3}"},
    ])
    assert [i.type for i in created.data] == ["message", "function_call", "function_call_output"]
    fc = sdk.conversations.items.retrieve(created.data[1].id, conversation_id=conv.id)
    assert fc.type == "function_call" and fc.name == "get_weather" and fc.call_id == "call_9"
    for n in range(7):
        sdk.conversations.items.create(conv.id, items=[{"type": "message", "role": "user", "content": f"m{n}"}])
    # default order is desc, OpenAI's list shape with has_more/last_id
    first = sdk.conversations.items.list(conv.id, limit=4)
    assert len(first.data) == 4 and first.has_more and first.data[0].content[0].text == "m6"
    every = [i.id for i in sdk.conversations.items.list(conv.id, limit=3, order="asc")]  # auto-paging with after
    assert len(every) == 10 and every[:3] == [i.id for i in created.data]
    page = sdk.conversations.items.list(conv.id, limit=2, order="asc", after=every[4])
    assert [i.id for i in page.data] == every[5:7]
    after_delete = sdk.conversations.items.delete(created.data[0].id, conversation_id=conv.id)
    assert after_delete.id == conv.id
    assert len(list(sdk.conversations.items.list(conv.id, limit=100))) == 9
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.items.retrieve(created.data[0].id, conversation_id=conv.id)


def test_validation_errors_use_openai_shape(sdk, live):
    with pytest.raises(openai.BadRequestError) as info:
        sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "x"}] * 21)
    assert info.value.status_code == 400
    with pytest.raises(openai.BadRequestError):
        sdk.conversations.create(metadata={f"k{n}": "v" for n in range(17)})
    with pytest.raises(openai.BadRequestError):
        sdk.conversations.create(metadata={"k" * 65: "v"})
    r = httpx.get(f"{live.endpoint}/v1/conversations/conv_nope", headers=live.headers())
    assert r.status_code == 404
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_both_auth_headers_and_missing_key(live):
    r1 = httpx.post(f"{live.endpoint}/v1/conversations", json={}, headers={"api-key": live.admin_key})
    assert r1.status_code == 200
    r2 = httpx.get(f"{live.endpoint}/v1/conversations/{r1.json()['id']}", headers={"authorization": f"Bearer {live.admin_key}"})
    assert r2.status_code == 200
    assert httpx.get(f"{live.endpoint}/v1/conversations/{r1.json()['id']}").status_code == 401
    assert httpx.get(f"{live.endpoint}/v1/conversations/{r1.json()['id']}", headers={"api-key": "wrong"}).status_code == 401


def test_list_conversations_with_metadata_filter_and_paging(live):
    tenant = "lister"
    h = live.headers(tenant=tenant)
    ids = []
    for n in range(5):
        r = httpx.post(f"{live.endpoint}/v1/conversations", json={"metadata": {"user": "ann" if n % 2 == 0 else "bob", "n": str(n)}}, headers=h)
        ids.append(r.json()["id"])
    r = httpx.get(f"{live.endpoint}/v1/conversations", params={"limit": 2}, headers=h)
    body = r.json()
    assert body["object"] == "list" and body["has_more"] and [c["id"] for c in body["data"]] == ids[::-1][:2]
    r = httpx.get(f"{live.endpoint}/v1/conversations", params={"limit": 2, "after": body["last_id"]}, headers=h)
    assert [c["id"] for c in r.json()["data"]] == ids[::-1][2:4]
    r = httpx.get(f"{live.endpoint}/v1/conversations", params={"metadata[user]": "ann", "order": "asc"}, headers=h)
    assert [c["id"] for c in r.json()["data"]] == [ids[0], ids[2], ids[4]]
    r = httpx.get(f"{live.endpoint}/v1/conversations", params={"metadata[user]": "bob", "metadata[n]": "3"}, headers=h)
    assert [c["id"] for c in r.json()["data"]] == [ids[3]]


def test_idempotency_key_makes_a_retried_append_a_no_op(live):
    h = live.headers()
    conv = httpx.post(f"{live.endpoint}/v1/conversations", json={}, headers=h).json()
    url = f"{live.endpoint}/v1/conversations/{conv['id']}/items"
    body = {"items": [{"type": "message", "role": "user", "content": "once"}]}
    first = httpx.post(url, json=body, headers={**h, "idempotency-key": "retry-1"}).json()
    again = httpx.post(url, json=body, headers={**h, "idempotency-key": "retry-1"}).json()
    assert first["data"][0]["id"] == again["data"][0]["id"]
    listed = httpx.get(url, headers=h).json()
    assert len(listed["data"]) == 1
