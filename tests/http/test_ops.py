"""Operations endpoints: /healthz, /readyz (failing while the threads database is unreachable), /metrics values
that move with requests, commits and indexer runs, request ids in headers, logs and JSON log lines."""
from __future__ import annotations

import json
import re
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests.support.relay import TcpRelay
from tests.support.server import WeftServer

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return 0.0


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = WeftServer(tmp_path_factory.mktemp("ops") / "data", extra_args=["--log-format", "json", "--log-level", "info"]).start()
    yield server
    server.stop()


def test_health_is_open_and_metrics_need_a_key(srv):
    assert httpx.get(f"{srv.endpoint}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{srv.endpoint}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"search.catalog": "ok", "search.writers": "ok", "indexers.store": "ok", "threads.store": "ok"}
    assert httpx.get(f"{srv.endpoint}/metrics").status_code == 401
    assert httpx.get(f"{srv.endpoint}/metrics", headers={"api-key": srv.query_key}).status_code == 403
    assert httpx.get(f"{srv.endpoint}/metrics", headers={"api-key": srv.admin_key}).status_code == 200


def test_metrics_move_with_requests_commits_and_runs(srv, tmp_path):
    h = {"api-key": srv.admin_key}
    name = f"m{uuid.uuid4().hex[:8]}"

    def scrape() -> str:
        r = httpx.get(f"{srv.endpoint}/metrics", headers=h)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        return r.text

    before = scrape()
    assert httpx.post(srv.url("/indexes"), headers=h, json={"name": name, "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "body", "type": "Edm.String", "searchable": True}]}).status_code == 201
    for i in range(3):
        r = httpx.post(srv.url(f"/indexes/{name}/docs/index"), headers=h, json={"value": [{"@search.action": "upload", "id": str(i), "body": "x"}]})
        assert r.status_code == 200
    for _ in range(4):
        assert httpx.post(srv.url(f"/indexes/{name}/docs/search"), headers=h, json={"search": "x"}).status_code == 200
    assert httpx.post(srv.url(f"/indexes/{name}/docs/search"), headers=h, json={"filter": "nope eq 1"}).status_code == 400
    # an indexer run over a SQLite table
    db = tmp_path / "src.sqlite3"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE items (id TEXT PRIMARY KEY, body TEXT)"))
        conn.execute(sa.text("INSERT INTO items VALUES ('a', 'alpha'), ('b', 'beta')"))
    ds = {"name": f"ds-{name}", "type": "sqlite", "credentials": {"connectionString": str(db)}, "container": {"name": "items"}}
    assert httpx.put(srv.url(f"/datasources/ds-{name}"), headers=h, json=ds).status_code in (200, 201)
    ix = {"name": f"ix-{name}", "dataSourceName": f"ds-{name}", "targetIndexName": name}
    assert httpx.put(srv.url(f"/indexers/ix-{name}"), headers=h, json=ix).status_code in (200, 201)
    deadline = time.monotonic() + 30
    status = {}
    while time.monotonic() < deadline:
        status = httpx.get(srv.url(f"/indexers/ix-{name}/status"), headers=h).json()
        if (status.get("lastResult") or {}).get("status") == "success":
            break
        time.sleep(0.2)
    assert status["lastResult"]["status"] == "success", status
    after = scrape()
    route = "/indexes/{name}/docs/search"
    assert metric(after, "weft_http_requests_total", route=route, method="POST", status="200") - \
        metric(before, "weft_http_requests_total", route=route, method="POST", status="200") == 4
    assert metric(after, "weft_http_requests_total", route=route, method="POST", status="400") >= 1
    assert metric(after, "weft_http_request_duration_seconds_count", route=route, method="POST") >= 5
    assert metric(after, "weft_index_commit_group_batches_count", index=name) >= 2  # 3 batches + the indexer's, grouped or not
    assert metric(after, "weft_index_documents", index=name) == 5
    assert metric(after, "weft_indexer_runs_total", indexer=f"ix-{name}", status="success") >= 1
    assert metric(after, "weft_indexer_items_total", indexer=f"ix-{name}", outcome="processed") >= 2
    assert 0 <= metric(after, "weft_indexer_lag_seconds", indexer=f"ix-{name}") < 60
    # label sets stay bounded: raw paths are never labels
    assert f'route="/indexes/{name}' not in after


def test_request_ids_in_headers_and_json_logs(srv):
    r = httpx.get(srv.url("/indexes"), headers={"api-key": srv.admin_key, "x-ms-client-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123" and r.headers["client-request-id"] == "abc-123"
    r = httpx.get(srv.url("/indexes/nope"), headers={"api-key": srv.admin_key})
    generated = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated) and r.headers["request-id"] == generated
    listed = httpx.get(srv.url("/indexes"), headers={"api-key": srv.admin_key})
    assert listed.headers.get_list("request-id") == listed.headers.get_list("x-request-id")  # one id, not two
    assert len(listed.headers.get_list("request-id")) == 1
    evil = httpx.get(srv.url("/indexes"), headers={"api-key": srv.admin_key, "x-request-id": "x" * 500})
    assert len(evil.headers["x-request-id"]) == 32  # not echoed: replaced by a new id
    time.sleep(0.3)
    lines = [json.loads(line) for line in srv.log_path.read_text().splitlines() if line.startswith("{")]
    assert lines, "no JSON log lines"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line.get("request_id") == "abc-123" for line in lines)


def test_readyz_fails_while_the_threads_database_is_unreachable(tmp_path):
    from tests.threads.backends import require_server

    require_server("PostgreSQL", PG_URL)
    proxy = TcpRelay(("127.0.0.1", 5432))
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test?connect_timeout=2"
    server = WeftServer(tmp_path / "data", env={"WEFT_THREADS_DATABASE_URL": url,
                                                "WEFT_THREADS_TABLE_PREFIX": f"ops{uuid.uuid4().hex[:6]}_"}).start()
    try:
        assert httpx.get(f"{server.endpoint}/readyz").status_code == 200
        proxy.down()
        r = httpx.get(f"{server.endpoint}/readyz", timeout=10)
        assert r.status_code == 503
        checks = r.json()["checks"]
        assert r.json()["status"] == "unavailable"
        assert checks.get("threads.store", "").startswith("failed") or "storage" in checks, checks
        assert checks.get("search.catalog") in (None, "ok")  # only the threads store is down
        assert httpx.get(f"{server.endpoint}/healthz").status_code == 200  # alive, not ready
        proxy.up()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and httpx.get(f"{server.endpoint}/readyz", timeout=10).status_code != 200:
            time.sleep(0.2)
        assert httpx.get(f"{server.endpoint}/readyz", timeout=10).status_code == 200
    finally:
        server.stop()
        proxy.close()


def test_thread_appends_model_calls_and_audit_request_ids(tmp_path):
    from tests.threads.fake_llm import FakeChatServer

    llm = FakeChatServer().start()
    srv = WeftServer(tmp_path / "data", env={"WEFT_LLM_BASE_URL": llm.base_url, "WEFT_LLM_MODEL": "fake-model",
                                             "WEFT_METRICS": "open"}).start()
    try:
        h = {"api-key": srv.admin_key}
        before = httpx.get(f"{srv.endpoint}/metrics").text
        conv = httpx.post(f"{srv.endpoint}/v1/conversations", headers={**h, "x-request-id": "req-create-1"},
                          json={"items": [{"type": "message", "role": "user", "content": "one"},
                                          {"type": "message", "role": "user", "content": "two"}]})
        assert conv.status_code == 200 and conv.headers["x-request-id"] == "req-create-1"
        r = httpx.post(f"{srv.endpoint}/v1/responses", headers={**h, "x-request-id": "req-respond-1"},
                       json={"model": "fake-model", "input": "hello", "conversation": conv.json()["id"]}, timeout=30)
        assert r.status_code == 200, r.text
        after = httpx.get(f"{srv.endpoint}/metrics").text
        assert metric(after, "weft_thread_items_appended_total") - metric(before, "weft_thread_items_appended_total") >= 4  # 2 + input + output
        assert metric(after, "weft_model_call_duration_seconds_count", kind="chat", outcome="ok") - \
            metric(before, "weft_model_call_duration_seconds_count", kind="chat", outcome="ok") == 1
        audit = httpx.get(f"{srv.endpoint}/audit", headers=h).json()["data"]
        by_request = {e["request_id"] for e in audit}
        assert "req-create-1" in by_request and "req-respond-1" in by_request
        assert all(e["request_id"] for e in audit if e["operation"].startswith("conversation"))
    finally:
        srv.stop()
        llm.httpd.shutdown()
