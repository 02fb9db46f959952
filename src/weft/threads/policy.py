"""Access control: who is calling (a Principal) and what each scope allows; retention settings rules."""
from __future__ import annotations

from dataclasses import dataclass

from weft.errors import Forbidden, InvalidInput

SCOPES = ("read", "write", "admin")


@dataclass(frozen=True)
class Principal:
    """The caller of a threads operation, resolved from an API key (or given by library code)."""

    tenant_id: str
    scopes: frozenset[str]
    key_id: str | None = None
    server_admin: bool = False  # the server's admin key: every tenant, every operation

    def allows(self, scope: str) -> bool:
        if self.server_admin or "admin" in self.scopes:
            return True
        if scope == "read":
            return "read" in self.scopes or "write" in self.scopes
        return scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.allows(scope):
            raise Forbidden(f"This API key lacks the '{scope}' permission.", code="insufficient_permissions")

    def for_tenant(self, tenant_id: str) -> "Principal":
        """Only the server admin may act for another tenant than its key's."""
        if tenant_id == self.tenant_id:
            return self
        if not self.server_admin:
            raise Forbidden("Only the server admin key can act for another tenant.", code="insufficient_permissions")
        return Principal(tenant_id, self.scopes, self.key_id, True)

    @classmethod
    def library(cls, tenant_id: str) -> "Principal":
        """Code using weft.threads as a library is trusted with its tenant."""
        return cls(tenant_id, frozenset(SCOPES), key_id="library")


def parse_scopes(text: str | list[str]) -> tuple[str, ...]:
    parts = text.split(",") if isinstance(text, str) else list(text)
    scopes = tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
    if not scopes:
        raise InvalidInput(f"Give at least one scope of {', '.join(SCOPES)}.")
    for scope in scopes:
        if scope not in SCOPES:
            raise InvalidInput(f"Unknown scope '{scope}'; use {', '.join(SCOPES)}.")
    return scopes


def validate_tenant_id(tenant_id: str) -> str:
    if not isinstance(tenant_id, str) or not 1 <= len(tenant_id) <= 64 or not all(ch.isalnum() or ch in "-_." for ch in tenant_id):
        raise InvalidInput("A tenant id is 1 to 64 letters, digits, '-', '_' or '.'.", code="invalid_tenant")
    return tenant_id


def validate_retention(seconds) -> int | None:
    """``None`` inherits (the tenant default, or keep forever); 0 keeps forever; > 0 expires after idle seconds."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise InvalidInput("retention_seconds must be a non-negative integer or null.", code="invalid_value")
    if seconds > MAX_RETENTION_SECONDS:  # beyond this the expiry time overflows the stores' 64-bit integers
        raise InvalidInput(f"retention_seconds must be at most {MAX_RETENTION_SECONDS} (1,000 years; 0 keeps forever).", code="invalid_value")
    return seconds


MAX_RETENTION_SECONDS = 1000 * 366 * 86400
