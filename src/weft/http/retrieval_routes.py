"""Azure's knowledge source and knowledge base routes (agentic retrieval): a thin adapter over
`weft.retrieval.service.RetrievalService`, in every spelling Azure accepts (`/knowledgesources`,
`/knowledgeSources`, `/knowledge-sources`; `('name')` and `/name`)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from weft.http.auth import KeyChecker
from weft.http.routing import conditions, definition_route, resource
from weft.http.search_routes import MGMT_CONTENT_TYPE, _body, _headers, _json
from weft.identity.roles import DOCUMENTS_READ
from weft.retrieval.service import RetrievalService
from weft.search.strict import check_headers

SOURCES = ("knowledgesources", "knowledgeSources", "knowledge-sources")
BASES = ("knowledgebases", "knowledgeBases", "knowledge-bases")


def _one(collections: tuple[str, ...], suffix: str = "") -> list[str]:
    return [p for c in collections for p in (f"/{c}/{{name}}{suffix}", f"/{c}('{{name}}'){suffix}")]


def build_retrieval_router(service: RetrievalService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    route = definition_route(router, keys)

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
    @route("GET", *[f"/{c}" for c in SOURCES])
    async def list_sources(request: Request):
        return _json({"value": selected(request, await run_in_threadpool(service.list_sources))}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", *[f"/{c}" for c in SOURCES])
    async def create_source(request: Request):
        body, _ = await _body(request)
        return resource(await run_in_threadpool(service.create_source, body), 201)

    @route("PUT", *_one(SOURCES))
    async def put_source(request: Request, name: str):
        body, _ = await _body(request)
        rendered, created = await run_in_threadpool(lambda: service.create_or_update_source(name, body, **conditions(request)))
        return put_response(request, rendered, created)

    @route("GET", *_one(SOURCES))
    async def get_source(request: Request, name: str):
        return resource(await run_in_threadpool(service.get_source, name), 200)

    @route("DELETE", *_one(SOURCES))
    async def delete_source(request: Request, name: str):
        await run_in_threadpool(lambda: service.delete_source(name, **conditions(request)))
        return Response(status_code=204, headers=_headers())

    @route("GET", *_one(SOURCES, "/status"))
    async def source_status(request: Request, name: str):
        return _json(await run_in_threadpool(service.source_status, name), content_type=MGMT_CONTENT_TYPE)

    # ---- knowledge bases ----------------------------------------------------------------------------------
    @route("GET", *[f"/{c}" for c in BASES])
    async def list_bases(request: Request):
        return _json({"value": selected(request, await run_in_threadpool(service.list_bases))}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", *[f"/{c}" for c in BASES])
    async def create_base(request: Request):
        body, _ = await _body(request)
        return resource(await run_in_threadpool(service.create_base, body, request.query_params.get("api-version")), 201)

    @route("PUT", *_one(BASES))
    async def put_base(request: Request, name: str):
        body, _ = await _body(request)
        version = request.query_params.get("api-version")
        rendered, created = await run_in_threadpool(lambda: service.create_or_update_base(name, body, version, **conditions(request)))
        return put_response(request, rendered, created)

    @route("GET", *_one(BASES))
    async def get_base(request: Request, name: str):
        return resource(await run_in_threadpool(service.get_base, name), 200)

    @route("DELETE", *_one(BASES))
    async def delete_base(request: Request, name: str):
        await run_in_threadpool(lambda: service.delete_base(name, **conditions(request)))
        return Response(status_code=204, headers=_headers())

    # retrieve reads documents: a query key or the Search Index Data Reader role may call it
    @route("POST", *_one(BASES, "/retrieve"), admin=False, permission=DOCUMENTS_READ)
    async def retrieve(request: Request, name: str):
        check_headers(request.headers)  # per-user trimming (x-ms-query-source-authorization) is refused, not dropped
        body, _ = await _body(request)
        result, status = await run_in_threadpool(service.retrieve, name, body, request.query_params.get("api-version"))
        return _json(result, status, MGMT_CONTENT_TYPE)

    return router
