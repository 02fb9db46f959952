"""Cluster mode with encryption at rest refuses conversation search (its index's documents of record would keep
the conversation text unsealed in PostgreSQL): at start when tenants are configured, and on an opt-in over HTTP."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.support.cluster import cluster_node

MASTER_KEY = "11" * 32


def test_opt_in_is_refused_with_encryption_in_cluster_mode(cluster_db, tmp_path):
    node = cluster_node(tmp_path / "data", cluster_db.url, "enc", env={"WEFT_MASTER_KEY": MASTER_KEY}).start()
    try:
        r = httpx.post(f"{node.endpoint}/v1/tenants/acme/conversation-search", json={"enabled": True}, headers={"api-key": node.admin_key})
        assert r.status_code == 400, r.text
        assert "cluster mode with encryption" in r.json()["error"]["message"]
        assert httpx.get(f"{node.endpoint}/v1/tenants/acme/conversation-search", headers={"api-key": node.admin_key}).json().get("enabled") is not True
    finally:
        node.stop()


def test_start_is_refused_when_tenants_are_configured(cluster_db, tmp_path):
    node = cluster_node(tmp_path / "data", cluster_db.url, "enc2",
                        env={"WEFT_MASTER_KEY": MASTER_KEY, "WEFT_CONVERSATION_SEARCH_TENANTS": "acme"})
    with pytest.raises(RuntimeError) as failed:
        node.start(timeout=60)
    assert "WEFT_CONVERSATION_SEARCH_TENANTS" in str(failed.value)


# ---- without encryption: the opt-in list and the journal are the cluster's, the reconcile job is leased ----------
ENV = {"WEFT_CONVERSATION_SEARCH_INTERVAL": "0.3", "WEFT_CLUSTER_LEASE_SECONDS": "1.5"}


def _h(key: str) -> dict:
    return {"authorization": f"Bearer {key}"}


def _key(node, tenant: str) -> str:
    r = httpx.post(f"{node.endpoint}/v1/keys", json={"tenant": tenant, "scopes": ["read", "write"]}, headers=_h(node.admin_key))
    assert r.status_code == 200, r.text
    return r.json()["key"]


def _conversation(node, key: str, text: str) -> list[str]:
    r = httpx.post(f"{node.endpoint}/v1/conversations", json={}, headers=_h(key))
    assert r.status_code == 200, r.text
    r = httpx.post(f"{node.endpoint}/v1/conversations/{r.json()['id']}/items", headers=_h(key),
                   json={"items": [{"type": "message", "role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]]


def _found(node, key: str, query: str) -> list[str]:
    r = httpx.post(f"{node.endpoint}/v1/conversations/search", json={"query": query}, headers=_h(key), timeout=30)
    return sorted(d["item_id"] for d in r.json()["data"]) if r.status_code == 200 else [f"HTTP {r.status_code}"]


def _wait(predicate, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


def _holder(cluster_db) -> list[str]:
    with cluster_db.connect() as conn:
        return [r[0] for r in conn.execute("SELECT holder FROM weft_cluster_leases WHERE name = 'conversation-search' AND expires_at >= now()")]


def test_opt_in_on_one_node_append_on_another_and_the_reconcile_moves_when_its_node_dies(cluster_db, tmp_path):
    nodes = {name: cluster_node(tmp_path / name, cluster_db.url, name, env=ENV).start() for name in ("cs-1", "cs-2")}
    one, two = nodes["cs-1"], nodes["cs-2"]
    try:
        key = _key(one, "acme")
        before = _conversation(two, key, "an old weather forecast question")  # written before the opt-in
        r = httpx.post(f"{one.endpoint}/v1/tenants/acme/conversation-search", json={"enabled": True}, headers=_h(one.admin_key))
        assert r.status_code == 200 and r.json()["enabled"], r.text
        seen = httpx.get(f"{two.endpoint}/v1/tenants/acme/conversation-search", headers=_h(two.admin_key)).json()
        assert seen["enabled"] is True and seen["index"] == r.json()["index"]  # the opt-in list is the cluster's
        for node in (one, two):  # the backfill (done by the lease holder) is searchable everywhere
            _wait(lambda: _found(node, key, "forecast") == sorted(before), what="backfill")
        appended = _conversation(two, key, "where is my parcel, the courier never came")  # on the node that did not opt in
        for node in (one, two):
            _wait(lambda: _found(node, key, "courier") == sorted(appended), what="append")
        holders = _holder(cluster_db)
        assert len(holders) == 1 and holders[0] in nodes, holders  # exactly one node runs the reconcile job
        dead = nodes[holders[0]]
        survivor = two if dead is one else one
        # work only the job does, queued durably while its node dies: a backfill of a second tenant
        beta = _key(survivor, "beta")
        old = _conversation(survivor, beta, "a question about invoices from last year")
        dead.kill()
        r = httpx.post(f"{survivor.endpoint}/v1/tenants/beta/conversation-search", json={"enabled": True}, headers=_h(survivor.admin_key))
        assert r.status_code == 200, r.text
        _wait(lambda: _found(survivor, beta, "invoices") == sorted(old), what="backfill after the takeover")
        assert _holder(cluster_db) == [survivor.env["WEFT_NODE_ID"]]
        later = _conversation(survivor, key, "the courier came at last")
        _wait(lambda: _found(survivor, key, "courier") == sorted(appended + later), what="append after the takeover")
    finally:
        for node in nodes.values():
            node.stop()
