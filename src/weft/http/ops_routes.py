"""Operations: `/healthz` (the process answers), `/readyz` (storage open, index writers running, the threads store
reachable) and `/metrics` (Prometheus text format).

Access is a setting: `server.health` (`WEFT_HEALTH`) = `open` (default) or `key`; `server.metrics` (`WEFT_METRICS`)
= `key` (default: the admin key, or a token with a search role that reads definitions), `open`, or `off`.
"""
from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from starlette.concurrency import run_in_threadpool

from weft import observability as obs
from weft.errors import InvalidInput, NotFound
from weft.http.auth import KeyChecker
from weft.identity.roles import DEFINITIONS_READ

log = logging.getLogger("weft.ops")
READY_TIMEOUT_SECONDS = 3.0


class _LiveValues:
    """Values read at scrape time: documents per index, seconds since each indexer's last successful run."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        search = getattr(self.app.state, "public_search", None)  # weft's internal indexes are not named here
        docs = GaugeMetricFamily("weft_index_documents", "Documents in each index.", labels=["index"])
        if search is not None:
            for name in search.index_names():
                try:
                    docs.add_metric([name], search.count(name))
                except Exception:  # an index deleted meanwhile
                    continue
        yield docs
        lag = GaugeMetricFamily("weft_indexer_lag_seconds", "Seconds since the indexer's last successful run ended.", labels=["indexer"])
        now = time.time()
        for sample in obs.INDEXER_LAST_SUCCESS.collect()[0].samples:
            lag.add_metric([sample.labels["indexer"]], max(0.0, now - sample.value))
        yield lag


def _checks(app) -> dict[str, str]:
    """Each readiness check: 'ok' or why not."""
    results: dict[str, str] = {}

    def check(name: str, fn) -> None:
        try:
            detail = fn()
            results[name] = "ok" if detail in (None, True) else str(detail)
        except Exception as exc:
            results[name] = f"failed: {exc.__class__.__name__}"
            log.warning("readiness check %s failed: %s", name, exc)

    search = getattr(app.state, "search", None)
    if search is not None:
        check("search.catalog", search.catalog.ping)
        writers = getattr(search.engine, "writers_alive", None)
        if writers is not None:
            check("search.writers", lambda: True if all(writers().values()) else
                  "stopped: " + ", ".join(sorted(n for n, alive in writers().items() if not alive)))
    indexers = getattr(app.state, "indexers", None)
    if indexers is not None:
        check("indexers.store", indexers.store.ping)
    threads = getattr(app.state, "threads", None)
    if threads is not None:
        check("threads.store", threads.store.ping)
    return results


def build_ops_router(keys: KeyChecker, *, health: str = "open", metrics: str = "key") -> APIRouter:
    if health not in ("open", "key"):
        raise InvalidInput(f"WEFT_HEALTH is 'open' or 'key', not {health!r}")
    if metrics not in ("open", "key", "off"):
        raise InvalidInput(f"WEFT_METRICS is 'open', 'key' or 'off', not {metrics!r}")
    router = APIRouter()
    registries: dict[int, CollectorRegistry] = {}

    async def guard(request: Request, mode: str) -> None:
        if mode == "key":
            await keys.authorize(request, admin=True, permission=DEFINITIONS_READ)

    @router.get("/healthz", include_in_schema=True)
    async def healthz(request: Request):
        await guard(request, health)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", include_in_schema=True)
    async def readyz(request: Request):
        await guard(request, health)
        try:
            checks = await asyncio.wait_for(run_in_threadpool(_checks, request.app), READY_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            return JSONResponse({"status": "unavailable", "checks": {"storage": f"no answer within {READY_TIMEOUT_SECONDS:g} s"}},
                                status_code=503)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics", include_in_schema=True)
    async def metrics_endpoint(request: Request):
        if metrics == "off":
            raise NotFound(f"The resource '{request.url.path}' was not found.")
        await guard(request, metrics)
        live = registries.get(id(request.app))
        if live is None:
            live = registries[id(request.app)] = CollectorRegistry(auto_describe=False)
            live.register(_LiveValues(request.app))
        body = generate_latest(obs.REGISTRY) + await run_in_threadpool(generate_latest, live)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
