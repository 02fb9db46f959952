"""`weft cluster migrate`: an embedded data dir's data source, indexer (with its tracking state and history),
knowledge source/base and a conversation move into a running cluster; they work there; running it again is a
no-op; a different object under the same name is refused with nothing written."""
from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from typer.testing import CliRunner

from weft.cli import app as cli

from tests.cluster.jobs_support import ADMIN, FIELDS, HWM, call, cluster_schema, in_schema, start_nodes, wait_for  # noqa: F401
from tests.support.server import WeftServer
from tests.threads.backends import PG_URL


def _run_and_wait(node, name):
    before = len(call(node, "GET", f"/indexers/{name}/status").json()["executionHistory"])
    assert call(node, "POST", f"/indexers/{name}/run").status_code == 202

    def done():
        status = call(node, "GET", f"/indexers/{name}/status").json()
        history = status["executionHistory"]
        return history[0] if len(history) > before and history[0]["status"] != "inProgress" else None

    return wait_for(done, timeout=30, what="the run")


def test_migrate_embedded_dir_into_a_cluster(cluster_schema, tmp_path):
    url, engine, schema = cluster_schema
    table = f"jobs_mig_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, title TEXT, updated_at TIMESTAMP(6) NOT NULL DEFAULT clock_timestamp())"))
        conn.execute(sa.text(f"INSERT INTO {table} (id, title) SELECT 'r' || g, 'row ' || g FROM generate_series(1, 20) g"))
    embedded = WeftServer(tmp_path / "embedded", admin_key=ADMIN).start()
    nodes = []
    try:
        assert call(embedded, "PUT", "/indexes/items", {"name": "items", "fields": FIELDS}).status_code == 201
        ds = {"name": "src", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": table},
              "dataChangeDetectionPolicy": HWM}
        assert call(embedded, "POST", "/datasources", ds).status_code == 201
        assert call(embedded, "POST", "/indexers", {"name": "ix", "dataSourceName": "src", "targetIndexName": "items"}).status_code == 201
        first = wait_for(lambda: [e for e in call(embedded, "GET", "/indexers/ix/status").json()["executionHistory"]
                                  if e["status"] == "success"], timeout=30, what="the creation run")
        assert first[0]["itemsProcessed"] == 20
        assert call(embedded, "POST", "/knowledgesources", {"name": "ks", "kind": "searchIndex", "searchIndexParameters": {
            "searchIndexName": "items", "sourceDataFields": [{"name": "title"}]}}).status_code == 201
        assert call(embedded, "POST", "/knowledgebases", {"name": "kb", "knowledgeSources": [{"name": "ks"}]}).status_code == 201
        conversation = call(embedded, "POST", "/v1/conversations", {"metadata": {"topic": "migration"}})
        assert conversation.status_code == 200, conversation.text
        conversation_id = conversation.json()["id"]
        assert embedded.stop() == 0

        nodes = start_nodes(tmp_path, url, 1)  # a running cluster with its own sealing keys: secrets are re-sealed
        node = nodes[0]
        assert call(node, "GET", "/indexers/ix").status_code == 404
        result = CliRunner().invoke(cli, ["cluster", "migrate", "--data-dir", str(embedded.data_dir), "--cluster-url", url])
        assert result.exit_code == 0, result.output
        assert "indexers moved 1" in result.output and "data sources moved 1" in result.output and "objects moved 2" in result.output

        assert "search: synonym maps 0, indexes 1, documents 20, aliases 0" in result.output, result.output
        # the node may still be building its copy of the moved index: 503 with Retry-After meanwhile (docs/cluster.md);
        # a node whose apply loop has not reached the catalog change within its 5 s wait answers 404 (a loaded CI host)
        deadline = time.monotonic() + 60
        while (count := call(node, "GET", "/indexes/items/docs/$count")).status_code in (503, 404) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert count.status_code == 200 and int(count.text.lstrip("\ufeff")) == 20  # the documents moved with the index
        assert call(node, "GET", "/datasources/src").json()["container"]["name"] == table
        history = call(node, "GET", "/indexers/ix/status").json()["executionHistory"]
        assert history and history[0]["itemsProcessed"] == 20  # the history moved
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {table} (id, title) SELECT 'n' || g, 'new ' || g FROM generate_series(1, 5) g"))
        run = _run_and_wait(node, "ix")  # the connection string opens (re-sealed) and the cursor resumes: only the new rows
        assert run["status"] == "success" and run["itemsProcessed"] == 5, run
        assert call(node, "GET", "/knowledgesources/ks").json()["searchIndexParameters"]["searchIndexName"] == "items"
        assert call(node, "GET", "/knowledgebases/kb").json()["knowledgeSources"] == [{"name": "ks"}]
        moved = call(node, "GET", f"/v1/conversations/{conversation_id}")
        assert moved.status_code == 200 and moved.json()["metadata"] == {"topic": "migration"}

        again = CliRunner().invoke(cli, ["cluster", "migrate", "--data-dir", str(embedded.data_dir), "--cluster-url", url])
        assert again.exit_code == 0, again.output
        assert "indexers moved 0" in again.output and "objects moved 0" in again.output
        assert "indexes 0, documents 20" in again.output  # the same documents uploaded again: nothing changes

        changed = call(node, "GET", "/datasources/src").json()
        changed["description"] = "edited in the cluster"
        changed.pop("@odata.etag", None)
        changed["credentials"] = {"connectionString": PG_URL}
        assert call(node, "PUT", "/datasources/src", changed).status_code == 200
        refused = CliRunner().invoke(cli, ["cluster", "migrate", "--data-dir", str(embedded.data_dir), "--cluster-url", url])
        assert refused.exit_code == 1 and "datasource 'src'" in refused.output
        assert call(node, "GET", "/datasources/src").json()["description"] == "edited in the cluster"  # not overwritten
        rows = in_schema(engine, schema, "SELECT count(*) FROM weft_ix_executions WHERE indexer = 'ix'")
        assert rows[0][0] == len(call(node, "GET", "/indexers/ix/status").json()["executionHistory"])
    finally:
        embedded.kill()
        for n in nodes:
            n.kill()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
