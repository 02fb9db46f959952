"""The node registry: every node heartbeats a row (id, address, started, last seen on the database's clock,
version, and the positions it has applied per index), so ``weft cluster status`` can tell who is alive.

A node is *alive* while its last heartbeat is younger than ``DEAD_AFTER`` seconds (three missed beats).
The applied positions come from a callable the composition root wires to the search apply loop
(``positions() -> {index: position}``); without one a node reports ``{}``.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.engine import Engine

from weft.observability import REGISTRY

log = logging.getLogger("weft.cluster.nodes")

HEARTBEAT_SECONDS = 2.0
DEAD_AFTER = 3 * HEARTBEAT_SECONDS
TABLE = "weft_cluster_nodes"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
  node_id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL,
  version TEXT NOT NULL, positions TEXT NOT NULL DEFAULT '{{}}'
)"""

LEASE_HELD = Gauge("weft_cluster_lease_held", "1 when this node holds the job lease, else 0, by lease name.", ["lease"], registry=REGISTRY)
HEARTBEAT_AGE = Gauge("weft_cluster_heartbeat_age_seconds", "Seconds since this node's last successful heartbeat.", registry=REGISTRY)


class NodeRegistry:
    def __init__(self, engine: Engine, node_id: str, address: str, version: str, *,
                 positions: Callable[[], dict[str, int]] | None = None, leases=None, interval: float = HEARTBEAT_SECONDS):
        self.engine = engine
        self.node_id = node_id
        self.address = address
        self.version = version
        self.positions = positions
        self.leases = leases
        self.interval = interval
        self._last_ok = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('weft-cluster-schema'))"))
            conn.execute(text(_SCHEMA))
            conn.execute(text(f"""INSERT INTO {TABLE} (node_id, address, started_at, last_seen, version) VALUES (:n, :a, now(), now(), :v)
                ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, started_at = now(), last_seen = now(), version = excluded.version"""),
                         {"n": node_id, "a": address, "v": version})
        HEARTBEAT_AGE.set_function(lambda: time.monotonic() - self._last_ok)

    def beat(self) -> None:
        applied = {}
        if self.positions is not None:
            try:
                applied = {str(k): int(v) for k, v in (self.positions() or {}).items()}
            except Exception:
                log.warning("node %s: the applied positions could not be read", self.node_id, exc_info=True)
        with self.engine.begin() as conn:
            conn.execute(text(f"UPDATE {TABLE} SET last_seen = now(), positions = :p WHERE node_id = :n"),
                         {"p": json.dumps(applied), "n": self.node_id})
        self._last_ok = time.monotonic()
        if self.leases is not None:
            for row in self.leases.owners():
                LEASE_HELD.labels(row["name"]).set(1 if row["holder"] == self.node_id and row.get("live", True) else 0)

    def start(self) -> "NodeRegistry":
        self._thread = threading.Thread(target=self._loop, name="weft-cluster-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:
                log.warning("node %s: heartbeat failed", self.node_id)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def node_rows(engine: Engine) -> list[dict]:
    with engine.begin() as conn:
        conn.execute(text(_SCHEMA))
        rows = conn.execute(text(f"SELECT node_id, address, started_at, last_seen, version, positions, "
                                 f"extract(epoch FROM now() - last_seen) FROM {TABLE} ORDER BY node_id")).fetchall()
    return [{"nodeId": r[0], "address": r[1], "startedAt": r[2].isoformat(), "lastSeen": r[3].isoformat(), "version": r[4],
             "positions": json.loads(r[5] or "{}"), "secondsSinceSeen": round(float(r[6]), 3), "alive": float(r[6]) < DEAD_AFTER}
            for r in rows]
