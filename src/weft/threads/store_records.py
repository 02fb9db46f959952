"""The thread store's contract and its small shared parts: the :class:`ThreadStore` protocol the service
uses, the mapping of database rows to records, and how database errors surface (a retryable 503).
The SQL implementation is :class:`weft.threads.store.SqlThreadStore`."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol

from sqlalchemy.exc import InterfaceError, OperationalError

from weft.errors import Unavailable
from weft.threads.records import (
    ApiKeyRecord,
    AppendResult,
    AuditRecord,
    ConversationPage,
    ConversationRecord,
    ItemPage,
    ItemRecord,
    NewItem,
    TenantRecord,
)


class ThreadStore(Protocol):
    """What the threads service needs from storage. Every method is one committed transaction."""

    def ensure_tenant(self, tenant_id: str, now_ms: int) -> TenantRecord: ...
    def get_tenant(self, tenant_id: str) -> TenantRecord | None: ...
    def list_tenants(self) -> list[TenantRecord]: ...
    def set_tenant_retention(self, tenant_id: str, retention_seconds: int | None) -> None: ...
    def set_tenant_data_key(self, tenant_id: str, wrapped: bytes, master_key_id: str, *, only_if_absent: bool) -> bool: ...
    def destroy_tenant_data_key(self, tenant_id: str) -> None: ...
    def rewrap_data_keys(self, rewrapped: dict[str, tuple[bytes, str]]) -> None: ...

    def create_conversation(self, record: ConversationRecord, tags: dict[str, str], items: list[NewItem], idempotency_key: str | None = None, audit: AuditRecord | None = None) -> tuple[ConversationRecord, list[ItemRecord], bool]: ...
    def get_conversation(self, tenant_id: str, conversation_id: str) -> ConversationRecord: ...
    def update_conversation(self, tenant_id: str, conversation_id: str, now_ms: int, *, metadata_body: bytes | None = ..., tags: dict[str, str] | None = None, extra_body: bytes | None = ..., retention_seconds: int | None = ...) -> ConversationRecord: ...
    def delete_conversation(self, tenant_id: str, conversation_id: str) -> None: ...
    def list_conversations(self, tenant_id: str, *, limit: int, order: str, after: str | None, before: str | None, tags: dict[str, str], kind: str | None = None) -> ConversationPage: ...

    def append_items(self, tenant_id: str, conversation_id: str, items: list[NewItem], now_ms: int, *, idempotency_key: str | None = None, lock_token: str | None = None, audit: AuditRecord | None = None) -> AppendResult: ...
    def get_item(self, tenant_id: str, conversation_id: str, item_id: str) -> ItemRecord: ...
    def list_items(self, tenant_id: str, conversation_id: str, *, limit: int | None, order: str, after: str | None = None, before: str | None = None) -> ItemPage: ...
    def list_items_with_roles(self, tenant_id: str, conversation_id: str, roles: tuple[str, ...], *, before_seq: int) -> list[ItemRecord]: ...
    def update_item_body(self, tenant_id: str, conversation_id: str, item_id: str, body: bytes) -> ItemRecord: ...
    def delete_item(self, tenant_id: str, conversation_id: str, item_id: str) -> None: ...

    def try_lock(self, tenant_id: str, conversation_id: str, token: str, now_ms: int, until_ms: int) -> bool: ...
    def release_lock(self, conversation_id: str, token: str) -> None: ...

    def expired_conversations(self, now_ms: int, limit: int) -> list[tuple[str, str]]: ...
    def forget_idempotency_keys(self, older_than_ms: int) -> int: ...

    def insert_api_key(self, record: ApiKeyRecord) -> None: ...
    def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...
    def list_api_keys(self, tenant_id: str | None) -> list[ApiKeyRecord]: ...
    def revoke_api_key(self, key_id: str, now_ms: int, tenant_id: str | None = None) -> bool: ...

    def insert_audit(self, record: AuditRecord) -> None: ...
    def list_audit(self, *, tenant_id: str | None, since_ms: int | None, until_ms: int | None, limit: int, after_id: int | None = None) -> list[AuditRecord]: ...

    def close(self) -> None: ...


def _tenant(row) -> TenantRecord:
    return TenantRecord(row.id, row.created_at_ms, row.retention_seconds, row.wrapped_data_key, row.master_key_id, bool(row.data_key_destroyed))


def _conversation(row) -> ConversationRecord:
    return ConversationRecord(row.id, row.tenant_id, row.kind, row.created_at_ms, row.updated_at_ms, row.metadata_body,
                              row.extra_body, row.item_count, row.retention_seconds)


def _item(row) -> ItemRecord:
    return ItemRecord(row.conversation_id, row.seq, row.id, row.tenant_id, row.type, row.role, row.created_at_ms, bytes(row.body))


def _api_key(row) -> ApiKeyRecord:
    return ApiKeyRecord(row.id, row.tenant_id, row.secret_hash, tuple(s for s in row.scopes.split(",") if s), row.name, row.created_at_ms, row.revoked_at_ms)


@contextmanager
def _database_errors_as_unavailable() -> Iterator[None]:
    """A lost connection, a failover in progress or a busy database is a 503 the client can retry
    (with the same Idempotency-Key for appends); nothing was acknowledged."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise Unavailable(f"The thread database is unavailable ({type(exc.orig).__name__ if exc.orig else 'error'}); "
                          "retry the request (appends: with the same Idempotency-Key).", code="database_unavailable") from exc


class _Replayed(Exception):
    def __init__(self, items: list[ItemRecord]):
        super().__init__("replayed")
        self.items = items
