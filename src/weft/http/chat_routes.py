"""Chat continuity over HTTP: `POST /v1/chat/messages` appends a chat message to the right conversation,
`GET /v1/chat/conversations/{id}/decisions` lists why each message went there. A thin adapter over
``weft.mail.chat_store.ChatMessages``; authentication and tenants as on the Conversations API."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request

from weft.errors import InvalidInput
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok
from weft.mail.chat import ContinuityDecision
from weft.mail.chat_store import ChatMessages, ThreadChatConversationStore


def _invalid(message: str, param: str) -> InvalidInput:
    error = InvalidInput(message, code="invalid_value")
    error.param = param  # type: ignore[attr-defined]
    return error


def _string(body: dict, name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise _invalid(f"'{name}' is required.", name)
        return None
    if not isinstance(value, str):
        raise _invalid(f"'{name}' must be a string.", name)
    return value


def _strings(body: dict, name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"'{name}' must be a list of strings.", name)
    return value


def parse_at(value: Any) -> datetime | None:
    """`at`: ISO 8601 (an offset is required, or 'Z') or unix seconds; None for the server clock."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise _invalid("'at' is out of range: unix seconds must be between year 1 and 9999.", "at")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise _invalid("'at' must be an ISO 8601 time with an offset (or 'Z'), or unix seconds.", "at")


def decision_json(decision: ContinuityDecision) -> dict:
    return {
        "conversation_id": decision.conversation_id, "reason": decision.reason.value, "explanation": decision.explanation,
        "started_new": decision.started_new, "matched_explicit_id": decision.matched_explicit_id,
        "idle_seconds": decision.idle_for.total_seconds() if decision.idle_for is not None else None,
        "at": decision.at.isoformat(),
    }


def build_chat_router(chat: ChatMessages, auth: TenantAuth) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/chat/messages")
    async def post_message(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        text = body.get("text", body.get("content"))
        if not isinstance(text, (str, list)):
            raise _invalid("'text' must be a string (or 'content' a list of content parts).", "text")
        explicit = [v for v in (_string(body, "thread_id"), _string(body, "reply_to")) if v] + _strings(body, "explicit_ids")
        participants = body.get("participants")
        if not isinstance(participants, list) or not all(isinstance(p, str) for p in participants):
            raise _invalid("'participants' must be a list of strings.", "participants")
        posted = await call(chat.post, principal, channel=_string(body, "channel", required=True), participants=participants,
                            text=text, role=_string(body, "role") or "user", sender=_string(body, "sender"),
                            explicit_ids=explicit, message_id=_string(body, "message_id"), at=parse_at(body.get("at")))
        return ok({"object": "chat.message", "conversation_id": posted.decision.conversation_id,
                   "item": {"id": posted.item.id, **posted.item.body}, "decision": decision_json(posted.decision)})

    @router.get("/v1/chat/conversations/{conversation_id}/decisions")
    async def list_decisions(request: Request, conversation_id: str):
        principal = await call(auth.principal, request)
        await call(chat.threads.get_conversation, principal, conversation_id)  # 404 (and read check) first
        store = ThreadChatConversationStore(chat.threads, principal)
        decisions = await call(store.decisions, conversation_id)
        data = [decision_json(d) for d in decisions]
        return ok({"object": "list", "data": data, "has_more": False})

    return router
