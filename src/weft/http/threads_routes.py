"""Foundry/Assistants-style threads API (`/threads`, `/threads/{id}/messages`) over the same store.
`api-version` is accepted and ignored."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from weft.errors import InvalidInput
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, metadata_filter, ok, paging, public_record
from weft.errors import NotFound
from weft.http.threads_shapes import foundry_message_to_item, is_thread_message, list_json, message_json, thread_json
from weft.threads.items import MAX_ITEMS_PER_REQUEST, validate_metadata
from weft.threads.service import UNSET, PendingItem, ThreadService


def _pending_messages(service: ThreadService, messages, *, param: str, limit: int) -> list[PendingItem]:
    if messages is None:
        return []
    if not isinstance(messages, list):
        raise InvalidInput(f"'{param}' must be a list of messages.")
    pending = []
    for n, raw in enumerate(messages):
        if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
            raise InvalidInput(f"{param}[{n}].role must be 'user' or 'assistant'.", code="invalid_value")
        [validated] = service.validate_items([foundry_message_to_item(raw)], param=f"{param}[{n}]")
        body = dict(validated.body)
        metadata = validate_metadata(raw.get("metadata"), param=f"{param}[{n}].metadata")
        if metadata:
            body["metadata"] = metadata
        if raw.get("attachments"):
            body["attachments"] = raw["attachments"]
        pending.append(PendingItem(validated.type, validated.role, body))
    if len(pending) > limit:
        raise InvalidInput(f"At most {limit} messages per request.")
    return pending


def build_threads_router(service: ThreadService, auth: TenantAuth) -> APIRouter:
    router = APIRouter(dependencies=[Depends(public_record)])  # internal records are not conversations

    @router.post("/threads")
    async def create_thread(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request, required=False)
        pending = _pending_messages(service, body.get("messages"), param="messages", limit=100)
        extra = {"tool_resources": body["tool_resources"]} if body.get("tool_resources") else None
        thread, _ = await call(service.create_conversation, principal, metadata=body.get("metadata"), kind="thread", extra=extra,
                               pending=pending, idempotency_key=request.headers.get("idempotency-key"))
        return ok(thread_json(thread))

    @router.get("/threads")
    async def list_threads(request: Request):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        page = await call(service.list_conversations, principal, limit=limit, order=order, after=after, before=before,
                          metadata=metadata_filter(request))
        return ok(list_json([thread_json(t) for t in page.data], page.has_more))

    @router.get("/threads/{thread_id}")
    async def get_thread(request: Request, thread_id: str):
        principal = await call(auth.principal, request)
        return ok(thread_json(await call(service.get_conversation, principal, thread_id)))

    @router.post("/threads/{thread_id}")
    async def update_thread(request: Request, thread_id: str):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        extra = {"tool_resources": body["tool_resources"]} if "tool_resources" in body else UNSET
        thread = await call(service.update_conversation, principal, thread_id,
                            metadata=body["metadata"] if "metadata" in body else UNSET, extra=extra)
        return ok(thread_json(thread))

    @router.delete("/threads/{thread_id}")
    async def delete_thread(request: Request, thread_id: str):
        principal = await call(auth.principal, request)
        await call(service.delete_conversation, principal, thread_id)
        return ok({"id": thread_id, "object": "thread.deleted", "deleted": True})

    @router.post("/threads/{thread_id}/messages")
    async def create_message(request: Request, thread_id: str):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        pending = _pending_messages(service, [body], param="message", limit=MAX_ITEMS_PER_REQUEST)
        [item] = await call(service.append_items, principal, thread_id, None, pending=pending,
                            idempotency_key=request.headers.get("idempotency-key"))
        return ok(message_json(item))

    @router.get("/threads/{thread_id}/messages")
    async def list_messages(request: Request, thread_id: str):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        run_id = request.query_params.get("run_id") or None
        shown, has_more = [], True
        while has_more and len(shown) < limit:  # tool calls and outputs are run steps, not messages: skip them
            page = await call(service.list_items, principal, thread_id, limit=limit, order=order, after=after, before=before)
            shown += [i for i in page.data if is_thread_message(i) and (run_id is None or i.body.get("run_id") == run_id)]
            has_more = page.has_more
            after = page.last_id  # the next page, in the listing's order; `before` stays the far bound
            if not page.data:
                break
        more = has_more or len(shown) > limit
        return ok(list_json([message_json(i) for i in shown[:limit]], more))

    @router.get("/threads/{thread_id}/messages/{message_id}")
    async def get_message(request: Request, thread_id: str, message_id: str):
        principal = await call(auth.principal, request)
        item = await call(service.get_item, principal, thread_id, message_id)
        if not is_thread_message(item):
            raise NotFound(f"No message found with id '{message_id}'.", code="not_found")
        return ok(message_json(item))

    @router.post("/threads/{thread_id}/messages/{message_id}")
    async def update_message(request: Request, thread_id: str, message_id: str):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        return ok(message_json(await call(service.update_item_metadata, principal, thread_id, message_id, body.get("metadata"))))

    return router
