"""Plain records exchanged between the thread store and the service (no SQL, no HTTP)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TenantRecord:
    id: str
    created_at_ms: int
    retention_seconds: int | None
    wrapped_data_key: bytes | None
    master_key_id: str | None
    data_key_destroyed: bool


@dataclass(frozen=True)
class ConversationRecord:
    id: str
    tenant_id: str
    kind: str
    created_at_ms: int
    updated_at_ms: int
    metadata_body: bytes | None
    extra_body: bytes | None
    item_count: int
    retention_seconds: int | None


@dataclass(frozen=True)
class NewItem:
    id: str
    type: str
    role: str | None
    body: bytes
    created_at_ms: int | None = None  # set on import; otherwise the append's time


@dataclass(frozen=True)
class ItemRecord:
    conversation_id: str
    seq: int
    id: str
    tenant_id: str
    type: str
    role: str | None
    created_at_ms: int
    body: bytes


@dataclass(frozen=True)
class AppendResult:
    items: list[ItemRecord]
    replayed: bool  # True when the idempotency key had been used: nothing was written


@dataclass(frozen=True)
class ItemPage:
    items: list[ItemRecord]
    has_more: bool


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[ConversationRecord]
    has_more: bool


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    tenant_id: str
    secret_hash: str
    scopes: tuple[str, ...]
    name: str | None
    created_at_ms: int
    revoked_at_ms: int | None


@dataclass(frozen=True)
class AuditRecord:
    at_ms: int
    tenant_id: str | None
    key_id: str | None
    operation: str
    outcome: str
    conversation_id: str | None = None
    item_ids: list[str] = field(default_factory=list)
    detail: str | None = None
    id: int | None = None
    request_id: str | None = None  # the HTTP request it was written for (weft.observability), when there was one
