"""The thread store's tables (SQLAlchemy Core metadata), named with a configurable prefix.

Times are integer milliseconds since 1970 (UTC). Bodies (item content, metadata) are opaque bytes
produced by :mod:`weft.threads.codec`: plain JSON or AES-256-GCM ciphertext.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

ID = 64  # length of every id column
BLOB = LargeBinary(length=2**31 - 1)  # LONGBLOB on MariaDB, BYTEA/BLOB elsewhere


@dataclass
class ThreadTables:
    metadata: MetaData
    schema_version: Table
    tenants: Table
    conversations: Table
    conversation_tags: Table
    items: Table
    idempotency: Table
    api_keys: Table
    audit: Table


def build_tables(prefix: str = "weft_") -> ThreadTables:
    md = MetaData()
    p = prefix
    schema_version = Table(
        f"{p}threads_schema", md,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("applied_at_ms", BigInteger, nullable=False),
    )
    tenants = Table(
        f"{p}tenants", md,
        Column("id", String(ID), primary_key=True),
        Column("created_at_ms", BigInteger, nullable=False),
        Column("retention_seconds", BigInteger, nullable=True),
        Column("wrapped_data_key", LargeBinary(512), nullable=True),
        Column("master_key_id", String(32), nullable=True),
        Column("data_key_destroyed", Boolean, nullable=False, default=False),
    )
    conversations = Table(
        f"{p}conversations", md,
        Column("id", String(ID), primary_key=True),
        Column("tenant_id", String(ID), nullable=False),
        Column("kind", String(16), nullable=False),  # "conversation" or "thread": which API created it
        Column("created_at_ms", BigInteger, nullable=False),
        Column("updated_at_ms", BigInteger, nullable=False),
        Column("metadata_body", BLOB, nullable=True),
        Column("extra_body", BLOB, nullable=True),  # e.g. Foundry tool_resources
        Column("next_seq", BigInteger, nullable=False, default=0),
        Column("item_count", BigInteger, nullable=False, default=0),
        Column("retention_seconds", BigInteger, nullable=True),
        Column("lock_token", String(ID), nullable=True),
        Column("lock_until_ms", BigInteger, nullable=True),
        Index(f"{p}conversations_tenant_created", "tenant_id", "created_at_ms", "id"),
        Index(f"{p}conversations_tenant_updated", "tenant_id", "updated_at_ms"),
    )
    # One row per metadata pair, for equality filters on GET /v1/conversations. With encryption on,
    # ``value_match`` is an HMAC of the value under the tenant's data key (a blind index).
    conversation_tags = Table(
        f"{p}conversation_tags", md,
        Column("conversation_id", String(ID), nullable=False),
        Column("tenant_id", String(ID), nullable=False),
        Column("key", String(64), nullable=False),
        Column("value_match", String(128), nullable=False),
        PrimaryKeyConstraint("conversation_id", "key", name=f"{p}conversation_tags_pk"),
        Index(f"{p}conversation_tags_lookup", "tenant_id", "key", "value_match"),
    )
    items = Table(
        f"{p}items", md,
        Column("conversation_id", String(ID), nullable=False),
        Column("seq", BigInteger, nullable=False),
        Column("id", String(ID), nullable=False, unique=True),
        Column("tenant_id", String(ID), nullable=False),
        Column("type", String(48), nullable=False),
        Column("role", String(24), nullable=True),
        Column("created_at_ms", BigInteger, nullable=False),
        Column("body", BLOB, nullable=False),
        PrimaryKeyConstraint("conversation_id", "seq", name=f"{p}items_pk"),
    )
    idempotency = Table(
        f"{p}idempotency", md,
        Column("tenant_id", String(ID), nullable=False),
        Column("key", String(255), nullable=False),
        Column("conversation_id", String(ID), nullable=False),
        Column("item_ids", Text, nullable=False),  # JSON list
        Column("created_at_ms", BigInteger, nullable=False),
        PrimaryKeyConstraint("tenant_id", "key", name=f"{p}idempotency_pk"),
        Index(f"{p}idempotency_conversation", "conversation_id"),
    )
    api_keys = Table(
        f"{p}api_keys", md,
        Column("id", String(ID), primary_key=True),
        Column("tenant_id", String(ID), nullable=False),
        Column("secret_hash", String(128), nullable=False),
        Column("scopes", String(64), nullable=False),  # comma separated: read,write,admin
        Column("name", String(200), nullable=True),
        Column("created_at_ms", BigInteger, nullable=False),
        Column("revoked_at_ms", BigInteger, nullable=True),
    )
    audit = Table(
        f"{p}audit", md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("at_ms", BigInteger, nullable=False),
        Column("tenant_id", String(ID), nullable=True),
        Column("key_id", String(ID), nullable=True),
        Column("operation", String(64), nullable=False),
        Column("conversation_id", String(ID), nullable=True),
        Column("item_ids", Text, nullable=True),  # JSON list
        Column("outcome", String(32), nullable=False),
        Column("detail", String(300), nullable=True),  # error code, never content
        Column("request_id", String(ID), nullable=True),  # the x-request-id of the HTTP request (migration 2)
        Index(f"{p}audit_time", "at_ms"),
        Index(f"{p}audit_tenant_time", "tenant_id", "at_ms"),
    )
    return ThreadTables(md, schema_version, tenants, conversations, conversation_tags, items, idempotency, api_keys, audit)
