"""Cluster-mode test support: a fresh PostgreSQL database per test module, and weft nodes over it."""
from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import psycopg

from tests.support.server import WeftServer
from tests.threads.backends import PG_URL, require_server


def _libpq(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}"


class ClusterDatabase:
    """``CREATE DATABASE weft_cluster_<tag>_<hex>`` on the test server; ``drop()`` removes it (connections and all)."""

    def __init__(self, tag: str = "t", prefix: str = "weft_cluster"):
        require_server("PostgreSQL", PG_URL)
        self.admin = _libpq(PG_URL)
        self.name = f"{prefix}_{tag}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")
        base = self.admin.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def drop(self) -> None:
        with contextlib.suppress(Exception), psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def cluster_node(data_dir: Path, url: str, node_id: str, env: dict[str, str] | None = None) -> WeftServer:
    return WeftServer(data_dir, env={"WEFT_CLUSTER_URL": url, "WEFT_NODE_ID": node_id, **(env or {})})
