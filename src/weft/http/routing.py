"""The route decorator and helpers the definition APIs share (data sources, indexers, synonym maps, knowledge
sources and bases): api-version, the credential with the permission a token needs, the `elapsed-time` header,
both path styles, ETag responses and the If-Match / If-None-Match headers."""
from __future__ import annotations

import time
from typing import Callable

from fastapi import APIRouter, Request, Response

from weft.http.auth import KeyChecker, check_api_version
from weft.http.search_routes import MGMT_CONTENT_TYPE, _json
from weft.identity.roles import DEFINITIONS_READ, MANAGE


def definition_route(router: APIRouter, keys: KeyChecker) -> Callable:
    """`@route(method, *paths, admin=True, permission=None)`: by default an admin key, or a token granting
    definitions.read (GET) or manage (anything else)."""

    def route(method: str, *paths: str, admin: bool = True, permission: str | None = None):
        needed = permission or (DEFINITIONS_READ if method == "GET" else MANAGE)

        def decorate(fn: Callable):
            async def endpoint(request: Request):
                started = time.perf_counter()
                check_api_version(request)
                await keys.authorize(request, admin=admin, permission=needed)
                response = await fn(request, **request.path_params)
                response.headers["elapsed-time"] = str(int((time.perf_counter() - started) * 1000))
                return response

            for path in paths:
                router.add_api_route(path, endpoint, methods=[method], name=f"{fn.__name__}:{path}")
            return fn

        return decorate

    return route


def resource(body: dict, status: int) -> Response:
    etag = body.get("@odata.etag")
    return _json(body, status, MGMT_CONTENT_TYPE, {"ETag": etag} if etag else None)


def conditions(request: Request) -> dict:
    return {"if_match": request.headers.get("if-match"), "if_none_match": request.headers.get("if-none-match")}


def named_collection_routes(router: APIRouter, keys: KeyChecker, collection: str, service) -> None:
    """Azure's five routes of a named definition collection (``/synonymmaps``, ``/aliases``) in both path styles:
    list (with ``$select``), create, create-or-update (ETag conditions, ``Prefer: return=minimal``), get, delete.
    ``service`` has ``list(select)``, ``create(body)``, ``create_or_update(name, body, **conditions)``,
    ``get(name)`` and ``delete(name, **conditions)``."""
    from starlette.concurrency import run_in_threadpool

    from weft.http.search_routes import _body, _headers

    route = definition_route(router, keys)
    one = (f"/{collection}/{{name}}", f"/{collection}('{{name}}')")

    @route("GET", f"/{collection}")
    async def list_all(request: Request):
        value = await run_in_threadpool(service.list, request.query_params.get("$select"))
        return _json({"value": value}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", f"/{collection}")
    async def create(request: Request):
        body, _ = await _body(request)
        return resource(await run_in_threadpool(service.create, body), 201)

    @route("PUT", *one)
    async def create_or_update(request: Request, name: str):
        body, _ = await _body(request)
        rendered, created = await run_in_threadpool(lambda: service.create_or_update(name, body, **conditions(request)))
        if "return=minimal" in request.headers.get("prefer", ""):
            return Response(status_code=204, headers=_headers({"ETag": rendered["@odata.etag"]}))
        return resource(rendered, 201 if created else 200)

    @route("GET", *one)
    async def get(request: Request, name: str):
        return resource(await run_in_threadpool(service.get, name), 200)

    @route("DELETE", *one)
    async def delete(request: Request, name: str):
        await run_in_threadpool(lambda: service.delete(name, **conditions(request)))
        return Response(status_code=204, headers=_headers())
