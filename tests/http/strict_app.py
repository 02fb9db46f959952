"""An in-process weft app (FastAPI TestClient) for the strictness tests: real routes, auth and error rendering."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

KEY = "strict-admin-key"
V = "api-version=2026-04-01"


@contextlib.contextmanager
def app_client():
    from fastapi.testclient import TestClient

    from weft.app import create_app
    from weft.config import Settings

    with tempfile.TemporaryDirectory() as d:
        app = create_app(Settings(data_dir=Path(d), admin_keys=[KEY]))
        with TestClient(app, headers={"api-key": KEY}, raise_server_exceptions=False) as client:  # lifespan closes it
            yield client
