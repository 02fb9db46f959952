"""One node's cluster parts, built once by the composition root (``weft.app``) when ``cluster.url`` is set:
the engine on the cluster database, the job leases, the node's heartbeat, and the PostgreSQL stores the
services take instead of their SQLite files. Embedded mode builds none of this.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from weft.cluster.leases import ClusterLeases
from weft.cluster.nodes import NodeRegistry
from weft.cluster.stores import PgIndexerStore, PgRetrievalStore, connect, materialize_shared_files

log = logging.getLogger("weft.cluster")


class ClusterRuntime:
    def __init__(self, url: str, node_id: str, address: str, data_dir: Path, *, version: str, admin_key: bool,
                 positions: Callable[[], dict[str, int]] | None = None, lease_seconds: float = 6.0):
        self.url = url
        self.node_id = node_id
        self.engine = connect(url)
        materialize_shared_files(self.engine, Path(data_dir), admin_key=admin_key)  # one admin key, one sealing key
        self.leases = ClusterLeases(self.engine, node_id, ttl=lease_seconds).start()
        self.registry = NodeRegistry(self.engine, node_id, address, version, positions=positions, leases=self.leases).start()

    def set_positions(self, positions: Callable[[], dict[str, int]] | None) -> None:
        """The applied position per index, as the search apply loop knows it (reported in the heartbeat)."""
        self.registry.positions = positions

    def indexer_store(self) -> PgIndexerStore:
        return PgIndexerStore(self.engine, self.node_id)

    def retrieval_store(self) -> PgRetrievalStore:
        return PgRetrievalStore(self.engine)

    def conversation_journal(self, box=None):
        """Conversation search's tenants and intent rows, shared by the nodes (weft.cluster.conversation_journal)."""
        from weft.cluster.conversation_journal import PgConversationJournal

        return PgConversationJournal(self.engine, box)

    def close(self) -> None:
        self.registry.stop()
        self.leases.stop()
        self.engine.dispose()


def from_settings(settings) -> ClusterRuntime | None:
    """The node's runtime in cluster mode (``cluster.url`` set), else None."""
    from weft import __version__

    config = settings.effective
    url = config.get("cluster.url")
    if not url:
        return None
    address = f"{settings.host}:{settings.port}"
    node_id = config.get("cluster.node_id") or address
    if not config.get("cluster.node_id") and not settings.port:  # port 0: no stable address; a name for this process
        import socket
        import uuid

        node_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    log.info("cluster mode: node %s", node_id)
    from weft.cluster.pg import wait_for_primary

    wait_for_primary(url, config.get("cluster.start_wait_seconds"))  # a start during a failover waits for the new primary
    return ClusterRuntime(url, node_id, address, Path(settings.data_dir), version=__version__, admin_key=not settings.admin_keys,
                          lease_seconds=config.get("cluster.lease_seconds"))
