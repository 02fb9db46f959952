"""The cluster's job leases (weft.cluster.leases) against the real PostgreSQL: one holder at a time, takeover
within ttl + ttl/3 when the holder stops renewing, a fencing token that grows at each change of holder."""
from __future__ import annotations

import time

from weft.cluster.leases import ClusterLeases, LocalLeases
from weft.cluster.stores import connect

from tests.cluster.jobs_support import cluster_schema, wait_for  # noqa: F401  (fixture)

TTL = 1.5


def test_one_holder_then_takeover_with_a_higher_token(cluster_schema):
    url, _, _ = cluster_schema
    engine = connect(url)
    a = ClusterLeases(engine, "a", ttl=TTL).start()
    b = ClusterLeases(engine, "b", ttl=TTL).start()
    try:
        a.want("job")
        b.want("job")
        time.sleep(TTL)  # several renewal rounds
        assert a.held("job") == 1 and b.held("job") is None
        assert b.acquire("job") is None  # on demand, too
        owners = {r["name"]: r for r in b.owners()}
        assert owners["job"]["holder"] == "a" and owners["job"]["live"]
        # a stops renewing without releasing (as if its process died)
        a._stop.set()
        a._thread.join(5)
        died = time.monotonic()
        token = wait_for(lambda: b.held("job"), timeout=TTL * 3, step=0.05, what="takeover")
        took = time.monotonic() - died
        assert took <= TTL + TTL / 3 + 0.5, took  # the stated bound (+ scheduling slack)
        assert token == 2
        assert a.held("job") is None  # a's local deadline ran out before b could take the row
        # released leases move at once
        b.release("job")
        assert b.held("job") is None
        assert a.acquire("job") == 3
    finally:
        a.stop()
        b.stop()
        engine.dispose()


def test_on_demand_lease_renewed_until_released(cluster_schema):
    url, _, _ = cluster_schema
    engine = connect(url)
    a = ClusterLeases(engine, "a", ttl=TTL).start()
    b = ClusterLeases(engine, "b", ttl=TTL).start()
    try:
        assert a.acquire("indexer-run:x") == 1
        time.sleep(TTL * 2)  # longer than the ttl: kept alive by the renewals
        assert b.acquire("indexer-run:x") is None
        a.release("indexer-run:x")
        assert b.acquire("indexer-run:x") == 2
    finally:
        a.stop()
        b.stop()
        engine.dispose()


def test_a_restarted_node_takes_its_own_live_lease_with_a_new_token(cluster_schema):
    """SIGKILL and restart under the same node id: the new process finds the dead one's live row. It may take it at
    once (no one else can hold it), but under a new token, so writes fenced by the dead process's token fail."""
    url, _, _ = cluster_schema
    engine = connect(url)
    dead = ClusterLeases(engine, "node-1", ttl=30)  # a long ttl: the row stays live while the new process starts
    restarted = ClusterLeases(engine, "node-1", ttl=30)
    try:
        assert dead.acquire("indexer-run:x") == 1
        assert dead.acquire("indexer-run:x") == 1  # a renewal by the holding process keeps its token
        assert restarted.acquire("indexer-run:x") == 2
        assert restarted.acquire("indexer-run:x") == 2
    finally:
        engine.dispose()


def test_local_leases_always_held():
    leases = LocalLeases()
    leases.want("x")
    assert leases.held("x") == 1 and leases.acquire("y") == 1
    assert [r["name"] for r in leases.owners()] == ["x", "y"]


def test_a_node_that_lost_the_run_lease_cannot_move_the_cursor(cluster_schema):
    """Fencing: node a pauses past its lease, b takes the indexer's run lease; a's cursor write is refused."""
    import pytest
    import sqlalchemy as sa

    from weft.cluster.stores import PgIndexerStore
    from weft.errors import Conflict

    url, _, _ = cluster_schema
    engine = connect(url)
    a = ClusterLeases(engine, "a", ttl=TTL)  # not started: no renewals, as if paused
    b = ClusterLeases(engine, "b", ttl=TTL)
    store_a, store_b = PgIndexerStore(engine, "a"), PgIndexerStore(engine, "b")
    try:
        token = a.acquire("indexer-run:ix")
        store_a.fence("ix", token)
        store_a.save_tracking_state("ix", {"hwm": 1})
        with engine.begin() as conn:  # a's lease runs out while it is paused
            conn.execute(sa.text("UPDATE weft_cluster_leases SET expires_at = now() - interval '1 second'"))
        store_b.fence("ix", b.acquire("indexer-run:ix"))
        store_b.save_tracking_state("ix", {"hwm": 2})
        with pytest.raises(Conflict):
            store_a.save_tracking_state("ix", {"hwm": 1}, ledger_removals=["k"])
        assert store_b.tracking_state("ix") == {"hwm": 2}
    finally:
        engine.dispose()
