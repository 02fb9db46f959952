"""Conversation search in cluster mode: the opt-in list and the journal are the cluster's, the reconcile job is
leased; with encryption at rest the index's text is sealed in PostgreSQL with the tenant's key (weft.cluster.sealing)."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.support.cluster import ClusterDatabase, cluster_node

MASTER_KEY = "11" * 32


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


# ---- with encryption at rest: the text is sealed in the documents of record ------------------------------------
SEALED_WORDS = ("zqnebulaword", "zqmarmotword")  # the conversation's text: in no table in clear


def _segments(node, index: str) -> tuple[int, int]:
    """(documents in the segments of the node's local copy, of which deleted), from tantivy's meta.json."""
    try:
        meta = json.loads((node.data_dir / "search" / "indexes" / index / "meta.json").read_text())
    except (FileNotFoundError, ValueError):
        return -1, -1  # mid-rewrite
    deleted = sum((seg.get("deletes") or {}).get("num_deleted_docs", 0) for seg in meta["segments"])
    return sum(seg["max_doc"] for seg in meta["segments"]), deleted


def _scan(cluster_db, needles) -> list[str]:
    """Every row of every table of the cluster database (documents of record, the log, the journal, the threads
    tables), as text with bytea in hex: where a needle is, in clear or hex-encoded."""
    hits = []
    with cluster_db.connect() as conn:
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t'):
                hits += [f"{table}: {n}" for n in needles if n in row or n.encode().hex() in row]
    return hits


@pytest.fixture
def sealed_db():
    db = ClusterDatabase("sealed")  # its own: no tenant opted in without encryption by the test above
    yield db
    db.drop()


def test_with_encryption_the_text_is_sealed_in_postgres_searchable_rebuilt_and_shredded(sealed_db, tmp_path):
    cluster_db = sealed_db
    env = {**ENV, "WEFT_MASTER_KEY": MASTER_KEY}
    one = cluster_node(tmp_path / "enc-1", cluster_db.url, "enc-1", env=env).start()
    two = cluster_node(tmp_path / "enc-2", cluster_db.url, "enc-2", env=env).start()
    started = [one, two]
    try:
        acme, beta = _key(one, "acme"), _key(one, "beta")
        index = None
        for tenant in ("acme", "beta"):
            r = httpx.post(f"{one.endpoint}/v1/tenants/{tenant}/conversation-search", json={"enabled": True}, headers=_h(one.admin_key))
            assert r.status_code == 200 and r.json()["enabled"], r.text
            index = index if tenant == "beta" else r.json()["index"]
        ids = _conversation(two, acme, f"the {SEALED_WORDS[0]} and the {SEALED_WORDS[1]} went walking")
        beta_ids = _conversation(one, beta, "a zqbetaword of the second tenant")
        for node in (one, two):
            _wait(lambda: _found(node, acme, SEALED_WORDS[0]) == sorted(ids), what="the sealed text searchable on both nodes")
            _wait(lambda: _found(node, beta, "zqbetaword") == sorted(beta_ids), what="the second tenant")
        r = httpx.post(f"{one.endpoint}/v1/conversations/search", json={"query": SEALED_WORDS[1]}, headers=_h(acme))
        assert SEALED_WORDS[1] in r.json()["data"][0]["text"]  # rendered from the encrypted store
        # a deleted item's word leaves the files of both nodes' copies (each node compacts its own)
        r = httpx.post(f"{two.endpoint}/v1/conversations", json={}, headers=_h(acme))
        conversation = r.json()["id"]
        r = httpx.post(f"{two.endpoint}/v1/conversations/{conversation}/items", headers=_h(acme),  # one batch: one segment
                       json={"items": [{"type": "message", "role": "user", "content": "the zqdeletedsealword"},
                                       {"type": "message", "role": "user", "content": "the zqkeptsealword"}]})
        gone, kept = [i["id"] for i in r.json()["data"]]
        for node in (one, two):
            _wait(lambda: _found(node, acme, "zqdeletedsealword") == [gone], what="the item to delete")
            assert _segments(node, index) == (3, 0)
        r = httpx.delete(f"{one.endpoint}/v1/conversations/{conversation}/items/{gone}", headers=_h(acme))
        assert r.status_code == 200, r.text
        for node in (one, two):  # tantivy keeps a deleted document in its (live) segment until a merge: the rewrite drops it
            _wait(lambda: _segments(node, index) == (2, 0), what="compaction of every node's copy")
            assert _found(node, acme, SEALED_WORDS[0]) == sorted(ids)  # the rewritten copy still has the sealed text
            assert _found(node, acme, "zqkeptsealword") == [kept]
        with cluster_db.connect() as conn:
            sealed = conn.execute("SELECT count(*) FROM weft_search_documents WHERE sealed IS NOT NULL").fetchone()[0]
        assert sealed == 3  # every item's text sealed (two of acme, one of beta)
        assert _scan(cluster_db, [*SEALED_WORDS, "zqbetaword"]) == []
        # a node started on an empty dir rebuilds the copies and opens the sealed text
        three = cluster_node(tmp_path / "enc-3", cluster_db.url, "enc-3", env=env).start()
        started.append(three)
        _wait(lambda: _found(three, acme, SEALED_WORDS[1]) == sorted(ids), what="the rebuilt node")
        # crypto-shredding acme: its index goes on every node; searches answer without a server error
        r = httpx.delete(f"{one.endpoint}/v1/tenants/acme/data-key", headers=_h(one.admin_key))
        assert r.status_code == 200, r.text
        for node in (one, two, three):
            _wait(lambda: _found(node, acme, SEALED_WORDS[0]) == ["HTTP 400"], what="acme's index gone")
            assert _found(node, beta, "zqbetaword") == sorted(beta_ids)  # the other tenant is untouched
        with cluster_db.connect() as conn:
            assert conn.execute("SELECT count(*) FROM weft_search_documents WHERE sealed IS NOT NULL").fetchone()[0] == 1  # beta's
            # beta's key destroyed behind the servers' backs (as the CLI does from another process): the next
            # search (or reconcile pass) of every node deletes beta's index too, a fresh node's included
            conn.execute("UPDATE weft_tenants SET wrapped_data_key = NULL, master_key_id = NULL, data_key_destroyed = true WHERE id = 'beta'")
        four = cluster_node(tmp_path / "enc-4", cluster_db.url, "enc-4", env=env).start()  # holds no cached key
        started.append(four)
        for node in (four, one, two, three):
            _wait(lambda: _found(node, beta, "zqbetaword") == ["HTTP 400"], what="beta's index gone")  # opted out, no 500
        for node in started:
            assert "Traceback" not in node.log_path.read_text(errors="replace"), node.log_path.read_text()[-3000:]
    finally:
        for node in started:
            node.stop()
