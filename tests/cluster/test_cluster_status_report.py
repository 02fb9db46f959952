"""The node registry and the status report: heartbeats with applied positions (from the callable the search
side wires), lag behind the head, alive/dead by last seen, lease owners, and the node gauges."""
from __future__ import annotations

import sqlalchemy as sa

from weft.cluster import nodes
from weft.cluster.leases import ClusterLeases
from weft.cluster.nodes import NodeRegistry
from weft.cluster.status import report
from weft.cluster.stores import connect
from weft.observability import REGISTRY

from tests.cluster.jobs_support import cluster_schema  # noqa: F401


def test_heartbeats_positions_lag_and_owners(cluster_schema):
    url, _, _ = cluster_schema
    engine = connect(url)
    applied = {"a": {"products": 40, "docs": 7}, "b": {"products": 35}}
    leases = ClusterLeases(engine, "a", ttl=3)
    registries = [NodeRegistry(engine, n, f"10.0.0.{i}:8080", "9.9", positions=lambda n=n: applied[n], leases=leases if n == "a" else None)
                  for i, n in enumerate(("a", "b"))]
    try:
        assert leases.acquire("indexer-scheduler") == 1
        for r in registries:
            r.beat()
        data = report(engine)
        by_id = {n["nodeId"]: n for n in data["nodes"]}
        assert data["alive"] == 2 and data["dead"] == 0
        assert by_id["a"]["positions"] == {"products": 40, "docs": 7} and by_id["a"]["lag"] == {"products": 0, "docs": 0}
        assert by_id["b"]["lag"] == {"products": 5, "docs": 7}
        assert by_id["b"]["address"] == "10.0.0.1:8080" and by_id["b"]["version"] == "9.9"
        assert [(lease["name"], lease["holder"], lease["live"]) for lease in data["leases"]] == [("indexer-scheduler", "a", True)]
        assert REGISTRY.get_sample_value("weft_cluster_lease_held", {"lease": "indexer-scheduler"}) == 1
        assert REGISTRY.get_sample_value("weft_cluster_heartbeat_age_seconds") < 5
        # b stops beating: dead once its last heartbeat is older than DEAD_AFTER
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE weft_cluster_nodes SET last_seen = now() - make_interval(secs => {nodes.DEAD_AFTER + 1}) "
                                 "WHERE node_id = 'b'"))
        registries[0].beat()
        data = report(engine)
        assert {n["nodeId"]: n["alive"] for n in data["nodes"]} == {"a": True, "b": False}
        assert data["heads"] == {"products": 40, "docs": 7}  # from the live nodes only
        # a failing positions callable does not stop the heartbeat
        registries[0].positions = lambda: 1 / 0
        registries[0].beat()
        assert {n["nodeId"]: n["positions"] for n in report(engine)["nodes"]}["a"] == {}
    finally:
        leases.stop()
        engine.dispose()
