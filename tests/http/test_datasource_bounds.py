"""SQLite data sources are confined to WEFT_SQLITE_DIRS; indexer status never shows driver text
(SQL statements, paths, hosts)."""
from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from tests.support.server import WeftServer

V = "api-version=2026-04-01"


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    root = tmp_path_factory.mktemp("bounds")
    allowed = root / "allowed"
    allowed.mkdir()
    srv = WeftServer(root / "data", env={"WEFT_SQLITE_DIRS": str(allowed)}).start()
    yield srv, root, allowed
    srv.stop()


def _ds(name, path, table="t"):
    return {"name": name, "type": "sqlite", "credentials": {"connectionString": str(path)}, "container": {"name": table}}


def test_paths_outside_the_allowed_directories_are_refused(bounded):
    srv, root, allowed = bounded
    h = {"api-key": srv.admin_key}
    outside = root / "outside.db"
    sqlite3.connect(outside).close()
    for target in (outside, allowed / ".." / "outside.db", "/etc/passwd", f"sqlite:///{outside}"):
        r = httpx.post(srv.url("/datasources"), headers=h, json=_ds("out", target))
        assert r.status_code == 400, (target, r.text)
        assert "WEFT_SQLITE_DIRS" in r.json()["error"]["message"]
        assert str(outside) not in r.text
    (allowed / "link.db").symlink_to(outside)
    r = httpx.put(srv.url("/datasources/out"), headers=h, json=_ds("out", allowed / "link.db"))
    assert r.status_code == 400 and "WEFT_SQLITE_DIRS" in r.text
    r = httpx.post(srv.url("/datasources"), headers=h, json=_ds("inside", allowed / "in.db"))
    assert r.status_code == 201, r.text
    names = [d["name"] for d in httpx.get(srv.url("/datasources"), headers=h).json()["value"]]
    assert names == ["inside"]


def test_indexer_errors_carry_no_driver_text(bounded):
    srv, root, allowed = bounded
    h = {"api-key": srv.admin_key}
    db = allowed / "broken.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT, secretcolumn TEXT)")
    con.execute("INSERT INTO items VALUES ('1', 'a', 'x')")
    con.commit()
    index = {"name": "bounds-ix", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String"}]}
    assert httpx.post(srv.url("/indexes"), headers=h, json=index).status_code == 201
    ds = _ds("broken", db, "items")
    ds["dataChangeDetectionPolicy"] = {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": "title"}
    assert httpx.post(srv.url("/datasources"), headers=h, json=ds).status_code == 201
    # the table changes under the indexer: its reads now fail inside the driver
    con.execute("DROP TABLE items")
    con.execute("CREATE TABLE items (other INTEGER)")
    con.commit()
    con.close()
    ix = {"name": "broken-ix", "dataSourceName": "broken", "targetIndexName": "bounds-ix"}
    assert httpx.post(srv.url("/indexers"), headers=h, json=ix).status_code == 201
    deadline = time.monotonic() + 20
    while True:
        status = httpx.get(srv.url("/indexers/broken-ix/status"), headers=h).json()
        last = status.get("lastResult")
        if last and last["status"] != "inProgress":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert last["status"] == "transientFailure"
    text = str(status)
    assert last["errorMessage"]
    for leaked in ("SELECT", "FROM", str(db), "broken.db", "[SQL"):
        assert leaked not in text, (leaked, last["errorMessage"])
