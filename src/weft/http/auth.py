"""API keys and api-version, checked on every request of the search API."""
from __future__ import annotations

import hmac
import re

from fastapi import Request

from weft.errors import Forbidden, InvalidInput, Unauthenticated

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
    def __init__(self, admin_keys: list[str], query_keys: list[str]):
        self.admin_keys = list(admin_keys)
        self.query_keys = list(query_keys)

    @staticmethod
    def _matches(key: str, keys: list[str]) -> bool:
        return any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)

    def check(self, request: Request, *, admin: bool) -> str:
        """Returns 'admin' or 'query'. Missing key: 401; wrong or insufficient key: 403."""
        key = request.headers.get("api-key")
        if key is None:
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                key = auth[7:].strip()
        if not key:
            raise Unauthenticated("Access denied: the request has no api-key header.", code="Unauthorized")
        if self._matches(key, self.admin_keys):
            return "admin"
        if self._matches(key, self.query_keys):
            if admin:
                raise Forbidden("Access denied: a query key can only search, suggest, autocomplete, look up and count documents.", code="Forbidden")
            return "query"
        raise Forbidden("Access denied: the api-key is not valid for this service.", code="Forbidden")
