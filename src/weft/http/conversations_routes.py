"""OpenAI Conversations API (`/v1/conversations`, `/v1/conversations/{id}/items`) plus the listing OpenAI
lacks (`GET /v1/conversations`): a thin adapter over ThreadService."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, metadata_filter, ok, paging, public_record
from weft.http.threads_shapes import conversation_json, item_json, item_page_json, list_json
from weft.threads.service import UNSET, ThreadService


def build_conversations_router(service: ThreadService, auth: TenantAuth) -> APIRouter:
    router = APIRouter(dependencies=[Depends(public_record)])  # internal records are not conversations

    @router.post("/v1/conversations")
    async def create_conversation(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request, required=False)
        conversation, _items = await call(service.create_conversation, principal, metadata=body.get("metadata"), items=body.get("items"),
                                          retention_seconds=body.get("retention_seconds"),
                                          idempotency_key=request.headers.get("idempotency-key"))
        return ok(conversation_json(conversation))

    @router.get("/v1/conversations")
    async def list_conversations(request: Request):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        page = await call(service.list_conversations, principal, limit=limit, order=order, after=after, before=before,
                          metadata=metadata_filter(request))
        return ok(list_json([conversation_json(c) for c in page.data], page.has_more))

    @router.get("/v1/conversations/{conversation_id}")
    async def get_conversation(request: Request, conversation_id: str):
        principal = await call(auth.principal, request)
        return ok(conversation_json(await call(service.get_conversation, principal, conversation_id)))

    @router.post("/v1/conversations/{conversation_id}")
    async def update_conversation(request: Request, conversation_id: str):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        conversation = await call(service.update_conversation, principal, conversation_id,
                                  metadata=body["metadata"] if "metadata" in body else UNSET,
                                  retention_seconds=body["retention_seconds"] if "retention_seconds" in body else UNSET)
        return ok(conversation_json(conversation))

    @router.delete("/v1/conversations/{conversation_id}")
    async def delete_conversation(request: Request, conversation_id: str):
        principal = await call(auth.principal, request)
        await call(service.delete_conversation, principal, conversation_id)
        return ok({"id": conversation_id, "object": "conversation.deleted", "deleted": True})

    @router.post("/v1/conversations/{conversation_id}/items")
    async def create_items(request: Request, conversation_id: str):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        items = await call(service.append_items, principal, conversation_id, body.get("items"),
                           idempotency_key=request.headers.get("idempotency-key"))
        return ok(list_json([item_json(i) for i in items], False))

    @router.get("/v1/conversations/{conversation_id}/items")
    async def list_items(request: Request, conversation_id: str):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        page = await call(service.list_items, principal, conversation_id, limit=limit, order=order, after=after, before=before)
        return ok(item_page_json(page))

    @router.get("/v1/conversations/{conversation_id}/items/{item_id}")
    async def get_item(request: Request, conversation_id: str, item_id: str):
        principal = await call(auth.principal, request)
        return ok(item_json(await call(service.get_item, principal, conversation_id, item_id)))

    @router.delete("/v1/conversations/{conversation_id}/items/{item_id}")
    async def delete_item(request: Request, conversation_id: str, item_id: str):
        principal = await call(auth.principal, request)
        return ok(conversation_json(await call(service.delete_item, principal, conversation_id, item_id)))

    return router
