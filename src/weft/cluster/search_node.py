"""Builds the search service of a cluster node: the PostgreSQL catalog and the cluster engine (the two seams).

``weft.app`` calls :func:`build_search` when ``cluster.url`` is set; everything else about search is the same code
as in embedded mode.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

from cryptography.fernet import Fernet

from weft.cluster.engine import ClusterEngine
from weft.cluster.pg import Database
from weft.cluster.pg_catalog import PgCatalog
from weft.search.service import SearchService


def _share_secret_key(catalog: PgCatalog, path: Path) -> None:
    """Vectorizer API keys are sealed in the catalog with one key: every node must hold the same one."""
    key = catalog.setting_once("search.secret_key", Fernet.generate_key().decode())
    if path.exists() and path.read_text().strip() == key:
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def build_search(data_dir: Path, url: str, node_id: str | None, *, reranker=None) -> tuple[SearchService, ClusterEngine]:
    data_dir = Path(data_dir)
    from weft.fsmodes import private_dir

    private_dir(data_dir)
    db = Database(url)
    db.create_schema()
    catalog = PgCatalog(db)
    _share_secret_key(catalog, data_dir / "secret.key")
    engine = ClusterEngine(db, catalog, data_dir / "indexes", node_id or f"{socket.gethostname()}:{os.getpid()}")
    service = SearchService(data_dir, engine, reranker=reranker, catalog=catalog)
    engine.start(service)
    return service, engine
