"""Tenant-scoped, hashed API keys: created with the CLI on the server's data dir; isolation; scopes; revocation."""
from __future__ import annotations

import json
import sqlite3

import httpx

from tests.threads.live import weft_cli


def _key(live, tenant: str, scopes: str) -> dict:
    done = weft_cli("keys", "create", "--tenant", tenant, "--scope", scopes, "--data-dir", str(live.data_dir), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tenant_isolation_scopes_and_revocation(live):
    a_writer = _key(live, "tenant-a", "read,write")
    b_writer = _key(live, "tenant-b", "read,write")
    a_reader = _key(live, "tenant-a", "read")
    base = live.endpoint

    def h(k):
        return {"authorization": f"Bearer {k['key']}"}

    conv = httpx.post(f"{base}/v1/conversations", json={"items": [{"role": "user", "content": "secret of A"}]}, headers=h(a_writer)).json()
    item_id = httpx.get(f"{base}/v1/conversations/{conv['id']}/items", headers=h(a_writer)).json()["data"][0]["id"]
    # B sees nothing of A: 404 everywhere, and A's conversations are not listed
    for method, path in [("GET", f"/v1/conversations/{conv['id']}"), ("GET", f"/v1/conversations/{conv['id']}/items"),
                         ("GET", f"/v1/conversations/{conv['id']}/items/{item_id}"), ("DELETE", f"/v1/conversations/{conv['id']}"),
                         ("DELETE", f"/v1/conversations/{conv['id']}/items/{item_id}"), ("GET", f"/threads/{conv['id']}/messages")]:
        assert httpx.request(method, base + path, headers=h(b_writer)).status_code == 404, path
    r = httpx.post(f"{base}/v1/conversations/{conv['id']}/items", json={"items": [{"role": "user", "content": "x"}]}, headers=h(b_writer))
    assert r.status_code == 404
    assert conv["id"] not in [c["id"] for c in httpx.get(f"{base}/v1/conversations", headers=h(b_writer)).json()["data"]]
    # a tenant key cannot name another tenant
    assert httpx.get(f"{base}/v1/conversations/{conv['id']}", headers={**h(b_writer), "weft-tenant": "tenant-a"}).status_code == 403
    # read scope reads but cannot write
    assert httpx.get(f"{base}/v1/conversations/{conv['id']}", headers={"api-key": a_reader["key"]}).status_code == 200
    r = httpx.post(f"{base}/v1/conversations/{conv['id']}/items", json={"items": [{"role": "user", "content": "x"}]}, headers=h(a_reader))
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    # the server admin key acts for a tenant named by weft-tenant, and for the default tenant otherwise
    assert httpx.get(f"{base}/v1/conversations/{conv['id']}", headers=live.headers(tenant="tenant-a")).status_code == 200
    assert httpx.get(f"{base}/v1/conversations/{conv['id']}", headers=live.headers()).status_code == 404
    # non-admin keys cannot read the audit or manage keys
    assert httpx.get(f"{base}/audit", headers=h(a_writer)).status_code == 403
    assert httpx.post(f"{base}/v1/keys", json={"scopes": ["read"]}, headers=h(a_writer)).status_code == 403
    # revoke with the CLI: the key stops working
    listed = weft_cli("keys", "list", "--tenant", "tenant-a", "--data-dir", str(live.data_dir))
    assert a_reader["id"] in listed.stdout and a_reader["key"] not in listed.stdout
    assert weft_cli("keys", "revoke", a_reader["id"], "--data-dir", str(live.data_dir)).returncode == 0
    assert httpx.get(f"{base}/v1/conversations/{conv['id']}", headers=h(a_reader)).status_code == 401


def test_tenant_admin_key_manages_its_tenant_keys_over_http(live):
    admin = _key(live, "tenant-c", "admin")
    h = {"api-key": admin["key"]}
    created = httpx.post(f"{live.endpoint}/v1/keys", json={"scopes": ["read"], "name": "reporting"}, headers=h).json()
    assert created["tenant"] == "tenant-c" and created["key"].startswith("weft_")
    assert httpx.post(f"{live.endpoint}/v1/keys", json={"tenant": "other", "scopes": ["read"]}, headers=h).status_code == 403
    listed = httpx.get(f"{live.endpoint}/v1/keys", headers=h).json()["data"]
    assert {k["tenant"] for k in listed} == {"tenant-c"} and all("key" not in k for k in listed)
    assert httpx.delete(f"{live.endpoint}/v1/keys/{created['id']}", headers=h).status_code == 200
    assert httpx.get(f"{live.endpoint}/v1/conversations", headers={"api-key": created["key"]}).status_code == 401


def test_keys_are_stored_hashed(live):
    key = _key(live, "tenant-d", "read")
    raw = (live.data_dir / "threads" / "threads.sqlite3").read_bytes()
    secret = key["key"].split("_", 2)[2]
    assert secret.encode() not in raw
    with sqlite3.connect(live.data_dir / "threads" / "threads.sqlite3") as conn:
        stored = conn.execute("select secret_hash from weft_api_keys where id = ?", (key["id"],)).fetchone()[0]
    assert len(stored) == 64 and secret not in stored


def test_tenant_settings_and_shredding_need_admin(live):
    writer = _key(live, "tenant-e", "read,write")
    r = httpx.post(f"{live.endpoint}/v1/tenants/tenant-e", json={"retention_seconds": 3600}, headers={"api-key": writer["key"]})
    assert r.status_code == 403
    r = httpx.post(f"{live.endpoint}/v1/tenants/tenant-e", json={"retention_seconds": 3600}, headers=live.headers())
    assert r.status_code == 200 and r.json()["retention_seconds"] == 3600
    assert httpx.delete(f"{live.endpoint}/v1/tenants/tenant-e/data-key", headers={"api-key": writer["key"]}).status_code == 403
    bad = httpx.post(f"{live.endpoint}/v1/tenants/tenant-e", json={"retention_seconds": -5}, headers=live.headers())
    assert bad.status_code == 400
