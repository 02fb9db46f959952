"""Encryption at rest: no plaintext in the raw SQLite file; master-key rotation re-wraps only; crypto-shredding."""
from __future__ import annotations

import base64
import os
import time

import httpx
import pytest

from tests.threads.live import ThreadsServer, weft_cli
from weft.threads.crypto import ContentShredded, new_master_key
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

SECRET_TEXT = "the launch code is PINEAPPLE-4471"
SECRET_META = "customer-ZEBRA-9931"


def _raw_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("threads.sqlite3"))


def test_live_server_stores_no_plaintext_and_rotation_keeps_content(tmp_path):
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.b64encode(new_master_key()).decode())
    env = {"WEFT_MASTER_KEY_FILE": str(key_file)}
    server = ThreadsServer(tmp_path / "data", env=env).start()
    h = server.headers()
    try:
        conv = httpx.post(f"{server.endpoint}/v1/conversations", headers=h, json={
            "metadata": {"customer": SECRET_META}, "items": [{"role": "user", "content": SECRET_TEXT}]}).json()
        httpx.post(f"{server.endpoint}/threads/{conv['id']}/messages", headers=h, json={"role": "assistant", "content": SECRET_TEXT + " (ack)"})
        found = httpx.get(f"{server.endpoint}/v1/conversations", params={"metadata[customer]": SECRET_META}, headers=h).json()
        assert [c["id"] for c in found["data"]] == [conv["id"]]  # metadata filters still work (blind index)
    finally:
        server.stop()
    raw = _raw_bytes(tmp_path / "data" / "threads")
    assert b"PINEAPPLE" not in raw and b"ZEBRA" not in raw and b"launch code" not in raw
    assert conv["id"].encode() in raw  # ids are not secret

    new_key = tmp_path / "master2.key"
    assert weft_cli("keys", "new-master-key", "--output", str(new_key)).returncode == 0
    before = _raw_bytes(tmp_path / "data" / "threads")
    rotated = weft_cli("keys", "rotate-master", "--new-key-file", str(new_key), "--data-dir", str(tmp_path / "data"), env=env)
    assert rotated.returncode == 0, rotated.stderr
    server = ThreadsServer(tmp_path / "data", env={"WEFT_MASTER_KEY_FILE": str(new_key)}).start()
    try:
        items = httpx.get(f"{server.endpoint}/v1/conversations/{conv['id']}/items", params={"order": "asc"}, headers=h).json()
        assert items["data"][0]["content"][0]["text"] == SECRET_TEXT
        meta = httpx.get(f"{server.endpoint}/v1/conversations/{conv['id']}", headers=h).json()["metadata"]
        assert meta == {"customer": SECRET_META}
    finally:
        server.stop()
    # the old master key no longer opens the data
    server = ThreadsServer(tmp_path / "data", env=env).start()
    try:
        r = httpx.get(f"{server.endpoint}/v1/conversations/{conv['id']}", headers=h)
        assert r.status_code == 500 and r.json()["error"]["code"] == "decryption_failed"
    finally:
        server.stop()
    assert len(before) > 0


def test_crypto_shredding_makes_a_tenant_unreadable(tmp_path):
    store = SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}")
    service = ThreadService(store, master_key=os.urandom(32), encryption=True)
    alice, bob = Principal.library("alice"), Principal.library("bob")
    conv, _ = service.create_conversation(alice, items=[{"role": "user", "content": SECRET_TEXT}])
    other, _ = service.create_conversation(bob, items=[{"role": "user", "content": "bob's"}])
    service.destroy_tenant_data_key(Principal("x", frozenset(), server_admin=True), "alice")
    with pytest.raises(ContentShredded):
        service.history(alice, conv.id)
    # a fresh process (no cached keys) cannot read it either
    again = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}"), master_key=service.keyring.master_key, encryption=True)
    with pytest.raises(ContentShredded):
        again.history(alice, conv.id)
    with pytest.raises(ContentShredded):
        again.append_items(alice, conv.id, [{"role": "user", "content": "more"}])
    assert again.history(bob, other.id)[0].body["content"][0]["text"] == "bob's"
    store.close()


def test_a_shred_by_another_process_takes_effect_here_within_the_revalidation_time(tmp_path, monkeypatch):
    """Two processes over one store (two cluster nodes, or the server and the CLI): the one that did not shred
    forgets its cached key once it is REVALIDATE_SECONDS old, instead of reading on until it restarts."""
    from weft.threads.crypto import Keyring

    monkeypatch.setattr(Keyring, "REVALIDATE_SECONDS", 0.3)
    master = os.urandom(32)
    here = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}"), master_key=master, encryption=True)
    there = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}"), master_key=master, encryption=True)
    alice, bob = Principal.library("alice"), Principal.library("bob")
    conv, _ = here.create_conversation(alice, items=[{"role": "user", "content": SECRET_TEXT}])
    other, _ = here.create_conversation(bob, items=[{"role": "user", "content": "bob's"}])
    assert there.history(alice, conv.id)[0].body["content"][0]["text"] == SECRET_TEXT  # its key is cached there now
    assert there.history(bob, other.id)[0].body["content"][0]["text"] == "bob's"
    time.sleep(0.4)
    assert there.history(alice, conv.id)[0].body["content"][0]["text"] == SECRET_TEXT  # revalidated: still alive
    here.destroy_tenant_data_key(Principal("x", frozenset(), server_admin=True), "alice")
    time.sleep(0.4)
    with pytest.raises(ContentShredded):
        there.history(alice, conv.id)
    with pytest.raises(ContentShredded):
        there.append_items(alice, conv.id, [{"role": "user", "content": "more"}])
    assert "alice" not in there.keyring._cache
    assert there.history(bob, other.id)[0].body["content"][0]["text"] == "bob's"
