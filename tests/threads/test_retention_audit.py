"""Retention (tenant default, per-conversation override, purge on an injected clock) and the audit trail."""
from __future__ import annotations

import json
import logging
import os

import httpx
import pytest

from weft.errors import NotFound
from weft.threads.crypto import rewrap_all
from weft.threads.policy import Principal
from weft.threads.retention import RetentionJob
from weft.threads.service import ThreadService

ADMIN = Principal("default", frozenset({"admin"}), key_id="test-admin", server_admin=True)


def test_retention_default_override_and_purge(service, clock):
    acme = Principal.library("acme")
    service.set_tenant_retention(ADMIN, "acme", 7 * 86400)
    short, _ = service.create_conversation(acme, items=[{"role": "user", "content": "a"}], retention_seconds=86400)
    default, _ = service.create_conversation(acme, items=[{"role": "user", "content": "b"}])
    forever, _ = service.create_conversation(acme, items=[{"role": "user", "content": "c"}], retention_seconds=0)
    other, _ = service.create_conversation(Principal.library("other"), items=[{"role": "user", "content": "d"}])
    job = RetentionJob(service, interval_seconds=0)
    clock.advance(days=2)
    assert job.run_once() == [short.id]
    with pytest.raises(NotFound):
        service.get_conversation(acme, short.id)
    with pytest.raises(NotFound):
        service.list_items(acme, short.id)
    clock.advance(days=4)
    service.append_items(acme, default.id, [{"role": "user", "content": "activity"}])  # activity resets the idle clock
    clock.advance(days=4)
    assert job.run_once() == []
    clock.advance(days=4)
    assert job.run_once() == [default.id]
    clock.advance(days=3650)
    assert job.run_once() == []  # retention 0 keeps forever; a tenant without a default keeps forever
    assert service.get_conversation(acme, forever.id) and service.get_conversation(Principal.library("other"), other.id)
    purges = [r for r in service.list_audit(ADMIN, tenant_id="acme") if r.operation == "retention.purge"]
    assert [r.conversation_id for r in purges] == [short.id, default.id]


def test_audit_records_who_what_when_outcome_never_content(service, clock, caplog):
    acme = Principal("acme", frozenset({"read", "write"}), key_id="key_abc")
    reader = Principal("acme", frozenset({"read"}), key_id="key_reader")
    with caplog.at_level(logging.INFO, logger="weft.audit"):
        conv, items = service.create_conversation(acme, metadata={"user": "SECRET-META"}, items=[{"role": "user", "content": "SECRET-TEXT"}])
        clock.advance(seconds=10)
        added = service.append_items(acme, conv.id, [{"role": "assistant", "content": "SECRET-REPLY"}])
        with pytest.raises(Exception):
            service.append_items(reader, conv.id, [{"role": "user", "content": "SECRET-DENIED"}])
        with pytest.raises(NotFound):
            service.get_conversation(acme, "conv_missing")
    records = service.list_audit(ADMIN, tenant_id="acme")
    summary = [(r.operation, r.outcome, r.key_id) for r in records]
    assert summary == [("conversation.create", "ok", "key_abc"), ("items.create", "ok", "key_abc"),
                       ("items.create", "denied", "key_reader"), ("conversation.get", "not_found", "key_abc")]
    assert records[0].conversation_id == conv.id and records[0].item_ids == [items[0].id]
    assert records[1].item_ids == [added[0].id] and records[1].at_ms - records[0].at_ms == 10_000
    window = service.list_audit(ADMIN, tenant_id="acme", since_ms=records[1].at_ms, until_ms=records[1].at_ms + 1)
    assert [r.operation for r in window] == ["items.create", "items.create", "conversation.get"]
    everything = repr(records) + caplog.text
    assert "SECRET" not in everything
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "weft.audit"]
    assert lines[0]["audit"]["operation"] == "conversation.create" and lines[0]["audit"]["tenant"] == "acme"


def test_a_lost_compare_and_swap_is_audited_as_a_conflict(service, clock):
    acme = Principal("acme", frozenset({"read", "write"}), key_id="key_cas")
    conv, _ = service.create_conversation(acme, items=[{"role": "user", "content": "x"}])
    seen = service.store.get_conversation("acme", conv.id).updated_at_ms
    clock.advance(seconds=1)
    assert service.update_conversation_if_unchanged(acme, conv.id, seen, extra={"v": 1}) is True
    clock.advance(seconds=1)
    assert service.update_conversation_if_unchanged(acme, conv.id, seen, extra={"v": 2}) is False  # written since
    updates = [(r.outcome, r.detail) for r in service.list_audit(ADMIN, tenant_id="acme") if r.operation == "conversation.update"]
    assert updates == [("ok", None), ("conflict", "changed_since_read")]


def test_audit_over_http_for_admins(live):
    h = live.headers(tenant="audited")
    conv = httpx.post(f"{live.endpoint}/v1/conversations", json={"items": [{"role": "user", "content": "hush"}]}, headers=h).json()
    r = httpx.get(f"{live.endpoint}/audit", params={"tenant": "audited"}, headers=live.headers())
    assert r.status_code == 200
    events = r.json()["data"]
    assert events and all(e["tenant"] == "audited" for e in events)
    assert any(e["operation"] == "conversation.create" and e["conversation_id"] == conv["id"] and e["key_id"] == "server-admin" for e in events)
    assert "hush" not in r.text
    future = httpx.get(f"{live.endpoint}/audit", params={"tenant": "audited", "since": "2100-01-01T00:00:00Z"}, headers=live.headers()).json()
    assert future["data"] == []


def test_rotation_rewraps_without_touching_content(sqlite_store):
    old, new = os.urandom(32), os.urandom(32)
    service = ThreadService(sqlite_store, master_key=old, encryption=True)
    acme = Principal.library("acme")
    conv, _ = service.create_conversation(acme, items=[{"role": "user", "content": "keep me"}])
    before = [(i.id, i.body) for i in sqlite_store.list_items("acme", conv.id, limit=None, order="asc").items]
    wrapped_before = sqlite_store.get_tenant("acme").wrapped_data_key
    assert rewrap_all(sqlite_store, old, new) == 1
    after = [(i.id, i.body) for i in sqlite_store.list_items("acme", conv.id, limit=None, order="asc").items]
    assert after == before and sqlite_store.get_tenant("acme").wrapped_data_key != wrapped_before
    rotated = ThreadService(sqlite_store, master_key=new, encryption=True)
    assert rotated.history(acme, conv.id)[0].body["content"][0]["text"] == "keep me"


def test_the_background_job_purges_on_its_own(service, clock):
    import time

    acme = Principal.library("acme")
    conv, _ = service.create_conversation(acme, retention_seconds=60)
    job = RetentionJob(service, interval_seconds=0.01).start()
    try:
        clock.advance(seconds=61)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                service.get_conversation(acme, conv.id)
            except NotFound:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the retention job did not purge the expired conversation")
    finally:
        job.stop()


def test_idempotency_keys_are_forgotten_after_a_day(service, clock):
    acme = Principal.library("acme")
    conv, _ = service.create_conversation(acme)
    first = service.append_items(acme, conv.id, [{"role": "user", "content": "x"}], idempotency_key="k")
    clock.advance(seconds=3600)
    service.purge_expired()
    assert service.append_items(acme, conv.id, [{"role": "user", "content": "x"}], idempotency_key="k")[0].id == first[0].id
    clock.advance(days=1)
    service.purge_expired()
    assert service.append_items(acme, conv.id, [{"role": "user", "content": "x"}], idempotency_key="k")[0].id != first[0].id
