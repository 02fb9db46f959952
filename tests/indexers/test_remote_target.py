"""An indexer on one weft server pushes into an index on another, through the REST batch API."""
from __future__ import annotations

import sqlite3
import time

import httpx

from tests.support.server import WeftServer

INDEX = {"name": "remote-products", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "name", "type": "Edm.String", "searchable": True},
    {"name": "qty", "type": "Edm.Int32", "filterable": True},
]}


def _status(server, name):
    return httpx.get(server.url(f"/indexers/{name}/status"), headers={"api-key": server.admin_key}).json()


def _wait_runs(server, name, count, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = _status(server, name)["executionHistory"]
        if len(history) >= count and history[0]["status"] != "inProgress":
            return history[0]
        time.sleep(0.1)
    raise AssertionError(_status(server, name))


def test_indexer_feeds_a_remote_search_service(tmp_path):
    db_path = tmp_path / "src.db"
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, qty TEXT, v INTEGER NOT NULL)")
    db.executemany("INSERT INTO p VALUES (?, ?, ?, ?)", [(i, f"item {i}", "bad" if i == 13 else str(i), i) for i in range(1, 41)])
    db.commit()
    remote = WeftServer(tmp_path / "remote", admin_key="remote-admin").start()
    local = WeftServer(tmp_path / "local").start()
    try:
        assert httpx.post(remote.url("/indexes"), json=INDEX, headers={"api-key": "remote-admin"}).status_code == 201
        h = {"api-key": local.admin_key}
        ds = {"name": "src", "type": "sqlite", "credentials": {"connectionString": str(db_path)}, "container": {"name": "p"},
              "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": "v"},
              "dataDeletionDetectionPolicy": {"@odata.type": "#Weft.HardDeleteReconciliationPolicy"}}
        assert httpx.post(local.url("/datasources"), json=ds, headers=h).status_code == 201
        ix = {"name": "push", "dataSourceName": "src", "targetIndexName": "remote-products",
              "parameters": {"batchSize": 15, "maxFailedItems": 5, "maxFailedItemsPerBatch": 5,
                             "configuration": {"weftTargetEndpoint": remote.endpoint, "weftTargetApiKey": "remote-admin"}}}
        r = httpx.post(local.url("/indexers"), json=ix, headers=h)
        assert r.status_code == 201, r.text
        assert r.json()["parameters"]["configuration"]["weftTargetApiKey"] is None  # secret redacted
        result = _wait_runs(local, "push", 1)
        assert result["status"] == "success", result
        assert result["itemsFailed"] == 1 and result["errors"][0]["key"] == "13"
        count = httpx.get(remote.url("/indexes/remote-products/docs/$count"), headers={"api-key": "remote-admin"}).text
        assert count == "39"
        db.execute("DELETE FROM p WHERE id <= 5")
        db.execute("UPDATE p SET name = 'changed', v = 100 WHERE id = 6")
        db.commit()
        assert httpx.post(local.url("/indexers/push/run"), headers=h).status_code == 202
        result = _wait_runs(local, "push", 2)
        assert result["status"] == "success", result
        doc = httpx.get(remote.url("/indexes/remote-products/docs/6"), headers={"api-key": "remote-admin"}).json()
        assert doc["name"] == "changed"
        assert httpx.get(remote.url("/indexes/remote-products/docs/$count"), headers={"api-key": "remote-admin"}).text == "34"
        # the remote is down: a transient failure, the cursor does not move, and it catches up later
        remote.stop()
        db.execute("UPDATE p SET name = 'later', v = 101 WHERE id = 7")
        db.commit()
        httpx.post(local.url("/indexers/push/run"), headers=h)
        result = _wait_runs(local, "push", 3)
        assert result["status"] == "transientFailure" and "unreachable" in result["errorMessage"]
        remote.start()  # on a new port: point the indexer at it; the stored api key is kept when none is sent
        ix["parameters"]["configuration"] = {"weftTargetEndpoint": remote.endpoint}
        assert httpx.put(local.url("/indexers/push"), json=ix, headers=h).status_code == 200
        httpx.post(local.url("/indexers/push/run"), headers=h)
        result = _wait_runs(local, "push", 4)
        assert result["status"] == "success", result
        doc = httpx.get(remote.url("/indexes/remote-products/docs/7"), headers={"api-key": "remote-admin"}).json()
        assert doc["name"] == "later"
    finally:
        local.kill()
        remote.kill()
