"""Builds the ASGI app from Settings: services + routers."""
from __future__ import annotations

import contextlib
import logging

from fastapi import FastAPI

from weft import __version__
from weft.config import Settings
from weft.http.auth import KeyChecker
from weft.http.errors import install_error_handlers
from weft.http.search_routes import build_router
from weft.search.service import SearchService

log = logging.getLogger("weft")


def create_app(settings: Settings, service: SearchService | None = None) -> FastAPI:
    settings.ensure_admin_key()
    search = service or SearchService(settings.data_dir / "search")
    if settings.demo:
        from weft.demo import ensure_demo_index

        ensure_demo_index(search)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        # uvicorn has finished the in-flight requests: stop the other services, then drain the
        # index writers and close storage.
        for close in reversed(app.state.closers):
            try:
                close()
            except Exception:  # pragma: no cover - keep shutting the rest down
                log.exception("error while stopping")
        search.close()
        log.info("weft stopped cleanly")

    app = FastAPI(title="weft", version=__version__, lifespan=lifespan, docs_url="/_docs", redoc_url=None, openapi_url="/_openapi.json")
    app.state.search = search
    app.state.settings = settings
    app.state.closers = []
    install_error_handlers(app)
    from weft.http.limits import LimitSettings, RequestGuard

    limits = getattr(settings, "limits", None) or LimitSettings.from_env()
    app.state.limits = limits
    app.add_middleware(RequestGuard, settings=limits)
    keys = KeyChecker(settings.admin_keys, settings.query_keys)
    from weft.indexers import wiring as indexer_wiring
    from weft.threads import wiring as threads_wiring

    from weft.mail import wiring as mail_wiring

    indexer_wiring.attach(app, settings, search, keys)
    threads_wiring.attach(app, settings, search, keys)
    mail_wiring.attach(app, settings, search, keys)
    search_router = build_router(search, keys, limits)
    app.include_router(search_router)
    from weft.http import openapi_docs

    openapi_docs.install(app)
    app.state.closers.append(lambda: search_router.read_pool.shutdown(wait=False, cancel_futures=True))
    return app
