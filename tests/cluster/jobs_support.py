"""Helpers of the cluster jobs/stores/status tests: a unique PostgreSQL schema per test (the cluster URL
carries it as ``options=-csearch_path=...``), weft nodes over it, and small HTTP helpers."""
from __future__ import annotations

import threading
import time
import uuid
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from tests.support.server import API_VERSION, WeftServer
from tests.threads.backends import PG_URL, require_server

ADMIN = "cluster-test-admin-key"
FIELDS = [{"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True}]
HWM = {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": "updated_at"}


@pytest.fixture
def cluster_schema():
    """(cluster URL, engine on the test database, schema name); the schema is dropped afterwards."""
    require_server("PostgreSQL", PG_URL)
    schema = f"jobs_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = PG_URL.replace("postgresql+psycopg://", "postgresql://") + "?options=" + quote(f"-csearch_path={schema}")
    yield url, engine, schema
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def in_schema(engine, schema, sql, params=None):
    with engine.begin() as conn:
        conn.execute(sa.text(f"SET LOCAL search_path = {schema}"))
        result = conn.execute(sa.text(sql), params or {})
        return result.fetchall() if result.returns_rows else None


def start_nodes(tmp_path, url, count, *, admin_key=ADMIN, extra_env=None):
    nodes = []
    for i in range(count):
        env = {"WEFT_CLUSTER_URL": url, "WEFT_NODE_ID": f"node-{i}", **(extra_env or {})}
        nodes.append(WeftServer(tmp_path / f"node-{i}", admin_key=admin_key, env=env))
    errors = []

    def start(node):
        try:
            node.start(timeout=60)
        except Exception as exc:  # pragma: no cover - shown below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(n,)) for n in nodes]
    [t.start() for t in threads]
    [t.join() for t in threads]
    if errors:
        for n in nodes:
            n.kill()
        raise errors[0]
    return nodes


def call(node, method, path, body=None, key=ADMIN, **params):
    r = httpx.request(method, f"{node.endpoint}{path}", params={"api-version": API_VERSION, **params}, json=body,
                      headers={"api-key": key}, timeout=30)
    return r


def wait_for(predicate, timeout, step=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def doc_keys(node, index):
    r = call(node, "POST", f"/indexes/{index}/docs/search", {"search": "*", "select": "id", "top": 1000})
    assert r.status_code == 200, r.text
    return {d["id"] for d in r.json()["value"]}
