"""`/v1/responses`: create (JSON, Server-Sent Events, background), retrieve, delete, cancel, input items.

The model calls wait on the upstream model for seconds at a time, so they run in their own bounded pool
(``WEFT_MODEL_THREADS``), never in the request threadpool that key checks and reads of other tenants
need; each tenant has at most ``WEFT_MODEL_CONCURRENCY`` responses in flight (429 beyond).
"""
from __future__ import annotations

import asyncio
import contextvars
import concurrent.futures
import functools
import json

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from weft.agents.model_slots import ModelSlots
from weft.agents.project_tools import has_search_tool
from weft.agents.response_request import invalid
from weft.agents.responses import ResponsesService
from weft.errors import TooManyRequests
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok, paging

_DONE = object()


def _sse(event) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


def _page(page) -> dict:
    return {"object": "list", "data": [{"id": i.id, **i.body} for i in page.data], "first_id": page.first_id,
            "last_id": page.last_id, "has_more": page.has_more}


def build_responses_router(responses: ResponsesService, auth: TenantAuth, *, model_threads: int = 64, model_concurrency: int = 16,
                           prepare=None, model_slots: ModelSlots | None = None, search_grant=None) -> APIRouter:
    """``prepare(principal, body) -> body``: a rewrite before the loop (weft.agents.definitions: ``agent_reference``);
    ``model_slots``: the per-tenant count of model calls shared with classic runs (weft.agents.model_slots);
    ``search_grant(request) -> grant``: what the request's credential may do through weft's search authorisation,
    resolved only for a request with an ``azure_ai_search`` tool (weft.agents.project_tools)."""
    router = APIRouter()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, model_threads), thread_name_prefix="weft-model")
    in_flight = model_slots or ModelSlots(model_concurrency)
    model_concurrency = in_flight.concurrency
    router.model_pool = pool  # type: ignore[attr-defined]  # shut down by the wiring

    async def in_pool(fn, *args):
        # in the request's context (its request id reaches the audit records and the log lines)
        return await asyncio.get_running_loop().run_in_executor(pool, contextvars.copy_context().run, functools.partial(fn, *args))

    def admit(tenant: str) -> None:
        if not in_flight.try_take(tenant):
            raise TooManyRequests(f"Tenant '{tenant}' has {model_concurrency} responses in progress (WEFT_MODEL_CONCURRENCY); retry later.",
                                  retry_after=1, code="rate_limit_exceeded")

    @router.post("/v1/responses")
    async def create_response(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request, required=False)
        if prepare is not None:
            body = await call(prepare, principal, body)
        grant = None
        if search_grant is not None and has_search_tool(body):
            grant = await call(search_grant, request)
        tenant = principal.tenant_id
        admit(tenant)
        if not body.get("stream"):
            try:
                return ok(await in_pool(responses.create, principal, body, grant))
            finally:
                in_flight.release(tenant)
        try:
            events = await in_pool(responses.prepare_stream, principal, body, grant)
        except BaseException:
            in_flight.release(tenant)
            raise

        return sse_response(events, lambda: in_flight.release(tenant))

    def sse_response(events, finished=None) -> StreamingResponse:
        async def stream():
            try:
                while True:
                    event = await in_pool(next, events, _DONE)
                    if event is _DONE:
                        return
                    yield _sse(event)
            finally:
                await in_pool(events.close)
                if finished is not None:
                    finished()

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    @router.post("/v1/responses/input_tokens")
    async def count_input_tokens(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request, required=False)
        return ok(await call(responses.count_input_tokens, principal, body))

    @router.post("/v1/responses/compact")
    async def compact_response(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request, required=False)
        admit(principal.tenant_id)
        try:
            return ok(await in_pool(responses.compact, principal, body))
        finally:
            in_flight.release(principal.tenant_id)

    @router.get("/v1/responses/{response_id}")
    async def get_response(response_id: str, request: Request):
        principal = await call(auth.principal, request)
        if request.query_params.get("stream") in ("true", "1"):  # resume a streamed background response (stream_replay.py)
            events = await call(responses.resume_stream, principal, response_id, request.query_params.get("starting_after"))
            return sse_response(events)
        if request.query_params.get("starting_after") is not None:
            raise invalid("starting_after is only for stream=true.", "starting_after")
        return ok(await call(responses.retrieve, principal, response_id))

    @router.delete("/v1/responses/{response_id}")
    async def delete_response(response_id: str, request: Request):
        principal = await call(auth.principal, request)
        return ok(await call(responses.delete, principal, response_id))

    @router.post("/v1/responses/{response_id}/cancel")
    async def cancel_response(response_id: str, request: Request):
        principal = await call(auth.principal, request)
        return ok(await call(responses.cancel, principal, response_id))

    @router.get("/v1/responses/{response_id}/input_items")
    async def list_input_items(response_id: str, request: Request):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        page = await call(responses.input_items, principal, response_id, limit=limit, order=order, after=after, before=before)
        return ok(_page(page))

    return router
