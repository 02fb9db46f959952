"""Admin endpoints of the threads family: `GET /audit`, API keys (`/v1/keys`), tenant settings (`/v1/tenants/{id}`)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request

from weft.errors import InvalidInput
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok
from weft.threads.audit import record_to_json
from weft.threads.service import ThreadService


_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
_MAX_ID = 2**63 - 1


def _time_ms(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is None:
        try:
            seconds = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError, OSError):
            seconds = float("nan")
    if not -_MAX_SECONDS <= seconds <= _MAX_SECONDS:  # also false for nan
        raise InvalidInput(f"'{name}' must be unix seconds or an ISO 8601 time, between year 1 and 9999.", code="invalid_value")
    return int(seconds * 1000)


def _key_json(record, secret: str | None = None) -> dict:
    out = {"id": record.id, "object": "api_key", "tenant": record.tenant_id, "scopes": list(record.scopes), "name": record.name,
           "created_at": record.created_at_ms // 1000, "revoked_at": record.revoked_at_ms // 1000 if record.revoked_at_ms else None}
    if secret:
        out["key"] = secret
    return out


def build_threads_admin_router(service: ThreadService, auth: TenantAuth) -> APIRouter:
    router = APIRouter()

    @router.get("/audit")
    async def audit(request: Request):
        principal = await call(auth.principal, request)
        q = request.query_params
        try:
            limit = int(q.get("limit", "100"))
            after = int(q["after"]) if q.get("after") else None
        except ValueError:
            raise InvalidInput("limit and after must be integers.", code="invalid_value")
        if after is not None and not 0 <= after <= _MAX_ID:
            raise InvalidInput(f"after must be an integer between 0 and {_MAX_ID}.", code="invalid_value")
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000.", code="invalid_value")
        records = await call(service.list_audit, principal, tenant_id=q.get("tenant") or None, since_ms=_time_ms(q.get("since"), "since"),
                             until_ms=_time_ms(q.get("until"), "until"), limit=limit + 1, after_id=after)
        data = [record_to_json(r) for r in records[:limit]]
        return ok({"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                   "last_id": data[-1]["id"] if data else None, "has_more": len(records) > limit})

    @router.post("/v1/keys")
    async def create_key(request: Request):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        scopes, name = body.get("scopes") or [], body.get("name")
        if not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes):
            raise InvalidInput("scopes must be a list of strings (read, write, admin).", code="invalid_value")
        if name is not None and (not isinstance(name, str) or len(name) > 256):
            raise InvalidInput("name must be a string of at most 256 characters.", code="invalid_value")
        created = await call(service.create_api_key, principal, body.get("tenant") or principal.tenant_id, body.get("scopes") or [], body.get("name"))
        return ok(_key_json(created.record, created.secret))

    @router.get("/v1/keys")
    async def list_keys(request: Request):
        principal = await call(auth.principal, request)
        records = await call(service.list_api_keys, principal, request.query_params.get("tenant"))
        return ok({"object": "list", "data": [_key_json(r) for r in records], "has_more": False})

    @router.delete("/v1/keys/{key_id}")
    async def revoke_key(request: Request, key_id: str):
        principal = await call(auth.principal, request)
        await call(service.revoke_api_key, principal, key_id)
        return ok({"id": key_id, "object": "api_key.deleted", "deleted": True})

    @router.post("/v1/tenants/{tenant_id}")
    async def update_tenant(request: Request, tenant_id: str):
        principal = await call(auth.principal, request)
        body = await json_body(request)
        if "retention_seconds" in body:
            await call(service.set_tenant_retention, principal, tenant_id, body["retention_seconds"])
        return ok({"id": tenant_id, "object": "tenant", "retention_seconds": body.get("retention_seconds")})

    @router.delete("/v1/tenants/{tenant_id}/data-key")
    async def shred_tenant(request: Request, tenant_id: str):
        principal = await call(auth.principal, request)
        await call(service.destroy_tenant_data_key, principal, tenant_id)
        return ok({"id": tenant_id, "object": "tenant.data_key.deleted", "deleted": True})

    return router
