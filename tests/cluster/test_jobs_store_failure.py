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


def test_a_run_that_cannot_start_gives_its_lease_back(cluster_schema, tmp_path):
    url, admin, schema = cluster_schema
    db = sqlite3.connect(tmp_path / "src.db")
    db.execute("CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT)")
    db.executemany("INSERT INTO items VALUES (?, ?)", [(f"k{i}", f"t{i}") for i in range(5)])
    db.commit()
    engine = connect(url)
    search = SearchService(tmp_path / "search")
    search.create_index({"name": "items", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String"}]})
    other = ClusterLeases(engine, "node-b", ttl=30)
    service = IndexerService(tmp_path / "ix", search, run_scheduler=False, listen=False, store=PgIndexerStore(engine, "node-a"),
                             leases=ClusterLeases(engine, "node-a", ttl=30))
    try:
        service.create_datasource({"name": "src", "type": "sqlite", "credentials": {"connectionString": str(tmp_path / "src.db")},
                                   "container": {"name": "items"}})
        service.create_indexer({"name": "ix", "dataSourceName": "src", "targetIndexName": "items"})
        service.wait_idle("ix", 30)
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
