"""API keys and api-version, checked on every request of the search API."""
from __future__ import annotations

import hmac
import logging
import re

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from weft.errors import Forbidden, InvalidInput, Unauthenticated
from weft.identity import KEYS_ONLY, Identity
from weft.identity.roles import DEFINITIONS_READ, DOCUMENTS_READ, MANAGE

log = logging.getLogger("weft.auth")

STABLE_API_VERSIONS = ("2023-11-01", "2024-07-01", "2025-09-01", "2026-04-01")
_PREVIEW = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-preview$")


def check_api_version(request: Request) -> str:
    version = request.query_params.get("api-version")
    if version is None:
        raise InvalidInput("Invalid or missing api-version query string parameter. The api-version parameter is required on every request.")
    if version in STABLE_API_VERSIONS:
        return version
    m = _PREVIEW.match(version)
    if m and (int(m.group(1)), int(m.group(2))) >= (2023, 7):
        return version
    raise InvalidInput(
        f"Invalid or missing api-version query string parameter. '{version}' is not supported; use one of {', '.join(STABLE_API_VERSIONS)} or a preview of them."
    )


class KeyChecker:
    """api-keys (admin: everything; query: search, suggest, autocomplete, lookup, count) and, when configured,
    bearer tokens whose roles grant a permission (`weft.identity.roles`). As in Azure, an api-key wins over a
    bearer token when a request carries both."""

    def __init__(self, admin_keys: list[str], query_keys: list[str], identity: Identity | None = None):
        self.admin_keys = list(admin_keys)
        self.query_keys = list(query_keys)
        self.identity = identity or KEYS_ONLY

    @staticmethod
    def _matches(key: str, keys: list[str]) -> bool:
        return any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)

    @staticmethod
    def _bearer(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None

    async def authorize(self, request: Request, *, admin: bool, permission: str | None = None) -> str:
        """`check`, with a token's signing keys fetched off the event loop when they are not cached."""
        identity = self.identity
        if request.headers.get("api-key") is None and identity.tokens_enabled:
            token = self._bearer(request)
            if token and identity.is_token(token) and identity.validator.needs_fetch(token):
                await run_in_threadpool(self._token_permissions, token)
        return self.check(request, admin=admin, permission=permission)

    def _token_permissions(self, token: str) -> frozenset[str]:
        identity = self.identity
        try:
            claims = identity.validator.validate(token)
        except Unauthenticated as exc:
            log.warning("bearer token refused: %s", exc.message)
            raise
        return identity.mapping.search_permissions(claims)

    def check(self, request: Request, *, admin: bool, permission: str | None = None) -> str:
        """Returns 'admin', 'query' or 'token'. Missing credential: 401; wrong or insufficient one: 403; a bad
        token: 401. `permission` is what a token must grant (default: manage for admin routes, documents.read
        for the others)."""
        identity = self.identity
        key = request.headers.get("api-key")
        bearer = self._bearer(request) if key is None else None
        if bearer and identity.is_token(bearer):
            needed = permission or (MANAGE if admin else DOCUMENTS_READ)
            granted = self._token_permissions(bearer)
            if needed not in granted and not (needed == DEFINITIONS_READ and MANAGE in granted):
                raise Forbidden(f"Access denied: the token's roles do not grant '{needed}' for this operation.", code="Forbidden")
            return "token"
        key = key if key is not None else bearer
        if not key:
            raise Unauthenticated("Access denied: the request has no api-key header" + (" or bearer token." if identity.tokens_enabled else "."),
                                  code="Unauthorized")
        if not identity.keys_enabled:
            raise Unauthenticated("Access denied: api-key authentication is disabled on this service; send a bearer token.", code="Unauthorized")
        if self._matches(key, self.admin_keys):
            return "admin"
        if self._matches(key, self.query_keys):
            if admin:
                raise Forbidden("Access denied: a query key can only search, suggest, autocomplete, look up and count documents.", code="Forbidden")
            return "query"
        raise Forbidden("Access denied: the api-key is not valid for this service.", code="Forbidden")
