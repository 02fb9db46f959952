"""The threads retention purge in cluster mode: two nodes' RetentionJobs over one PostgreSQL thread store purge
on exactly one node (the lease holder); when that holder stops renewing, the other takes the purge over."""
from __future__ import annotations

import time

from weft.cluster.leases import ClusterLeases
from weft.cluster.stores import connect
from weft.threads.clock import ManualClock
from weft.threads.policy import Principal
from weft.threads.retention import RetentionJob
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

from tests.cluster.jobs_support import cluster_schema, wait_for  # noqa: F401

TTL = 1.5


class CountingJob(RetentionJob):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.purged: list[str] = []

    def run_once(self):
        done = super().run_once()
        self.purged += done
        return done


def test_retention_purges_on_one_node_and_moves(cluster_schema):
    url, _, _ = cluster_schema
    engine = connect(url)
    clock = ManualClock()
    stores = [SqlThreadStore(url, table_prefix="jr_") for _ in range(2)]
    services = [ThreadService(s, clock=clock) for s in stores]
    leases = [ClusterLeases(engine, f"node-{i}", ttl=TTL).start() for i in range(2)]
    jobs = [CountingJob(services[i], 0.05, leases=leases[i]).start() for i in range(2)]
    acme = Principal.library("acme")
    try:
        first = [services[i % 2].create_conversation(acme, retention_seconds=60)[0].id for i in range(6)]
        clock.advance(seconds=61)
        wait_for(lambda: len(jobs[0].purged) + len(jobs[1].purged) == 6, timeout=10, what="the purge")
        time.sleep(0.3)
        holder = 0 if jobs[0].purged else 1
        assert sorted(jobs[holder].purged) == sorted(first) and jobs[1 - holder].purged == []  # one node purged them all
        # the holder dies (stops renewing, keeps its row): the other node purges the next ones
        leases[holder]._stop.set()
        leases[holder]._thread.join(5)
        jobs[holder].stop()
        second = [services[1 - holder].create_conversation(acme, retention_seconds=60)[0].id for _ in range(3)]
        clock.advance(seconds=61)
        wait_for(lambda: sorted(jobs[1 - holder].purged) == sorted(second), timeout=TTL * 3 + 5, what="the takeover purge")
    finally:
        for job in jobs:
            job.stop()
        for lease in leases:
            lease.stop()
        for store in stores:
            store.close()
        engine.dispose()
