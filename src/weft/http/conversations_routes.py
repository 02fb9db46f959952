"""OpenAI Conversations API (`/v1/conversations`, `/v1/conversations/{id}/items`) plus the listing OpenAI
lacks (`GET /v1/conversations`): a thin adapter over ThreadService.

Each route reads the body on the event loop (when it has one) and then makes ONE trip to the threadpool
(:func:`weft.http.threads_http.in_worker`): authentication, validation, the service call and the JSON
encoding (orjson) run there together. Handlers take only the request (path parameters from
``request.path_params``; the OpenAPI document takes them from the path templates), so FastAPI has no
parameters to resolve per request."""
from __future__ import annotations

from fastapi import APIRouter, Request

from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import in_worker, json_response, metadata_filter, paging, parse_body
from weft.http.threads_shapes import conversation_json, item_json, item_page_json, list_json
from weft.threads.service import UNSET, ThreadService


def build_conversations_router(service: ThreadService, auth: TenantAuth) -> APIRouter:
    router = APIRouter()  # in_worker answers 404 for internal records' ids (weft.http.threads_http.public_path)

    @router.post("/v1/conversations")
    async def create_conversation(request: Request):
        raw = await request.body()

        def work(principal):
            body = parse_body(raw, required=False)
            conversation, _items = service.create_conversation(principal, metadata=body.get("metadata"), items=body.get("items"),
                                                               retention_seconds=body.get("retention_seconds"),
                                                               idempotency_key=request.headers.get("idempotency-key"))
            return json_response(conversation_json(conversation))

        return await in_worker(auth, request, work)

    @router.get("/v1/conversations")
    async def list_conversations(request: Request):
        def work(principal):
            limit, order, after, before = paging(request, default_order="desc")
            page = service.list_conversations(principal, limit=limit, order=order, after=after, before=before,
                                              metadata=metadata_filter(request))
            return json_response(list_json([conversation_json(c) for c in page.data], page.has_more))

        return await in_worker(auth, request, work)

    @router.get("/v1/conversations/{conversation_id}")
    async def get_conversation(request: Request):
        conversation_id = request.path_params["conversation_id"]
        return await in_worker(auth, request, lambda principal: json_response(
            conversation_json(service.get_conversation(principal, conversation_id))))

    @router.post("/v1/conversations/{conversation_id}")
    async def update_conversation(request: Request):
        conversation_id = request.path_params["conversation_id"]
        raw = await request.body()

        def work(principal):
            body = parse_body(raw)
            conversation = service.update_conversation(principal, conversation_id,
                                                       metadata=body["metadata"] if "metadata" in body else UNSET,
                                                       retention_seconds=body["retention_seconds"] if "retention_seconds" in body else UNSET)
            return json_response(conversation_json(conversation))

        return await in_worker(auth, request, work)

    @router.delete("/v1/conversations/{conversation_id}")
    async def delete_conversation(request: Request):
        conversation_id = request.path_params["conversation_id"]
        def work(principal):
            service.delete_conversation(principal, conversation_id)
            return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})

        return await in_worker(auth, request, work)

    @router.post("/v1/conversations/{conversation_id}/items")
    async def create_items(request: Request):
        conversation_id = request.path_params["conversation_id"]
        raw = await request.body()

        def work(principal):
            body = parse_body(raw)
            items = service.append_items(principal, conversation_id, body.get("items"),
                                         idempotency_key=request.headers.get("idempotency-key"))
            return json_response(list_json([item_json(i) for i in items], False))

        return await in_worker(auth, request, work)

    @router.get("/v1/conversations/{conversation_id}/items")
    async def list_items(request: Request):
        conversation_id = request.path_params["conversation_id"]
        def work(principal):
            limit, order, after, before = paging(request, default_order="desc")
            page = service.list_items(principal, conversation_id, limit=limit, order=order, after=after, before=before)
            return json_response(item_page_json(page))

        return await in_worker(auth, request, work)

    @router.get("/v1/conversations/{conversation_id}/items/{item_id}")
    async def get_item(request: Request):
        conversation_id, item_id = request.path_params["conversation_id"], request.path_params["item_id"]
        return await in_worker(auth, request, lambda principal: json_response(
            item_json(service.get_item(principal, conversation_id, item_id))))

    @router.delete("/v1/conversations/{conversation_id}/items/{item_id}")
    async def delete_item(request: Request):
        conversation_id, item_id = request.path_params["conversation_id"], request.path_params["item_id"]
        return await in_worker(auth, request, lambda principal: json_response(
            conversation_json(service.delete_item(principal, conversation_id, item_id))))

    return router
