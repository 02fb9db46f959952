"""Search over past conversations (`POST /v1/conversations/search`) and its per-tenant opt-in
(`GET/POST/DELETE /v1/tenants/{id}/conversation-search`): a thin adapter over ConversationIndex.

The index searched is always the caller's tenant's (from its key, or the server admin key's tenant);
nothing in the request names an index.
"""
from __future__ import annotations

from fastapi import APIRouter, Request

from weft.errors import InvalidInput
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok
from weft.threads.search_index import ConversationIndex


def _tenant_json(index: ConversationIndex, tenant_id: str) -> dict:
    config = index.config(tenant_id)
    return {"id": tenant_id, "object": "tenant.conversation_search", "enabled": config is not None,
            "index": config.index_name if config else None, "vectors": bool(config and config.vectorizer),
            "dimensions": config.dimensions if config else None}


def build_conversation_search_router(index: ConversationIndex, auth: TenantAuth) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/conversations/search")
    async def search_conversations(request: Request):
        principal = await call(auth.principal, request)
        principal.require("read")
        body = await json_body(request)
        return ok(await call(index.search_items, principal.tenant_id, body))

    @router.get("/v1/tenants/{tenant_id}/conversation-search")
    async def get_settings(request: Request, tenant_id: str):
        principal = await call(auth.principal, request)
        principal.for_tenant(tenant_id).require("admin")
        return ok(_tenant_json(index, tenant_id))

    @router.post("/v1/tenants/{tenant_id}/conversation-search")
    async def set_settings(request: Request, tenant_id: str):
        principal = await call(auth.principal, request)
        principal.for_tenant(tenant_id).require("admin")
        body = await json_body(request)
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            raise InvalidInput("'enabled' must be true or false.", code="invalid_value")
        dimensions = body.get("dimensions")
        if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int) or not 2 <= dimensions <= 4096):
            raise InvalidInput("'dimensions' must be an integer between 2 and 4096.", code="invalid_value")
        if enabled:
            await call(index.enable, tenant_id, body.get("embeddings"), dimensions)
            if body.get("reindex") is True:
                await call(index.reindex, tenant_id)
        else:
            await call(index.disable, tenant_id)
        return ok(_tenant_json(index, tenant_id))

    @router.delete("/v1/tenants/{tenant_id}/conversation-search")
    async def disable(request: Request, tenant_id: str):
        principal = await call(auth.principal, request)
        principal.for_tenant(tenant_id).require("admin")
        await call(index.disable, tenant_id)
        return ok(_tenant_json(index, tenant_id))

    return router
