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
    from weft.search.endpoints import POLICY
    from weft.search.public import PublicSearch

    POLICY.configure(settings.allowed_model_endpoints)
    from weft.http import log_privacy

    log_privacy.install()  # no query strings of tenant routes in the access log
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

    # /_docs and /_openapi.json are routes of weft.http.api_docs, gated by settings.api_docs; app.openapi() works either way
    app = FastAPI(title="weft", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.search = search
    app.state.settings = settings
    app.state.closers = []
    install_error_handlers(app)
    keys = KeyChecker(settings.admin_keys, settings.query_keys)
    from weft.indexers import wiring as indexer_wiring
    from weft.threads import wiring as threads_wiring

    from weft.mail import wiring as mail_wiring

    public = PublicSearch(search)  # what the search API and indexers reach: no internal index
    indexer_wiring.attach(app, settings, public, keys)
    threads_wiring.attach(app, settings, search, keys)
    mail_wiring.attach(app, settings, search, keys)
    app.include_router(build_router(public, keys))
    from weft.http.api_docs import build_api_docs_router

    app.include_router(build_api_docs_router(app, settings.api_docs, keys))
    return app
