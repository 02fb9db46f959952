"""Three weft nodes over one cluster database: a scheduled indexer over a PostgreSQL table runs once per
schedule tick across the nodes; the definitions made on one node are visible and runnable on another; when
the scheduler's holder is SIGKILLed another node takes over within the lease bound and resumes from the
tracking state with no row lost; `weft cluster status` shows the nodes and the job owners."""
from __future__ import annotations

import json
import time
import uuid

import sqlalchemy as sa
from typer.testing import CliRunner

from weft.cli import app as cli
from weft.indexers.service import _parse_time

from tests.cluster.jobs_support import FIELDS, HWM, call, cluster_schema, doc_keys, in_schema, start_nodes, wait_for  # noqa: F401
from tests.threads.backends import PG_URL

INTERVAL = 1.0
LEASE = 3.0  # WEFT_CLUSTER_LEASE_SECONDS for these nodes
BOUND = LEASE + LEASE / 3  # the stated takeover bound (weft.cluster.leases)


def _status(url):
    result = CliRunner().invoke(cli, ["cluster", "status", "--json", "--cluster-url", url])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _holder(url, lease):
    live = [r for r in _status(url)["leases"] if r["name"] == lease and r["live"]]
    return live[0]["holder"] if live else None


def _executions(node, name):
    r = call(node, "GET", f"/indexers/{name}/status")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["executionHistory"] if e["status"] != "reset"]


def test_scheduled_runs_once_per_tick_and_move_on_sigkill(cluster_schema, tmp_path):
    url, engine, schema = cluster_schema
    table = f"jobs_src_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, title TEXT, updated_at TIMESTAMP(6) NOT NULL DEFAULT clock_timestamp())"))
    inserted = 0

    def insert(n):
        nonlocal inserted
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {table} (id, title) VALUES (:id, :t)"),
                         [{"id": f"r{inserted + i}", "t": f"row {inserted + i}"} for i in range(n)])
        inserted += n

    nodes = start_nodes(tmp_path, url, 3, extra_env={"WEFT_CLUSTER_LEASE_SECONDS": str(LEASE)})
    try:
        for node in nodes:  # the search catalog is per node on this branch: PUT is idempotent either way
            assert call(node, "PUT", "/indexes/items", {"name": "items", "fields": FIELDS}).status_code in (200, 201)
        insert(20)
        ds = {"name": "src", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": table},
              "dataChangeDetectionPolicy": HWM}
        assert call(nodes[0], "POST", "/datasources", ds).status_code == 201
        ix = {"name": "ix", "dataSourceName": "src", "targetIndexName": "items", "schedule": {"interval": "PT1S"}}
        assert call(nodes[0], "POST", "/indexers", ix).status_code == 201
        # made on node 0, seen on node 2, and runnable there (or refused as in progress: one run per indexer)
        assert call(nodes[2], "GET", "/datasources/src").json()["container"]["name"] == table
        assert call(nodes[2], "GET", "/indexers/ix").json()["targetIndexName"] == "items"
        assert call(nodes[2], "POST", "/indexers/ix/run").status_code in (202, 409)

        for _ in range(4):
            insert(5)
            time.sleep(1.0)
        time.sleep(1.5)
        history = _executions(nodes[1], "ix")
        starts = sorted(_parse_time(e["startTime"]) for e in history)
        assert len(starts) >= 4, history
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        # one run per tick across three nodes: no two starts share a slot (the manual run may sit closer)
        assert sum(1 for g in gaps if g < INTERVAL * 0.9) <= 1, gaps
        assert len(starts) <= (starts[-1] - starts[0]) / INTERVAL + 3, starts

        holder = _holder(url, "indexer-scheduler")
        assert holder in {f"node-{i}" for i in range(3)}
        status = _status(url)
        assert status["alive"] == 3 and {n["nodeId"] for n in status["nodes"]} == {"node-0", "node-1", "node-2"}
        assert [r["holder"] for r in status["leases"] if r["name"] == "threads-retention" and r["live"]] \
            and len({r["holder"] for r in status["leases"] if r["name"] == "threads-retention" and r["live"]}) == 1
        text = CliRunner().invoke(cli, ["cluster", "status", "--cluster-url", url]).output
        assert "3 alive" in text and "indexer-scheduler" in text and holder in text

        # SIGKILL the scheduler's node: another takes over within the bound and resumes
        victim = nodes[int(holder.split("-")[1])]
        survivors = [n for n in nodes if n is not victim]
        victim.kill()
        killed, killed_wall = time.monotonic(), time.time()
        insert(15)
        wait_for(lambda: _holder(url, "indexer-scheduler") not in (None, holder), timeout=BOUND + 4, what="a new scheduler holder")
        took_over = time.monotonic() - killed
        assert took_over <= BOUND + 1.5, took_over  # + the status polling and a loaded machine
        new_holder = _holder(url, "indexer-scheduler")
        assert new_holder != holder

        new_rows = {f"r{i}" for i in range(inserted - 15, inserted)}

        def survivor_keys():
            keys = set()
            for n in survivors:
                keys |= doc_keys(n, "items")
            return keys

        def resumed():  # a run started after the kill succeeded, and the rows written after it reached the survivors
            runs = [e for e in _executions(survivors[0], "ix") if e["status"] == "success" and _parse_time(e["startTime"]) >= killed_wall]
            return runs and new_rows <= survivor_keys()

        wait_for(resumed, timeout=15, what="a successful run after takeover with the new rows")
        # every source row was processed by some run (the victim's rows are in its own dead local index on this branch)
        processed = sum(e["itemsProcessed"] for e in _executions(survivors[0], "ix") if e["status"] == "success")
        assert processed >= inserted  # no row skipped: every one was processed by some run
        # resumed from the tracking state, not from scratch: the runs after the takeover read the new rows (and at
        # most the rows of a run the kill interrupted), never the 40 old ones again
        first_after = [e for e in _executions(survivors[0], "ix") if e["status"] == "success"]
        assert first_after[0]["initialTrackingState"] is not None
        taken_over_runs = [e for e in first_after if _parse_time(e["startTime"]) >= killed_wall]
        assert taken_over_runs and all(e["initialTrackingState"] for e in taken_over_runs)
        assert sum(e["itemsProcessed"] for e in taken_over_runs) <= 15 + 10, taken_over_runs
        dead = wait_for(lambda: [n for n in _status(url)["nodes"] if not n["alive"]], timeout=10, what="the dead node")
        assert [n["nodeId"] for n in dead] == [holder]
        leases = in_schema(engine, schema, "SELECT count(*) FROM weft_cluster_leases WHERE name = 'indexer-scheduler'")
        assert leases[0][0] == 1
    finally:
        for node in nodes:
            node.kill()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
