"""Who is calling the threads APIs: the server admin key, or a tenant-scoped key, from `api-key` or
`Authorization: Bearer`. The server admin key acts for the default tenant unless `weft-tenant` names one."""
from __future__ import annotations

import hmac

from fastapi import Request

from weft.errors import Forbidden, Unauthenticated
from weft.threads.policy import SCOPES, Principal, validate_tenant_id
from weft.threads.service import ThreadService

TENANT_HEADER = "weft-tenant"


def presented_key(request: Request) -> str | None:
    key = request.headers.get("api-key")
    if not key:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
    return key or None


class TenantAuth:
    def __init__(self, service: ThreadService, admin_keys: list[str], default_tenant: str, failures=None, tenant_limiter=None):
        self.service = service
        self.failures = failures  # FailedAuthLog: rejected keys are counted per source, not written one by one
        self.tenant_limiter = tenant_limiter  # weft.ratelimit.Limiter: requests a second per tenant
        self.admin_keys = list(admin_keys)
        self.default_tenant = default_tenant

    def principal(self, request: Request) -> Principal:
        key = presented_key(request)
        if key is None:
            raise Unauthenticated("You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or in the 'api-key' header.",
                                  code="missing_api_key")
        named = request.headers.get(TENANT_HEADER)
        if any(hmac.compare_digest(key.encode(), admin.encode()) for admin in self.admin_keys):
            tenant = validate_tenant_id(named) if named else self.default_tenant
            self._rate(tenant)
            return Principal(tenant, frozenset(SCOPES), key_id="server-admin", server_admin=True)
        try:
            principal = self.service.keys.authenticate(key)
        except Forbidden:  # well-formed but unknown, revoked or wrong
            principal = None
        if principal is None:
            source = request.client.host if request.client else None
            if self.failures is not None:
                self.failures.record(source)
            else:
                self.service.audit.record(None, "auth", "denied")
            raise Unauthenticated("Incorrect API key provided.", code="invalid_api_key")
        if named and named != principal.tenant_id:
            principal = principal.for_tenant(named)  # Forbidden for a tenant key
        self._rate(principal.tenant_id)
        return principal

    def _rate(self, tenant_id: str) -> None:
        if self.tenant_limiter is not None:
            wait = self.tenant_limiter.take(tenant_id)
            if wait > 0:
                from weft.errors import TooManyRequests

                raise TooManyRequests(f"Too many requests a second for tenant '{tenant_id}' (WEFT_TENANT_RATE); retry later.",
                                      retry_after=wait, code="rate_limit_exceeded")
