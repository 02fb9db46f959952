"""Attaches the indexers service and its HTTP routes to the app (called by weft.app.create_app)."""
from __future__ import annotations

from typing import Any


def attach(app: Any, settings: Any, search: Any, keys: Any) -> None:
    """Create the service from settings, include its routers, register closers in app.state.closers."""
    from weft.http.indexer_routes import build_router
    from weft.indexers.service import IndexerService

    import os
    from pathlib import Path

    dirs = [Path(d) for d in os.environ.get("WEFT_SQLITE_DIRS", "").split(os.pathsep) if d] or [Path(settings.data_dir)]
    service = IndexerService(settings.data_dir / "indexers", search, sqlite_dirs=dirs)
    app.state.indexers = service
    app.include_router(build_router(service, keys))
    app.state.closers.append(service.close)
