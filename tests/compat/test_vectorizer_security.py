"""Vectorizer endpoints and keys, against small real HTTP servers this test starts:

* an endpoint outside the operator's allow-list is a 400 naming the member, at index create/update (service admin)
  and at a tenant's conversation-search opt-in (tenant admin);
* an allowed endpoint that fails never has its answer echoed: refused connection, an error status with a body,
  and a body that is not an embedding all give the same 503 and the same message;
* vectorizer API keys are sealed at rest, GET returns them as null, an update must send them again.
"""
from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.server import free_port
from weft.app import create_app
from weft.config import Settings
from weft.threads.policy import Principal

API = "2026-04-01"
ADMIN = "vec-admin"
SECRET_BODY = "internal-secret-page-3f9a"
UPSTREAM_KEY = "upstream-api-key-77c1"


class Upstream:
    """An OpenAI-compatible embeddings endpoint; `mode` picks its behaviour; records the keys it was sent."""

    def __init__(self):
        self.mode = "ok"
        self.keys: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                upstream.keys.append(self.headers.get("authorization") or self.headers.get("api-key") or "")
                if upstream.mode == "ok":
                    body, status = json.dumps({"data": [{"embedding": [1.0, 0.0, 0.0]}]}), 200
                elif upstream.mode == "error":
                    body, status = SECRET_BODY, 500
                else:
                    body, status = json.dumps({"leak": SECRET_BODY}), 200
                payload = body.encode()
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture()
def upstream():
    u = Upstream()
    yield u
    u.httpd.shutdown()


def _index(name: str, base_url: str, key: str | None = UPSTREAM_KEY) -> dict:
    params = {"baseUrl": base_url, "model": "m"}
    if key is not None:
        params["apiKey"] = key
    return {"name": name, "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                     {"name": "v", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": 3,
                                      "vectorSearchProfile": "p"}],
            "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h", "vectorizer": "vz"}],
                             "vectorizers": [{"name": "vz", "kind": "openAICompatible", "openAICompatibleParameters": params}]}}


def _app(tmp_path, allowed: list[str], monkeypatch):
    for name in [k for k in __import__("os").environ if k.startswith("WEFT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WEFT_RETENTION_INTERVAL", "0")
    return create_app(Settings(data_dir=tmp_path / "data", admin_keys=[ADMIN], allowed_model_endpoints=allowed))


def _close(app):
    for close in reversed(app.state.closers):
        close()
    app.state.search.close()


def _run(app, calls):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weft.test", timeout=60) as client:
            return [await client.request(m, u, params={"api-version": API} if not u.startswith("/v1") else None, json=b,
                                         headers={"api-key": ADMIN}) for m, u, b in calls]
    return asyncio.run(go())


def test_endpoints_outside_the_allow_list_are_refused(tmp_path, upstream, monkeypatch):
    app = _app(tmp_path, ["https://models.example.com/v1"], monkeypatch)
    try:
        created, put, lookalike, climbing, userinfo, allowed = _run(app, [
            ("POST", "/indexes", _index("ix-a", upstream.url)),
            ("PUT", "/indexes/ix-b", _index("ix-b", "http://169.254.169.254/latest")),
            ("POST", "/indexes", _index("ix-c", "https://models.example.com.evil.test/v1")),
            ("POST", "/indexes", _index("ix-d", "https://models.example.com/v1/../../admin")),
            ("POST", "/indexes", _index("ix-e", "https://models.example.com@127.0.0.1/v1")),
            ("POST", "/indexes", _index("ix-f", "https://models.example.com/v1/embeddings-proxy")),
        ])
        for r in (created, put, lookalike, climbing, userinfo):
            assert r.status_code == 400, r.text
            assert "vectorSearch.vectorizers[0].openAICompatibleParameters.baseUrl" in r.json()["error"]["message"]
        assert allowed.status_code == 201, allowed.text
        assert upstream.keys == []  # nothing was called
        # a tenant admin's conversation-search embeddings: the same list
        threads = app.state.threads
        key = threads.create_api_key(Principal("acme", frozenset({"admin"}), server_admin=True), "acme", ["admin"]).secret

        async def opt_in():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weft.test") as client:
                return await client.post("/v1/tenants/acme/conversation-search", headers={"api-key": key}, json={"embeddings": {
                    "kind": "openAICompatible", "openAICompatibleParameters": {"baseUrl": upstream.url, "model": "m"}}, "dimensions": 3})

        r = asyncio.run(opt_in())
        assert r.status_code == 400 and "embeddings.openAICompatibleParameters.baseUrl" in r.json()["error"]["message"]
        assert not app.state.conversation_index.enabled("acme") and upstream.keys == []
    finally:
        _close(app)


def test_upstream_failures_look_alike_and_echo_nothing(tmp_path, upstream, monkeypatch):
    closed_port = free_port()
    app = _app(tmp_path, ["127.0.0.1"], monkeypatch)
    try:
        assert _run(app, [("POST", "/indexes", _index("good", upstream.url)),
                          ("POST", "/indexes", _index("closed", f"http://127.0.0.1:{closed_port}"))])[0].status_code == 201

        def query(index: str, text: str) -> httpx.Response:
            return _run(app, [("POST", f"/indexes/{index}/docs/search", {"vectorQueries": [{"kind": "text", "text": text, "fields": "v"}]})])[0]

        assert query("good", "works").status_code == 200
        answers = []
        for n, mode in enumerate(("error", "garbage")):
            upstream.mode = mode
            answers.append(query("good", f"text {n}"))
        answers.append(query("closed", "text 3"))
        assert [a.status_code for a in answers] == [503, 503, 503]
        messages = {a.json()["error"]["message"] for a in answers}
        assert messages == {"The vectorizer 'vz' could not get embeddings from its endpoint."}
        assert all(SECRET_BODY not in a.text and str(closed_port) not in a.text for a in answers)
    finally:
        _close(app)


def test_vectorizer_keys_are_sealed_and_never_returned(tmp_path, upstream, monkeypatch):
    app = _app(tmp_path, [upstream.url], monkeypatch)
    try:
        created, got, listed = _run(app, [("POST", "/indexes", _index("ix-k", upstream.url)), ("GET", "/indexes/ix-k", None), ("GET", "/indexes", None)])
        for body in (created.json(), got.json(), listed.json()["value"][0]):
            assert body["vectorSearch"]["vectorizers"][0]["openAICompatibleParameters"]["apiKey"] is None
        assert UPSTREAM_KEY not in created.text + got.text + listed.text
        # the SDK's round trip: GET (key null) -> PUT back unchanged keeps the stored key ...
        round_trip = _run(app, [("PUT", "/indexes/ix-k", got.json())])[0]
        assert round_trip.status_code == 200, round_trip.text
        r = _run(app, [("POST", "/indexes/ix-k/docs/search", {"vectorQueries": [{"kind": "text", "text": "q", "fields": "v"}]})])[0]
        assert r.status_code == 200 and upstream.keys == [f"Bearer {UPSTREAM_KEY}"]  # the sealed key is used
        # ... but a stored key is never carried to a changed endpoint
        moved = _index("ix-k", upstream.url.rstrip("/") + "/other", key=None)
        without = _run(app, [("PUT", "/indexes/ix-k", moved)])[0]
        assert without.status_code == 400 and "openAICompatibleParameters.apiKey" in without.json()["error"]["message"]
        with_key = _run(app, [("PUT", "/indexes/ix-k", _index("ix-k", upstream.url))])[0]
        assert with_key.status_code == 200
    finally:
        _close(app)
    # at rest: not in clear in any file; after a restart the key still works
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert UPSTREAM_KEY.encode() not in path.read_bytes(), path
    app = _app(tmp_path, [upstream.url], monkeypatch)
    try:
        r = _run(app, [("POST", "/indexes/ix-k/docs/search", {"vectorQueries": [{"kind": "text", "text": "again", "fields": "v"}]})])[0]
        assert r.status_code == 200 and upstream.keys[-1] == f"Bearer {UPSTREAM_KEY}"
    finally:
        _close(app)


def test_responses_upstream_errors_are_not_echoed(tmp_path, upstream, monkeypatch):
    """The operator's chat endpoint failing: the caller gets one generic message, never the upstream's body."""
    closed_port = free_port()
    answers = []
    for base, mode in ((upstream.url, "error"), (upstream.url, "garbage"), (f"http://127.0.0.1:{closed_port}", "ok")):
        upstream.mode = mode
        for name in [k for k in __import__("os").environ if k.startswith("WEFT_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("WEFT_RETENTION_INTERVAL", "0")
        monkeypatch.setenv("WEFT_LLM_BASE_URL", base)
        monkeypatch.setenv("WEFT_LLM_MODEL", "m")
        app = create_app(Settings(data_dir=tmp_path / f"d-{mode}", admin_keys=[ADMIN]))
        try:
            answers.append(_run(app, [("POST", "/v1/responses", {"model": "m", "input": "hello"})])[0])
        finally:
            _close(app)
    # an error status and a refused connection look alike; a 200 body without choices is an empty answer
    assert [answers[0].status_code, answers[2].status_code] == [503, 503]
    assert answers[0].json()["error"] == answers[2].json()["error"]
    assert all(SECRET_BODY not in a.text and str(closed_port) not in a.text for a in answers)


def test_tenant_embeddings_key_is_sealed_in_the_journal_and_catalog(tmp_path, upstream, monkeypatch):
    """A tenant admin's conversation-search embeddings with an API key (allowed endpoint): the key is used, never
    returned, and not in clear in any file; after a restart it still works."""
    embeddings = {"kind": "openAICompatible", "openAICompatibleParameters": {"baseUrl": upstream.url, "model": "m", "apiKey": UPSTREAM_KEY}}
    app = _app(tmp_path, ["127.0.0.1"], monkeypatch)
    try:
        threads = app.state.threads
        key = threads.create_api_key(Principal("acme", frozenset({"admin"}), server_admin=True), "acme", ["admin"]).secret

        async def calls():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weft.test") as client:
                h = {"api-key": key}
                opted = await client.post("/v1/tenants/acme/conversation-search", headers=h, json={"embeddings": embeddings, "dimensions": 3})
                await client.post("/v1/conversations", headers=h, json={"items": [{"role": "user", "content": "hello there"}]})
                found = await client.post("/v1/conversations/search", headers=h, json={"query": "hello", "mode": "vector"})
                return opted, found

        opted, found = asyncio.run(calls())
        assert opted.status_code == 200 and UPSTREAM_KEY not in opted.text, opted.text
        assert found.status_code == 200 and found.json()["data"], found.text
        assert upstream.keys and all(k == f"Bearer {UPSTREAM_KEY}" for k in upstream.keys)
    finally:
        _close(app)
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert UPSTREAM_KEY.encode() not in path.read_bytes(), path
    upstream.keys.clear()
    app = _app(tmp_path, ["127.0.0.1"], monkeypatch)
    try:
        assert app.state.conversation_index.search_items("acme", {"query": "hello again", "mode": "vector"})["data"]
        assert upstream.keys == [f"Bearer {UPSTREAM_KEY}"]
    finally:
        _close(app)
