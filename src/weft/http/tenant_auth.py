"""Who is calling the threads APIs: the server admin key, or a tenant-scoped key, from `api-key` or
`Authorization: Bearer`. The server admin key acts for the default tenant unless `weft-tenant` names one."""
from __future__ import annotations

import hmac
import logging

from fastapi import Request

from weft.errors import Forbidden, InvalidInput, Unauthenticated
from weft.identity import KEYS_ONLY, Identity
from weft.threads.policy import SCOPES, Principal, validate_tenant_id
from weft.threads.service import ThreadService

TENANT_HEADER = "weft-tenant"
log = logging.getLogger("weft.auth")


def presented_key(request: Request) -> str | None:
    key = request.headers.get("api-key")
    if not key:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
    return key or None


class TenantAuth:
    def __init__(self, service: ThreadService, admin_keys: list[str], default_tenant: str, identity: Identity | None = None,
                 failures=None, tenant_limiter=None):
        self.service = service
        self.failures = failures  # FailedAuthLog: rejected keys are counted per source, not written one by one
        self.tenant_limiter = tenant_limiter  # weft.ratelimit.Limiter: requests a second per tenant
        self.admin_keys = list(admin_keys)
        self.default_tenant = default_tenant
        self.identity = identity or KEYS_ONLY

    def _token_principal(self, token: str, named: str | None, source: str | None = None) -> Principal:
        """A bearer token: its tenant claim names the tenant, its roles the scopes; it never reaches another
        tenant. The audit records `<issuer label>:<subject>` as the key id."""
        try:
            claims = self.identity.validator.validate(token)
        except Unauthenticated as exc:
            log.warning("bearer token refused: %s", exc.message)
            if self.failures is not None:
                self.failures.record(source)  # counted per source, as rejected keys are
            raise Unauthenticated(exc.message, code="invalid_token")
        tenant, scopes = self.identity.mapping.thread_grant(claims)
        try:
            tenant = validate_tenant_id(tenant)
        except InvalidInput:
            raise Forbidden("The token's tenant claim is not a valid tenant id.", code="insufficient_permissions")
        principal = Principal(tenant, scopes, key_id=claims.audit_id)
        if named and named != tenant:
            return principal.for_tenant(named)  # Forbidden: a token acts for its own tenant only
        self._rate(tenant)
        return principal

    def principal(self, request: Request) -> Principal:
        key = presented_key(request)
        if key is None:
            raise Unauthenticated("You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or in the 'api-key' header.",
                                  code="missing_api_key")
        named = request.headers.get(TENANT_HEADER)
        if request.headers.get("api-key") is None and self.identity.is_token(key):
            return self._token_principal(key, named, request.client.host if request.client else None)
        if not self.identity.keys_enabled:
            raise Unauthenticated("API keys are disabled on this service; send a bearer token.", code="invalid_api_key")
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
