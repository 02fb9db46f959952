"""Classic Foundry agents (`azure-ai-agents` 1.x): `/assistants` create, list, get, update, delete."""
from __future__ import annotations

from fastapi import APIRouter, Request

from weft.agents.assistants import Assistants
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok, paging
from weft.http.threads_shapes import list_json


def build_assistants_router(assistants: Assistants, auth: TenantAuth) -> APIRouter:
    router = APIRouter()

    @router.post("/assistants")
    async def create_assistant(request: Request):
        principal = await call(auth.principal, request)
        principal.require("write")
        return ok(await call(assistants.create, principal, await json_body(request)))

    @router.get("/assistants")
    async def list_assistants(request: Request):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        page = await call(assistants.list, principal, limit=limit, order=order, after=after, before=before)
        return ok(list_json(page.data, page.has_more))

    @router.get("/assistants/{assistant_id}")
    async def get_assistant(request: Request, assistant_id: str):
        principal = await call(auth.principal, request)
        return ok(await call(assistants.get, principal, assistant_id))

    @router.post("/assistants/{assistant_id}")
    async def update_assistant(request: Request, assistant_id: str):
        principal = await call(auth.principal, request)
        principal.require("write")
        return ok(await call(assistants.update, principal, assistant_id, await json_body(request)))

    @router.delete("/assistants/{assistant_id}")
    async def delete_assistant(request: Request, assistant_id: str):
        principal = await call(auth.principal, request)
        principal.require("write")
        return ok(await call(assistants.delete, principal, assistant_id))

    return router
