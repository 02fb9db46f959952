"""Azure's ``/synonymmaps`` routes in both path styles (``/synonymmaps/x`` and ``/synonymmaps('x')``): a thin
adapter over :class:`weft.search.synonyms_service.SynonymMapService`. Admin key only."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from weft.http.auth import KeyChecker
from weft.http.routing import conditions, definition_route, resource
from weft.http.search_routes import MGMT_CONTENT_TYPE, _body, _headers, _json
from weft.search.synonyms_service import SynonymMapService


def build_router(service: SynonymMapService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    route = definition_route(router, keys)

    one = ("/synonymmaps/{name}", "/synonymmaps('{name}')")

    @route("GET", "/synonymmaps")
    async def list_maps(request: Request):
        value = await run_in_threadpool(service.list, request.query_params.get("$select"))
        return _json({"value": value}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", "/synonymmaps")
    async def create_map(request: Request):
        body, _ = await _body(request)
        return resource(await run_in_threadpool(service.create, body), 201)

    @route("PUT", *one)
    async def put_map(request: Request, name: str):
        body, _ = await _body(request)
        rendered, created = await run_in_threadpool(lambda: service.create_or_update(name, body, **conditions(request)))
        if "return=minimal" in request.headers.get("prefer", ""):
            return Response(status_code=204, headers=_headers({"ETag": rendered["@odata.etag"]}))
        return resource(rendered, 201 if created else 200)

    @route("GET", *one)
    async def get_map(request: Request, name: str):
        return resource(await run_in_threadpool(service.get, name), 200)

    @route("DELETE", *one)
    async def delete_map(request: Request, name: str):
        await run_in_threadpool(lambda: service.delete(name, **conditions(request)))
        return Response(status_code=204, headers=_headers())

    return router
