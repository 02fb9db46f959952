"""Small helpers shared by the threads API routers (body parsing, paging parameters, threadpool)."""
from __future__ import annotations

import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from weft.errors import InvalidInput, NotFound, PayloadTooLarge
from weft.http.body import parse_json
from weft.threads.items import check_paging

MAX_BODY = 8 * 1024 * 1024


async def json_body(request: Request, *, required: bool = True) -> dict:
    return parse_body(await request.body(), required=required)


def parse_body(raw: bytes, *, required: bool = True) -> dict:
    """The JSON object of a request body (read beforehand, so a worker thread can parse it)."""
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"The request body is {len(raw)} bytes; the limit is {MAX_BODY}.")
    if not raw.strip():
        if required:
            raise InvalidInput("The request body is empty; a JSON object is required.")
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


def paging(request: Request, *, default_order: str) -> tuple[int, str, str | None, str | None]:
    q = request.query_params
    limit, order = check_paging(q.get("limit"), q.get("order"), default_order=default_order)
    return limit, order, q.get("after") or None, q.get("before") or None


def metadata_filter(request: Request) -> dict[str, str]:
    """`metadata[key]=value` (or `metadata.key=value`) query parameters: all must match."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name.startswith("metadata[") and name.endswith("]"):
            found[name[9:-1]] = value
        elif name.startswith("metadata."):
            found[name[9:]] = value
    return found


async def call(fn, *args, **kwargs) -> Any:
    return await run_in_threadpool(fn, *args, **kwargs)


def ok(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def json_response(body: Any, status: int = 200) -> Response:
    """``body`` as JSON, encoded by orjson (the standard library's encoder for what orjson refuses, such as
    integers beyond 64 bits in a stored item)."""
    try:
        content = orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(content, status_code=status, media_type="application/json")


# The conversation routes' own threads (as many as anyio's default threadpool has tokens): a plain
# executor hands a call over with a C queue and one callback, cheaper per request than anyio's worker
# protocol (capacity limiter, cancel scope, a Python condition variable).
CONVERSATION_THREADS = 40
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(CONVERSATION_THREADS, thread_name_prefix="weft-conversations")
    return _pool


async def in_worker(auth, request: Request, work: Callable[[Any], Any]) -> Any:
    """One trip to a worker thread for a whole request: authenticate (``auth.principal``), then
    ``work(principal)``, which validates, calls the service and builds the response there too. The
    event loop only moves bytes; the request's body, when it has one, is read before this. The
    request's context (its request id, for the audit) goes along."""
    public_path(request)

    def job():
        return work(auth.principal(request))

    return await asyncio.get_running_loop().run_in_executor(_executor(), contextvars.copy_context().run, job)


# ids of the records weft.agents and weft.mail keep in the thread store for themselves (stored responses,
# assistants, runs, agent definitions, chat bindings): never reachable through /v1/conversations or /threads
_INTERNAL_ID_PREFIXES = ("resp_", "asst_", "run_", "agent_", "bind_")


async def public_record(request: Request) -> None:
    """A router dependency: a path's conversation or thread id naming an internal record is a 404, as a missing one is.
    (Async: FastAPI would run a plain function in the threadpool, one more trip per request.)"""
    public_path(request)


def public_path(request: Request) -> None:
    for name in ("conversation_id", "thread_id"):
        value = request.path_params.get(name)
        if isinstance(value, str) and value.startswith(_INTERNAL_ID_PREFIXES):
            raise NotFound(f"Conversation with id '{value}' not found.")
