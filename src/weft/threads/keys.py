"""Tenant-scoped API keys. The secret is shown once at creation; only its SHA-256 is stored.

A key reads ``weft_<key id>_<secret>``: the id finds the row, the secret is compared in constant time
against the stored hash. Secrets are 256 random bits, so a fast hash is enough (no password stretching
needed).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from weft.errors import Forbidden, NotFound
from weft.threads.clock import Clock
from weft.threads.policy import Principal, parse_scopes, validate_tenant_id
from weft.threads.records import ApiKeyRecord

KEY_PREFIX = "weft_"


@dataclass(frozen=True)
class CreatedKey:
    record: ApiKeyRecord
    secret: str  # the full key; shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(presented: str) -> tuple[str, str] | None:
    if not presented.startswith(KEY_PREFIX):
        return None
    rest = presented[len(KEY_PREFIX):]
    key_id, sep, secret = rest.partition("_")
    if not sep or not key_id or not secret:
        return None
    return f"key_{key_id}", secret


class ApiKeys:
    def __init__(self, store, clock: Clock):
        self.store = store
        self.clock = clock

    def create(self, tenant_id: str, scopes, name: str | None = None) -> CreatedKey:
        validate_tenant_id(tenant_id)
        scope_tuple = parse_scopes(scopes)
        short_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self.clock.now_ms()
        self.store.ensure_tenant(tenant_id, now)
        record = ApiKeyRecord(f"key_{short_id}", tenant_id, _hash(secret), scope_tuple, name, now, None)
        self.store.insert_api_key(record)
        return CreatedKey(record, f"{KEY_PREFIX}{short_id}_{secret}")

    def list(self, tenant_id: str | None = None) -> list[ApiKeyRecord]:
        return self.store.list_api_keys(tenant_id)

    def revoke(self, key_id: str, tenant_id: str | None = None) -> None:
        if not self.store.revoke_api_key(key_id, self.clock.now_ms(), tenant_id):
            raise NotFound(f"No active API key with id '{key_id}'.")

    def authenticate(self, presented: str) -> Principal | None:
        """The principal of a tenant key, or None when the text is not a weft key at all.

        Raises Forbidden for a well-formed key that is unknown, revoked or wrong.
        """
        parts = split_key(presented)
        if parts is None:
            return None
        key_id, secret = parts
        record = self.store.get_api_key(key_id)
        if record is None or record.revoked_at_ms is not None or not hmac.compare_digest(record.secret_hash, _hash(secret)):
            raise Forbidden("The API key is not valid.", code="invalid_api_key")
        return Principal(record.tenant_id, frozenset(record.scopes), key_id=record.id)
