"""Azure's ``/synonymmaps`` routes in both path styles (``/synonymmaps/x`` and ``/synonymmaps('x')``): a thin
adapter over :class:`weft.search.synonyms_service.SynonymMapService`. Admin key only."""
from __future__ import annotations

import time
from typing import Callable

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from weft.http.auth import KeyChecker, check_api_version
from weft.http.search_routes import MGMT_CONTENT_TYPE, _body, _headers, _json
from weft.search.synonyms_service import SynonymMapService


def build_router(service: SynonymMapService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()

    def route(method: str, *paths: str):
        def decorate(fn: Callable):
            async def endpoint(request: Request):
                started = time.perf_counter()
                check_api_version(request)
                keys.check(request, admin=True)
                response = await fn(request, **request.path_params)
                response.headers["elapsed-time"] = str(int((time.perf_counter() - started) * 1000))
                return response

            for path in paths:
                router.add_api_route(path, endpoint, methods=[method], name=f"{fn.__name__}:{path}")
            return fn

        return decorate

    def resource(body: dict, status: int) -> Response:
        return _json(body, status, MGMT_CONTENT_TYPE, {"ETag": body["@odata.etag"]})

    def conditions(request: Request) -> dict:
        return {"if_match": request.headers.get("if-match"), "if_none_match": request.headers.get("if-none-match")}

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
