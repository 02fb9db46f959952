"""RequestGuard in-process: an unexpected exception is a JSON 500 in the family's shape (never an
exception escaping to the server, which drops the connection), and a declared oversized body is a
413 before the app runs."""
from __future__ import annotations

import pathlib
import tempfile

from fastapi.testclient import TestClient

from weft.app import create_app
from weft.config import Settings
from weft.http.limits import LimitSettings


def _app(**limits):
    settings = Settings(data_dir=pathlib.Path(tempfile.mkdtemp()), admin_keys=["k"])
    settings.limits = LimitSettings(**limits)
    app = create_app(settings)
    ran = []

    @app.post("/v1/_boom")
    async def boom_v1():
        ran.append(1)
        raise RuntimeError("boom")

    @app.get("/_boom")
    async def boom_search():
        raise RuntimeError("boom")

    return app, ran


def test_unexpected_exceptions_are_json_500s_in_each_shape():
    app, _ = _app()
    with TestClient(app) as client:  # raise_server_exceptions=True: an escaping exception fails the test
        r = client.post("/v1/_boom", json={})
        assert r.status_code == 500 and r.json()["error"]["type"] == "server_error" and r.json()["error"]["code"] == "InternalServerError"
        r = client.get("/_boom")
        assert r.status_code == 500 and set(r.json()["error"]) == {"code", "message"}


def test_declared_oversized_body_is_refused_before_the_app_runs():
    app, ran = _app(max_body_bytes=1000)
    with TestClient(app) as client:
        r = client.post("/v1/_boom", content=b"x" * 2000, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "WEFT_MAX_BODY_BYTES" in r.json()["error"]["message"]
        assert ran == []
        r = client.post("/indexes?api-version=2026-04-01", content=b"{" + b" " * 2000 + b"}", headers={"api-key": "k"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "RequestEntityTooLarge"
