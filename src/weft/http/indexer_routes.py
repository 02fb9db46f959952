"""Azure's data source and indexer REST routes: a thin adapter over
:class:`weft.indexers.service.IndexerService`, in both path styles (``/indexers/x/run`` and
``/indexers('x')/search.run``). Admin key and api-version are checked as on the search routes."""
from __future__ import annotations

import time
from typing import Callable

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from weft.http.auth import KeyChecker, check_api_version
from weft.identity.roles import DEFINITIONS_READ, MANAGE
from weft.http.search_routes import MGMT_CONTENT_TYPE, _body, _headers, _json
from weft.indexers.service import IndexerService


def build_router(service: IndexerService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()

    def route(method: str, *paths: str):
        # tokens: reading definitions and status needs definitions.read, everything else manage
        permission = DEFINITIONS_READ if method == "GET" else MANAGE

        def decorate(fn: Callable):
            async def endpoint(request: Request):
                started = time.perf_counter()
                check_api_version(request)
                await keys.authorize(request, admin=True, permission=permission)
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

    for collection, create, put, get, listing, delete in (
        ("datasources", service.create_datasource, service.create_or_update_datasource, service.get_datasource,
         service.list_datasources, service.delete_datasource),
        ("indexers", service.create_indexer, service.create_or_update_indexer, service.get_indexer,
         service.list_indexers, service.delete_indexer),
    ):

        def register(collection=collection, create=create, put=put, get=get, listing=listing, delete=delete):
            one = (f"/{collection}/{{name}}", f"/{collection}('{{name}}')")

            @route("GET", f"/{collection}")
            async def list_all(request: Request):
                value = await run_in_threadpool(listing)
                select = request.query_params.get("$select")
                if select and select.strip() != "*":
                    names = {s.strip() for s in select.split(",")}
                    value = [{k: v for k, v in item.items() if k in names} for item in value]
                return _json({"value": value}, content_type=MGMT_CONTENT_TYPE)

            @route("POST", f"/{collection}")
            async def create_one(request: Request):
                body, _ = await _body(request)
                return resource(await run_in_threadpool(create, body), 201)

            @route("PUT", *one)
            async def put_one(request: Request, name: str):
                body, _ = await _body(request)
                rendered, created = await run_in_threadpool(lambda: put(name, body, **conditions(request)))
                if "return=minimal" in request.headers.get("prefer", ""):
                    return Response(status_code=204, headers=_headers({"ETag": rendered.get("@odata.etag", "")}))
                return resource(rendered, 201 if created else 200)

            @route("GET", *one)
            async def get_one(request: Request, name: str):
                return resource(await run_in_threadpool(get, name), 200)

            @route("DELETE", *one)
            async def delete_one(request: Request, name: str):
                await run_in_threadpool(lambda: delete(name, **conditions(request)))
                return Response(status_code=204, headers=_headers())

        register()

    @route("POST", "/indexers/{name}/run", "/indexers('{name}')/search.run")
    async def run(request: Request, name: str):
        await run_in_threadpool(service.run, name)
        return Response(status_code=202, headers=_headers())

    @route("POST", "/indexers/{name}/reset", "/indexers('{name}')/search.reset")
    async def reset(request: Request, name: str):
        await run_in_threadpool(service.reset, name)
        return Response(status_code=204, headers=_headers())

    @route("GET", "/indexers/{name}/status", "/indexers('{name}')/search.status")
    async def status(request: Request, name: str):
        return _json(await run_in_threadpool(service.status, name), content_type=MGMT_CONTENT_TYPE)

    return router
