"""Azure's knowledge source and knowledge base routes (agentic retrieval): a thin adapter over
`weft.retrieval.service.RetrievalService`, in every spelling Azure accepts (`/knowledgesources`,
`/knowledgeSources`, `/knowledge-sources`; `('name')` and `/name`)."""
from __future__ import annotations

import time
from typing import Callable

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from weft.http.auth import KeyChecker, check_api_version
from weft.http.search_routes import MGMT_CONTENT_TYPE, _body, _headers, _json
from weft.identity.roles import DEFINITIONS_READ, DOCUMENTS_READ, MANAGE
from weft.retrieval.service import RetrievalService

SOURCES = ("knowledgesources", "knowledgeSources", "knowledge-sources")
BASES = ("knowledgebases", "knowledgeBases", "knowledge-bases")


def _one(collections: tuple[str, ...], suffix: str = "") -> list[str]:
    return [p for c in collections for p in (f"/{c}/{{name}}{suffix}", f"/{c}('{{name}}'){suffix}")]


def build_retrieval_router(service: RetrievalService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()

    def route(method: str, paths: list[str], *, admin: bool, permission: str):
        def decorate(fn: Callable):
            async def endpoint(request: Request):
                started = time.perf_counter()
                check_api_version(request)
                await keys.authorize(request, admin=admin, permission=permission)
                response = await fn(request, **request.path_params)
                response.headers["elapsed-time"] = str(int((time.perf_counter() - started) * 1000))
                return response

            for path in paths:
                router.add_api_route(path, endpoint, methods=[method], name=f"{fn.__name__}:{path}")
            return fn

        return decorate

    def resource(body: dict, status: int) -> Response:
        etag = body.get("@odata.etag")
        return _json(body, status, MGMT_CONTENT_TYPE, {"ETag": etag} if etag else None)

    def conditions(request: Request) -> dict:
        return {"if_match": request.headers.get("if-match"), "if_none_match": request.headers.get("if-none-match")}

    def selected(request: Request, value: list[dict]) -> list[dict]:
        select = request.query_params.get("$select")
        if select and select.strip() != "*":
            names = {s.strip() for s in select.split(",")}
            value = [{k: v for k, v in item.items() if k in names} for item in value]
        return value

    def put_response(request: Request, rendered: dict, created: bool) -> Response:
        if "return=minimal" in request.headers.get("prefer", ""):
            return Response(status_code=204, headers=_headers({"ETag": rendered.get("@odata.etag", "")}))
        return resource(rendered, 201 if created else 200)

    # ---- knowledge sources --------------------------------------------------------------------------------
    @route("GET", [f"/{c}" for c in SOURCES], admin=True, permission=DEFINITIONS_READ)
    async def list_sources(request: Request):
        return _json({"value": selected(request, await run_in_threadpool(service.list_sources))}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", [f"/{c}" for c in SOURCES], admin=True, permission=MANAGE)
    async def create_source(request: Request):
        body, _ = await _body(request)
        return resource(await run_in_threadpool(service.create_source, body), 201)

    @route("PUT", _one(SOURCES), admin=True, permission=MANAGE)
    async def put_source(request: Request, name: str):
        body, _ = await _body(request)
        rendered, created = await run_in_threadpool(lambda: service.create_or_update_source(name, body, **conditions(request)))
        return put_response(request, rendered, created)

    @route("GET", _one(SOURCES), admin=True, permission=DEFINITIONS_READ)
    async def get_source(request: Request, name: str):
        return resource(await run_in_threadpool(service.get_source, name), 200)

    @route("DELETE", _one(SOURCES), admin=True, permission=MANAGE)
    async def delete_source(request: Request, name: str):
        await run_in_threadpool(lambda: service.delete_source(name, **conditions(request)))
        return Response(status_code=204, headers=_headers())

    @route("GET", _one(SOURCES, "/status"), admin=True, permission=DEFINITIONS_READ)
    async def source_status(request: Request, name: str):
        return _json(await run_in_threadpool(service.source_status, name), content_type=MGMT_CONTENT_TYPE)

    # ---- knowledge bases ----------------------------------------------------------------------------------
    @route("GET", [f"/{c}" for c in BASES], admin=True, permission=DEFINITIONS_READ)
    async def list_bases(request: Request):
        return _json({"value": selected(request, await run_in_threadpool(service.list_bases))}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", [f"/{c}" for c in BASES], admin=True, permission=MANAGE)
    async def create_base(request: Request):
        body, _ = await _body(request)
        return resource(await run_in_threadpool(service.create_base, body, request.query_params.get("api-version")), 201)

    @route("PUT", _one(BASES), admin=True, permission=MANAGE)
    async def put_base(request: Request, name: str):
        body, _ = await _body(request)
        version = request.query_params.get("api-version")
        rendered, created = await run_in_threadpool(lambda: service.create_or_update_base(name, body, version, **conditions(request)))
        return put_response(request, rendered, created)

    @route("GET", _one(BASES), admin=True, permission=DEFINITIONS_READ)
    async def get_base(request: Request, name: str):
        return resource(await run_in_threadpool(service.get_base, name), 200)

    @route("DELETE", _one(BASES), admin=True, permission=MANAGE)
    async def delete_base(request: Request, name: str):
        await run_in_threadpool(lambda: service.delete_base(name, **conditions(request)))
        return Response(status_code=204, headers=_headers())

    # retrieve reads documents: a query key or the Search Index Data Reader role may call it
    @route("POST", _one(BASES, "/retrieve"), admin=False, permission=DOCUMENTS_READ)
    async def retrieve(request: Request, name: str):
        body, _ = await _body(request)
        result, status = await run_in_threadpool(service.retrieve, name, body, request.query_params.get("api-version"))
        return _json(result, status, MGMT_CONTENT_TYPE)

    return router
