"""`POST /v1/responses`: the conversation loop over HTTP, JSON or Server-Sent Events."""
from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok
from weft.threads.conversation import ConversationLoop


def _sse(events):
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


def build_responses_router(loop: ConversationLoop, auth: TenantAuth) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/responses")
    async def create_response(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        if body.get("stream"):
            events = await call(loop.prepare_stream, principal, body)
            return StreamingResponse(_sse(events), media_type="text/event-stream", headers={"cache-control": "no-cache"})
        return ok(await call(loop.create, principal, body))

    return router
