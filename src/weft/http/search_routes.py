"""Azure AI Search REST routes: a thin adapter over :class:`weft.search.service.SearchService`.

Every operation is served under both path styles Azure accepts: the friendly one
(``/indexes/hotels/docs/search``) and the OData-key one the SDK sends
(``/indexes('hotels')/docs/search.post.search``).
"""
from __future__ import annotations

import asyncio
import contextvars
import concurrent.futures
import functools
import logging
import time
from typing import Any, Callable
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, Route

from weft.errors import InvalidInput, Timeout, WeftError
from weft.http.auth import KeyChecker, check_api_version
from weft.http.body import parse_json
from weft.http.errors import odata_error
from weft.http.limits import LimitSettings
from weft.identity.roles import DEFINITIONS_READ, DOCUMENTS_WRITE
from weft.search.cost import looks_expensive
from weft.search.service import SearchService
from weft.search.strict import check_headers

DOC_CONTENT_TYPE = "application/json; odata.metadata=none; odata.streaming=true; charset=utf-8"
MGMT_CONTENT_TYPE = "application/json; odata.metadata=minimal; charset=utf-8"
MAX_BODY = 16 * 1024 * 1024 + 65536
log = logging.getLogger("weft.http")

# GET parameter name -> POST body name
_GET_NAMES = {
    "search": "search", "searchFields": "searchFields", "searchMode": "searchMode", "queryType": "queryType",
    "$filter": "filter", "$orderby": "orderby", "$select": "select", "$top": "top", "$skip": "skip", "$count": "count",
    "highlight": "highlight", "highlightPreTag": "highlightPreTag", "highlightPostTag": "highlightPostTag",
    "minimumCoverage": "minimumCoverage", "scoringProfile": "scoringProfile", "sessionId": "sessionId",
    "scoringStatistics": "scoringStatistics", "queryLanguage": "queryLanguage", "speller": "speller",
    # semantic ranking (weft.search.ranking.semantic)
    "semanticConfiguration": "semanticConfiguration", "semanticQuery": "semanticQuery", "answers": "answers", "captions": "captions",
    "semanticErrorHandling": "semanticErrorHandling", "semanticMaxWaitInMilliseconds": "semanticMaxWaitInMilliseconds", "debug": "debug",
}
_POST_TO_GET = {v: k for k, v in _GET_NAMES.items()}


class _HotRoute(Route):
    """A plain Starlette route that names itself in the scope, as FastAPI's routes do (the request metrics label by
    ``scope["route"].path``)."""

    def matches(self, scope):
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def _headers(extra: dict | None = None) -> dict:
    h = {"OData-Version": "4.0", "Preference-Applied": 'odata.include-annotations="*"'}
    if extra:
        h.update(extra)
    return h


def _json(body: Any, status: int = 200, content_type: str = DOC_CONTENT_TYPE, headers: dict | None = None) -> Response:
    payload = orjson.dumps(body)
    return Response(payload, status_code=status, media_type=None, headers={**_headers(headers), "Content-Type": content_type})


async def _body(request: Request, *, required: bool = True) -> tuple[Any, int]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        from weft.errors import PayloadTooLarge

        raise PayloadTooLarge(f"The request body is {len(raw)} bytes; the limit is 16 MB.")
    if not raw or raw.isspace():  # (not raw.strip(): the same test without copying a 1 MB batch)
        if required:
            raise InvalidInput("The request body is empty; a JSON body is required.")
        return None, 0
    return parse_json(raw), len(raw)


def _search_params_from_query(request: Request) -> dict:
    body: dict[str, Any] = {}
    facets = request.query_params.getlist("facet")
    if facets:
        body["facets"] = facets
    scoring = request.query_params.getlist("scoringParameter")
    if scoring:
        body["scoringParameters"] = scoring
    for name, value in request.query_params.multi_items():
        if name in ("api-version", "facet", "scoringParameter"):
            continue
        target = _GET_NAMES.get(name)
        if target is None:
            raise InvalidInput(f"The query parameter '{name}' is not valid for this request.")
        if target in ("top", "skip"):
            if not value.strip().isdigit():
                raise InvalidInput(f"The value '{value}' of '{name}' must be a non-negative integer.\r\nParameter name: {name}")
            body[target] = int(value)
        elif target == "count":
            if value.lower() not in ("true", "false"):
                raise InvalidInput(f"The value '{value}' of '$count' must be true or false.\r\nParameter name: $count")
            body[target] = value.lower() == "true"
        elif target == "semanticMaxWaitInMilliseconds":
            if not value.strip().isdigit():
                raise InvalidInput(f"The value '{value}' of '{name}' must be a non-negative integer.\r\nParameter name: {name}")
            body[target] = int(value)
        elif target == "minimumCoverage":
            try:
                body[target] = float(value)
            except ValueError:
                raise InvalidInput("minimumCoverage must be a number.\r\nParameter name: minimumCoverage")
        else:
            body[target] = value
    return body


def _get_url_for(request: Request, params: dict) -> str:
    query: list[tuple[str, str]] = [("api-version", request.query_params.get("api-version", ""))]
    for key, value in params.items():
        if key == "facets":
            query.extend(("facet", v) for v in value)
        elif key == "scoringParameters":
            query.extend(("scoringParameter", v) for v in value)
        elif key in _POST_TO_GET:
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = ",".join(value)
            query.append((_POST_TO_GET[key], str(value)))
    return str(request.url.replace(query=urlencode(query)))


def build_router(service: SearchService, keys: KeyChecker, limits: LimitSettings | None = None, *, read_threads: int = 0) -> APIRouter:
    """`read_threads` (search.read_threads, WEFT_READ_THREADS): with > 0 every search runs in that pool."""
    router = APIRouter()
    # the query routes again, alone: the app includes this router before every other (routes are matched in
    # order, and the full search router sits behind the conversation routes and several other routers)
    router.hot_routes = []  # type: ignore[attr-defined]
    limits = limits or LimitSettings()

    def route(method: str, *paths: str, admin: bool, permission: str | None = None, hot: bool = False):
        # `permission`: what a bearer token's roles must grant (weft.identity.roles); by default manage for
        # admin routes, documents.read for the others
        if permission is None and admin and method == "GET":
            permission = DEFINITIONS_READ

        def decorate(fn: Callable):
            async def endpoint(request: Request):
                started = time.perf_counter()
                check_api_version(request)
                await keys.authorize(request, admin=admin, permission=permission)
                if not admin:  # query routes: preview headers weft does not implement are refused (weft.search.members)
                    check_headers(request.headers)
                try:
                    response = await fn(request, **request.path_params)
                except WeftError:
                    raise
                except Exception:
                    log.exception("unexpected error on %s %s", request.method, request.url.path)
                    return odata_error(500, "An unexpected error occurred on the server.", "InternalServerError")
                response.headers["elapsed-time"] = str(int((time.perf_counter() - started) * 1000))
                return response

            for path in paths:
                router.add_api_route(path, endpoint, methods=[method], name=f"{fn.__name__}:{path}", include_in_schema=True)
                if hot:  # a plain Starlette route: the endpoint takes only the request, so FastAPI's dependency
                    # solving and endpoint wrapping (about a tenth of a search's time on the event loop) are skipped
                    hot_route = _HotRoute(path, endpoint, methods=[method], name=f"{fn.__name__}:hot:{path}", include_in_schema=False)
                    hot_route.methods.discard("HEAD")  # Starlette adds HEAD to GET routes; the API routes have none
                    router.hot_routes.append(hot_route)
            return fn

        return decorate

    async def run(fn, *args, **kwargs):
        # Blocking service calls (writes wait for their group commit) run in the threadpool.
        return await run_in_threadpool(fn, *args, **kwargs)

    # Searches: with WEFT_READ_THREADS > 0 every search runs in that pool; otherwise cheap searches run on
    # the event loop (faster, measured) and expensive ones (regex, wildcard, fuzzy, prefix, facets,
    # vectors, geo ordering: weft.search.cost) in a bounded pool of WEFT_SEARCH_THREADS, so a slow
    # query never holds up a cheap one. A pooled search that exceeds WEFT_SEARCH_TIMEOUT is answered
    # 503 (its thread finishes in the background: tantivy cannot be interrupted; the complexity
    # limits bound how long that is).
    pool_size = read_threads or max(1, limits.search_threads)
    read_pool = concurrent.futures.ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="weft-read")
    router.read_pool = read_pool  # type: ignore[attr-defined]

    async def pooled(fn, *args, timeout: float | None = None):
        future = asyncio.get_running_loop().run_in_executor(read_pool, contextvars.copy_context().run, functools.partial(fn, *args))
        if not timeout:
            return await future
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise Timeout(f"The search did not finish within {timeout:g} seconds (WEFT_SEARCH_TIMEOUT); simplify the query "
                          "(fewer wildcard, regex or fuzzy terms, a narrower filter) or raise the limit.") from None

    async def read(fn, *args, **kwargs):
        if read_threads:
            return await pooled(functools.partial(fn, *args, **kwargs), timeout=limits.search_timeout)
        return fn(*args, **kwargs)

    async def search(name: str, params: dict):
        if read_threads or looks_expensive(params):
            return await pooled(service.search, name, params, timeout=limits.search_timeout)
        return service.search(name, params)

    from weft.http import alias_routes, synonym_routes

    router.include_router(synonym_routes.build_router(service.synonym_maps, keys))
    router.include_router(alias_routes.build_router(service.aliases, keys))

    # ---- service ---------------------------------------------------------------------------------------
    @route("GET", "/servicestats", admin=True)
    async def service_stats(request: Request):
        stats = await run(service.service_stats)
        indexers = getattr(request.app.state, "indexers", None)
        if indexers is not None:
            counters = stats["counters"]
            counters["dataSourcesCount"]["usage"] = len(await run(indexers.list_datasources))
            counters["indexersCount"]["usage"] = len(await run(indexers.list_indexers))
        return _json(stats, content_type=MGMT_CONTENT_TYPE)

    # Resources weft does not have yet list as empty (the SDK's own test harness lists them all).
    for collection in ("skillsets",):

        def make(collection=collection):
            @route("GET", f"/{collection}", admin=True)
            async def list_empty(request: Request):
                return _json({"value": []}, content_type=MGMT_CONTENT_TYPE)

        make()

    # ---- indexes ------------------------------------------------------------------------------------------
    def _index_response(body: dict, status: int) -> Response:
        etag = body.get("@odata.etag")
        return _json(body, status, MGMT_CONTENT_TYPE, {"ETag": etag} if etag else None)

    @route("GET", "/indexes", admin=True)
    async def list_indexes(request: Request):
        value = await run(service.list_indexes, request.query_params.get("$select"))
        return _json({"value": value}, content_type=MGMT_CONTENT_TYPE)

    @route("POST", "/indexes", admin=True)
    async def create_index(request: Request):
        body, _ = await _body(request)
        created = await run(service.create_index, body)
        return _index_response(created, 201)

    @route("GET", "/indexes/{name}", "/indexes('{name}')", admin=True)
    async def get_index(request: Request, name: str):
        return _index_response(await run(service.get_index, name), 200)

    @route("PUT", "/indexes/{name}", "/indexes('{name}')", admin=True)
    async def put_index(request: Request, name: str):
        body, _ = await _body(request)
        rendered, created = await run(
            service.create_or_update_index, name, body,
            if_match=request.headers.get("if-match"), if_none_match=request.headers.get("if-none-match"),
            allow_index_downtime=request.query_params.get("allowIndexDowntime", "").lower() == "true",
        )
        if "return=minimal" in request.headers.get("prefer", ""):
            return Response(status_code=204, headers=_headers({"ETag": rendered.get("@odata.etag", "")}))
        return _index_response(rendered, 201 if created else 200)

    @route("DELETE", "/indexes/{name}", "/indexes('{name}')", admin=True)
    async def delete_index(request: Request, name: str):
        await run(service.delete_index, name, if_match=request.headers.get("if-match"), if_none_match=request.headers.get("if-none-match"))
        return Response(status_code=204, headers=_headers())

    @route("GET", "/indexes/{name}/stats", "/indexes('{name}')/search.stats", admin=True)
    async def index_stats(request: Request, name: str):
        return _json(await run(service.index_stats, name), content_type=MGMT_CONTENT_TYPE)

    @route("POST", "/indexes/{name}/analyze", "/indexes('{name}')/search.analyze", admin=True)
    async def analyze(request: Request, name: str):
        body, _ = await _body(request)
        return _json(await run(service.analyze, name, body), content_type=MGMT_CONTENT_TYPE)

    # ---- documents -----------------------------------------------------------------------------------------
    @route("POST", "/indexes/{name}/docs/index", "/indexes('{name}')/docs/search.index", admin=True, permission=DOCUMENTS_WRITE)
    async def index_documents(request: Request, name: str):
        body, size = await _body(request)
        results = await run(service.apply_batch, name, body, body_size=size)
        status = 200 if all(r.status for r in results) else 207
        return _json({"value": [r.to_json() for r in results]}, status)

    @route("GET", "/indexes/{name}/docs/$count", "/indexes('{name}')/docs/$count", admin=False)
    async def count(request: Request, name: str):
        n = await read(service.count, name)
        return PlainTextResponse(str(n), headers=_headers(), media_type="text/plain; charset=utf-8")

    @route("POST", "/indexes/{name}/docs/search", "/indexes('{name}')/docs/search.post.search", admin=False, hot=True)
    async def search_post(request: Request, name: str):
        body, _ = await _body(request, required=False)
        body = body if body is not None else {}
        result = await search(name, body)
        if "@search.nextPageParameters" in result:
            base = str(request.url.replace(query=f"api-version={request.query_params.get('api-version')}"))
            result["@odata.nextLink"] = base
        return _json(result, 206 if "@search.semanticPartialResponseType" in result else 200)

    @route("GET", "/indexes/{name}/docs", "/indexes('{name}')/docs", admin=False, hot=True)
    async def search_get(request: Request, name: str):
        params = _search_params_from_query(request)
        result = await search(name, params)
        next_params = result.pop("@search.nextPageParameters", None)
        if next_params is not None:
            result["@odata.nextLink"] = _get_url_for(request, next_params)
        return _json(result, 206 if "@search.semanticPartialResponseType" in result else 200)

    @route("POST", "/indexes/{name}/docs/suggest", "/indexes('{name}')/docs/search.post.suggest", admin=False)
    async def suggest_post(request: Request, name: str):
        body, _ = await _body(request)
        return _json(await run(service.suggest, name, body))

    @route("GET", "/indexes/{name}/docs/suggest", "/indexes('{name}')/docs/search.suggest", admin=False)
    async def suggest_get(request: Request, name: str):
        return _json(await run(service.suggest, name, _suggest_params(request)))

    @route("POST", "/indexes/{name}/docs/autocomplete", "/indexes('{name}')/docs/search.post.autocomplete", admin=False)
    async def autocomplete_post(request: Request, name: str):
        body, _ = await _body(request)
        return _json(await run(service.autocomplete, name, body))

    @route("GET", "/indexes/{name}/docs/autocomplete", "/indexes('{name}')/docs/search.autocomplete", admin=False)
    async def autocomplete_get(request: Request, name: str):
        return _json(await run(service.autocomplete, name, _suggest_params(request)))

    @route("GET", "/indexes/{name}/docs/{key}", "/indexes('{name}')/docs('{key}')", admin=False)
    async def lookup(request: Request, name: str, key: str):
        document = await read(service.lookup, name, key, request.query_params.get("$select"))
        if document is None:
            return Response(status_code=404, headers=_headers({"Content-Language": "en"}))
        return _json(document)

    return router


def _suggest_params(request: Request) -> dict:
    body: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name == "api-version":
            continue
        target = {"$filter": "filter", "$orderby": "orderby", "$select": "select", "$top": "top"}.get(name, name)
        if target == "top":
            if not value.isdigit():
                raise InvalidInput("$top must be an integer.\r\nParameter name: $top")
            body[target] = int(value)
        elif target == "fuzzy":
            if value.lower() not in ("true", "false"):
                raise InvalidInput(f"The value '{value}' of 'fuzzy' must be true or false.\r\nParameter name: fuzzy")
            body[target] = value.lower() == "true"
        elif target == "minimumCoverage":
            try:
                body[target] = float(value)
            except ValueError:
                raise InvalidInput("minimumCoverage must be a number.\r\nParameter name: minimumCoverage")
        else:
            body[target] = value
    return body
