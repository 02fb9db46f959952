"""Azure's ``/aliases`` routes in both path styles (``/aliases/x`` and ``/aliases('x')``): a thin adapter over
:class:`weft.search.aliases.AliasService`. The index routes' permission model: an admin key, or a token granting
definitions.read (GET) or manage (create, update, delete)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from weft.http.auth import KeyChecker
from weft.http.routing import conditions, definition_route, resource
from weft.http.search_routes import MGMT_CONTENT_TYPE, _body, _headers, _json
from weft.search.aliases import AliasService


def build_router(service: AliasService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    route = definition_route(router, keys)

    one = ("/aliases/{name}", "/aliases('{name}')")

    @route("GET", "/aliases")
    async def list_aliases(request: Request):
        value = await run_in_threadpool(service.list, request.query_params.get("$select"))
        return _json({"value": value}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", "/aliases")
    async def create_alias(request: Request):
        body, _ = await _body(request)
        return resource(await run_in_threadpool(service.create, body), 201)

    @route("PUT", *one)
    async def put_alias(request: Request, name: str):
        body, _ = await _body(request)
        rendered, created = await run_in_threadpool(lambda: service.create_or_update(name, body, **conditions(request)))
        if "return=minimal" in request.headers.get("prefer", ""):
            return Response(status_code=204, headers=_headers({"ETag": rendered["@odata.etag"]}))
        return resource(rendered, 201 if created else 200)

    @route("GET", *one)
    async def get_alias(request: Request, name: str):
        return resource(await run_in_threadpool(service.get, name), 200)

    @route("DELETE", *one)
    async def delete_alias(request: Request, name: str):
        await run_in_threadpool(lambda: service.delete(name, **conditions(request)))
        return Response(status_code=204, headers=_headers())

    return router
