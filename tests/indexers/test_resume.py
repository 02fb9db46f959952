"""SIGKILL the server in the middle of an initial load: the next run resumes from the last durable
batch (redoing at most one), and the index ends exact."""
from __future__ import annotations

import sqlite3
import time

import httpx

from tests.support.server import WeftServer

ROWS = 30_000
BATCH = 200


def _status(server):
    return httpx.get(server.url("/indexers/load/status"), headers={"api-key": server.admin_key}, timeout=30).json()


def test_initial_load_resumes_after_sigkill(tmp_path):
    db = sqlite3.connect(tmp_path / "big.db")
    db.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, title TEXT, v INTEGER NOT NULL)")
    db.executemany("INSERT INTO big VALUES (?, ?, ?)", ((i, f"row {i} lorem ipsum", i) for i in range(1, ROWS + 1)))
    db.commit()
    server = WeftServer(tmp_path / "data").start()
    h = {"api-key": server.admin_key}
    try:
        httpx.post(server.url("/indexes"), headers=h, json={"name": "big", "fields": [
            {"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True}]})
        httpx.post(server.url("/datasources"), headers=h, json={
            "name": "src", "type": "sqlite", "credentials": {"connectionString": str(tmp_path / "big.db")}, "container": {"name": "big"},
            "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": "v"}})
        httpx.post(server.url("/indexers"), headers=h, json={"name": "load", "dataSourceName": "src", "targetIndexName": "big",
                                                              "parameters": {"batchSize": BATCH}})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            last = _status(server)["lastResult"]
            if last and last["status"] == "inProgress" and last["progress"]["rowsRead"] >= 10 * BATCH:
                break
            time.sleep(0.02)
        assert last["status"] == "inProgress", "the load finished before it could be interrupted"
        assert last["progress"]["estimatedTotal"] == ROWS and last["progress"]["phase"] == "initialLoad"
        server.kill()
        server.start()
        interrupted = _status(server)["lastResult"]
        assert interrupted["status"] == "transientFailure" and "interrupted" in interrupted["errorMessage"]
        durable = int(httpx.get(server.url("/indexes/big/docs/$count"), headers=h).text)
        assert durable >= 10 * BATCH - BATCH
        assert httpx.post(server.url("/indexers/load/run"), headers=h).status_code == 202
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            last = _status(server)["lastResult"]
            if last["status"] != "inProgress":
                break
            time.sleep(0.1)
        assert last["status"] == "success", last
        # resumed where the durable cursor was: at most one batch is read again
        assert last["itemsProcessed"] <= ROWS - durable + BATCH, (last["itemsProcessed"], durable)
        assert httpx.get(server.url("/indexes/big/docs/$count"), headers=h).text == str(ROWS)
    finally:
        server.kill()
