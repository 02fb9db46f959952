"""An indexer run whose start fails in the cluster database (as during a failover) leaves nothing behind: the run
lease is given back (another node can run the indexer) and this node runs it again once the database answers.
The failures are real PostgreSQL errors: the executions table renamed away, then refusing inserts."""
from __future__ import annotations

import sqlite3

import pytest

from weft.cluster.leases import ClusterLeases
from weft.cluster.stores import PgIndexerStore, connect
from weft.indexers.service import IndexerService
from weft.search.service import SearchService

from tests.cluster.jobs_support import cluster_schema, in_schema  # noqa: F401  (fixture)


def _setup(url, tmp_path):
    db = sqlite3.connect(tmp_path / "src.db")
    db.execute("CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT)")
    db.executemany("INSERT INTO items VALUES (?, ?)", [(f"k{i}", f"t{i}") for i in range(5)])
    db.commit()
    engine = connect(url)
    search = SearchService(tmp_path / "search")
    search.create_index({"name": "items", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String"}]})
    service = IndexerService(tmp_path / "ix", search, run_scheduler=False, listen=False, store=PgIndexerStore(engine, "node-a"),
                             leases=ClusterLeases(engine, "node-a", ttl=30))
    service.create_datasource({"name": "src", "type": "sqlite", "credentials": {"connectionString": str(tmp_path / "src.db")},
                               "container": {"name": "items"}})
    service.create_indexer({"name": "ix", "dataSourceName": "src", "targetIndexName": "items"})
    service.wait_idle("ix", 30)
    return engine, search, service, ClusterLeases(engine, "node-b", ttl=30)


def test_a_run_that_cannot_start_gives_its_lease_back(cluster_schema, tmp_path):
    url, admin, schema = cluster_schema
    engine, search, service, other = _setup(url, tmp_path)
    try:
        for breaking, mending in (
            # the claim's history read fails
            ("ALTER TABLE weft_ix_executions RENAME TO weft_ix_executions_away", "ALTER TABLE weft_ix_executions_away RENAME TO weft_ix_executions"),
            # the claim works, the execution record cannot be written
            ("ALTER TABLE weft_ix_executions ADD CONSTRAINT refuse_all CHECK (false) NOT VALID",
             "ALTER TABLE weft_ix_executions DROP CONSTRAINT refuse_all"),
        ):
            in_schema(admin, schema, breaking)
            with pytest.raises(Exception) as failed:
                service.run("ix")
            assert "Conflict" not in type(failed.value).__name__
            token = other.acquire("indexer-run:ix")  # the lease was given back: another node may run the indexer
            assert token is not None
            other.release("indexer-run:ix")
            in_schema(admin, schema, mending)
            result = service.run_and_wait("ix", timeout=30)  # and this node is not stuck with a run that never started
            assert result["status"] == "success", result
        assert len(service.status("ix")["executionHistory"]) == 3
    finally:
        service.close()
        search.close()
        engine.dispose()


def test_a_run_whose_store_fails_throughout_still_ends(cluster_schema, tmp_path):
    """The tracking state cannot be read at all during the run (the store is what failed): the run still ends as a
    transient failure, gives its lease back, and the next run succeeds. (It used to kill the run's thread while
    recording the failure, leaving the indexer running on this node and its lease renewed for ever.)"""
    url, admin, schema = cluster_schema
    engine, search, service, other = _setup(url, tmp_path)
    try:
        in_schema(admin, schema, "ALTER TABLE weft_ix_tracking RENAME TO weft_ix_tracking_away")
        service.run("ix")
        service.wait_idle("ix", 30)
        last = service.status("ix")["lastResult"]
        assert last["status"] == "transientFailure", last
        token = other.acquire("indexer-run:ix")
        assert token is not None
        other.release("indexer-run:ix")
        in_schema(admin, schema, "ALTER TABLE weft_ix_tracking_away RENAME TO weft_ix_tracking")
        assert service.run_and_wait("ix", timeout=30)["status"] == "success"
    finally:
        service.close()
        search.close()
        engine.dispose()
