"""Classic Foundry runs (`azure-ai-agents` 1.x): `/threads/{id}/runs` (create, list, get, update, cancel,
`submit_tool_outputs`), `/threads/runs` (create a thread and run it) and run steps. A run with `"stream": true`
answers with the Agents event stream (`event: <name>` / `data: <json>` frames, LF-only, ending with `done`)."""
from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from weft.agents import search_tool
from weft.agents.runs import Runs
from weft.errors import InvalidInput, WeftError
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok, paging
from weft.http.threads_routes import _pending_messages
from weft.http.threads_shapes import list_json, message_json, thread_json
from weft.threads.service import Item

_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"  # no file search steps in weft: nothing to add
_DONE = object()


def _include(request: Request) -> None:
    for name, value in request.query_params.multi_items():
        if name in ("include", "include[]") and value != _INCLUDE:
            raise InvalidInput(f"include value {value!r} is not supported.", code="invalid_value")


def _frame(name: str, data: Any) -> str:
    if isinstance(data, Item):
        data = message_json(data)
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _agent_token_grant(keys, request: Request) -> str | None:
    """A token for the agents API whose roles grant documents.read (e.g. Search Index Data Reader) may search."""
    from weft.identity.roles import DOCUMENTS_READ

    token = keys._bearer(request) if request.headers.get("api-key") is None else None
    if not token or not keys.identity.is_token(token):
        return None
    try:
        claims = keys.identity.validator.validate(token)
        granted = keys.identity.mapping.search_permissions(claims, any_audience=True)
    except WeftError:
        return None
    return "token" if DOCUMENTS_READ in granted else None


def search_grant_of(search_keys, request: Request) -> str | None:
    """What the request's credential may do through weft's search authorisation, for the agents' Azure AI Search
    tool: 'admin', 'query', 'token' (a token granting documents.read, whatever agents audience it has) or None."""
    if search_keys is None:
        return None
    try:
        return search_keys.check(request, admin=False)
    except WeftError:
        return _agent_token_grant(search_keys, request)


def build_runs_router(runs: Runs, auth: TenantAuth, search_keys=None) -> APIRouter:
    router = APIRouter()
    service = runs.service

    def search_grant(request: Request, principal, run: dict) -> None:
        """The run's creator, through weft's search authorisation (weft.agents.search_tool's rule)."""
        if not any(t.get("type") == search_tool.TOOL_TYPE for t in run.get("tools") or []):
            return
        search_tool.record_grant(runs, principal, run["id"], search_grant_of(search_keys, request))

    async def in_pool(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(runs.stream_pool, contextvars.copy_context().run, functools.partial(fn, *args))

    def streamed(events) -> StreamingResponse:
        async def body():
            while True:
                event = await in_pool(next, events, _DONE)
                if event is _DONE:
                    break
                yield _frame(*event)
            yield "event: done\ndata: [DONE]\n\n"

        return StreamingResponse(body(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    def answer(principal, run: dict, stream: bool, first: list):
        if stream:
            return streamed(runs.stream(principal, run["id"], first))
        runs.start(principal, run["id"])
        return ok(run)

    def run_body(body: dict) -> tuple[dict, bool]:
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise InvalidInput("stream must be a boolean.", code="invalid_value")
        return body, bool(stream)

    @router.post("/threads/runs")
    async def create_thread_and_run(request: Request):
        principal = await call(auth.principal, request)
        principal.require("write")
        _include(request)
        body, stream = run_body(await json_body(request))
        thread_body = body.pop("thread", None) or {}
        if not isinstance(thread_body, dict) or set(thread_body) - {"messages", "metadata", "tool_resources"}:
            raise InvalidInput("thread must be an object with messages and metadata.", code="invalid_value")
        if thread_body.get("tool_resources"):
            raise InvalidInput("thread.tool_resources is not supported.", code="invalid_value")
        runs.check_body(body)
        await call(runs.assistants.state, principal, body["assistant_id"])  # 404 before a thread is made
        pending = _pending_messages(service, thread_body.get("messages"), param="thread.messages", limit=100)
        thread, _ = await call(service.create_conversation, principal, metadata=thread_body.get("metadata"), kind="thread", pending=pending)
        run = await call(runs.create, principal, thread.id, body, [])
        await call(search_grant, request, principal, run)
        return answer(principal, run, stream, [("thread.created", thread_json(thread)), ("thread.run.created", run), ("thread.run.queued", run)])

    @router.post("/threads/{thread_id}/runs")
    async def create_run(request: Request, thread_id: str):
        principal = await call(auth.principal, request)
        principal.require("write")
        _include(request)
        body, stream = run_body(await json_body(request))
        additional = _pending_messages(service, body.pop("additional_messages", None), param="additional_messages", limit=100)
        # the turn starts in answer(): the create's commit takes the thread's lease for it
        run = await call(runs.create, principal, thread_id, body, additional, start_now=True)
        try:
            await call(search_grant, request, principal, run)
        except BaseException:
            runs.give_back_taken(run["id"])  # the turn will not start: the thread is free again now
            raise
        return answer(principal, run, stream, [("thread.run.created", run), ("thread.run.queued", run)])

    @router.get("/threads/{thread_id}/runs")
    async def list_runs(request: Request, thread_id: str):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        page = await call(runs.list, principal, thread_id, limit=limit, order=order, after=after, before=before)
        return ok(list_json(page.data, page.has_more))

    @router.get("/threads/{thread_id}/runs/{run_id}")
    async def get_run(request: Request, thread_id: str, run_id: str):
        principal = await call(auth.principal, request)
        return ok(await call(runs.get, principal, thread_id, run_id))

    @router.post("/threads/{thread_id}/runs/{run_id}")
    async def update_run(request: Request, thread_id: str, run_id: str):
        principal = await call(auth.principal, request)
        principal.require("write")
        return ok(await call(runs.update, principal, thread_id, run_id, await json_body(request)))

    @router.post("/threads/{thread_id}/runs/{run_id}/cancel")
    async def cancel_run(request: Request, thread_id: str, run_id: str):
        principal = await call(auth.principal, request)
        return ok(await call(runs.cancel, principal, thread_id, run_id))

    @router.post("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs")
    async def submit_tool_outputs(request: Request, thread_id: str, run_id: str):
        principal = await call(auth.principal, request)
        principal.require("write")
        body, stream = run_body(await json_body(request))
        run = await call(runs.submit_tool_outputs, principal, thread_id, run_id, body)
        return answer(principal, run, stream, [("thread.run.queued", run)])

    @router.get("/threads/{thread_id}/runs/{run_id}/steps")
    async def list_run_steps(request: Request, thread_id: str, run_id: str):
        principal = await call(auth.principal, request)
        _include(request)
        limit, order, after, before = paging(request, default_order="asc")
        steps, has_more = await call(runs.steps, principal, thread_id, run_id, limit=limit, order=order, after=after, before=before)
        return ok(list_json(steps, has_more))

    @router.get("/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
    async def get_run_step(request: Request, thread_id: str, run_id: str, step_id: str):
        principal = await call(auth.principal, request)
        _include(request)
        return ok(await call(runs.step, principal, thread_id, run_id, step_id))

    return router
