"""The console's routes without a browser: what `/` answers whom, the files and their headers, the switch."""
from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient

from weft.app import create_app
from weft.config import Settings
from weft.console import assets

ADMIN, QUERY = "console-admin-key", "console-query-key"


@pytest.fixture()
def client(tmp_path, monkeypatch):
    for name in [k for k in __import__("os").environ if k.startswith("WEFT_")]:
        monkeypatch.delenv(name)
    with TestClient(create_app(Settings(data_dir=tmp_path, admin_keys=[ADMIN], query_keys=[QUERY]))) as c:
        yield c


def test_root_redirects_a_browser_and_stays_404_for_api_clients(client):
    r = client.get("/", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/console"
    for accept in ("*/*", "application/json", None):
        r = client.get("/", headers={"accept": accept} if accept else {}, follow_redirects=False)
        assert r.status_code == 404
        assert r.json() == {"error": {"code": "", "message": "The resource '/' was not found."}}


def test_page_and_assets_are_public_and_locked_down(client):
    page = client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/console/app.js" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    for name in assets():
        r = client.get(f"/console/{name}")
        assert r.status_code == 200, name
        assert r.headers["cache-control"] == "no-cache"
        again = client.get(f"/console/{name}", headers={"if-none-match": r.headers["etag"]})
        assert again.status_code == 304
    js = client.get("/console/app.js")
    assert js.headers["content-type"].startswith("text/javascript")


def test_assets_are_gzipped_and_hold_no_key(client):
    total = 0
    for name, path in assets().items():
        raw = path.read_bytes()
        r = client.get(f"/console/{name}", headers={"accept-encoding": "gzip"})
        assert r.headers.get("content-encoding") == "gzip"
        assert r.content == raw  # httpx decodes; the bytes served are the file's
        total += len(gzip.compress(raw, 9))
        assert ADMIN.encode() not in raw and QUERY.encode() not in raw
    assert total <= 300 * 1024, f"the console's assets weigh {total} bytes compressed"


def test_only_listed_files_are_served(client):
    for path in ("/console/../app.py", "/console/%2e%2e/__init__.py", "/console/nope.js", "/console/vendor", "/console/__init__.py"):
        assert client.get(path).status_code == 404, path


def test_console_off_removes_the_routes(tmp_path, monkeypatch):
    for name in [k for k in __import__("os").environ if k.startswith("WEFT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WEFT_CONSOLE", "off")  # read from the environment as `weft serve` would
    with TestClient(create_app(Settings(data_dir=tmp_path, admin_keys=[ADMIN]))) as c:
        assert c.get("/console").status_code == 404
        assert c.get("/console/app.js").status_code == 404
        assert c.get("/", headers={"accept": "text/html"}, follow_redirects=False).status_code == 404
