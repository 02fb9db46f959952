"""Azure's data source and indexer REST routes: a thin adapter over
:class:`weft.indexers.service.IndexerService`, in both path styles (``/indexers/x/run`` and
``/indexers('x')/search.run``). Admin key and api-version are checked as on the search routes."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from weft.http.auth import KeyChecker
from weft.http.routing import conditions, definition_route, resource
from weft.http.search_routes import MGMT_CONTENT_TYPE, _body, _headers, _json
from weft.indexers.service import IndexerService


def build_router(service: IndexerService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    route = definition_route(router, keys)

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
