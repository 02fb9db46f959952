"""ThreadService: every operation on conversations and items, with access control, encryption, audit.

This is the one path: the HTTP routers, the CLI and the library facades all call it. It knows nothing
of HTTP; it returns :class:`Conversation` and :class:`Item` values and raises ``weft.errors``.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from weft import observability
from weft.errors import InvalidInput, NotFound
from weft.threads.audit import AuditTrail
from weft.threads.clock import Clock, SystemClock
from weft.threads.codec import BodyCodec
from weft.threads.crypto import Keyring
from weft.threads.items import MAX_ITEMS_PER_REQUEST, item_id_for, new_id, normalize_input_item, validate_metadata
from weft.threads.keys import ApiKeys
from weft.threads.policy import Principal, validate_retention, validate_tenant_id
from weft.threads.records import ConversationRecord, ItemPage, ItemRecord, NewItem
from weft.threads.store_records import ThreadStore

UNSET: Any = ...
IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000  # a retry with the same Idempotency-Key within a day is a no-op
_KIND_PREFIX = {"conversation": "conv", "thread": "thread", "binding": "bind",  # binding: internal (chat ids)
                "response": "resp", "assistant": "asst", "run": "run", "agent": "agent"}  # weft.agents state: internal kinds


@dataclass(frozen=True)
class Conversation:
    id: str
    tenant_id: str
    kind: str
    created_at: int  # unix seconds
    updated_at_ms: int
    metadata: dict[str, str]
    extra: dict[str, Any]
    item_count: int
    retention_seconds: int | None
    created_at_ms: int = 0


@dataclass(frozen=True)
class Item:
    id: str
    conversation_id: str
    seq: int
    type: str
    role: str | None
    created_at: int  # unix seconds
    body: dict[str, Any]
    created_at_ms: int = 0

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.body.get("metadata") or {})


@dataclass(frozen=True)
class Page:
    data: list
    has_more: bool

    @property
    def first_id(self) -> str | None:
        return self.data[0].id if self.data else None

    @property
    def last_id(self) -> str | None:
        return self.data[-1].id if self.data else None


@dataclass(frozen=True)
class PendingItem:
    """A validated item not stored yet (the conversation loop builds these)."""

    type: str
    role: str | None
    body: dict[str, Any]
    id: str = field(default="")
    created_at_ms: int | None = None


class ThreadService:
    def __init__(self, store: ThreadStore, *, master_key: bytes | None = None, encryption: bool = False,
                 clock: Clock | None = None, default_tenant: str = "default", audit_reads: bool = True,
                 buffer_read_audit: bool = True):
        self.store = store
        self.clock = clock or SystemClock()
        self.keyring = Keyring(store, master_key, encrypt_new_writes=encryption)
        self.codec = BodyCodec(self.keyring)
        self.audit = AuditTrail(store, self.clock, audit_reads=audit_reads, buffer_reads=buffer_read_audit)
        self.keys = ApiKeys(store, self.clock)
        self.default_tenant = default_tenant
        self._known_tenants: set[str] = set()
        self._tenants_lock = threading.Lock()
        # Derived data that follows the store (weft.threads.search_index.ConversationIndex), or None.
        self.index_hooks: Any = None
        # called with (tenant, conversation) after this process deleted a conversation or one of its items, and with
        # (tenant, None) after it shredded the tenant: caches of decoded content drop it (weft.agents.history_cache)
        self.forget_hooks: list[Callable[[str, str | None], None]] = []

    # ---- helpers ---------------------------------------------------------------------------------------
    def _forget(self, tenant_id: str, conversation_id: str | None) -> None:
        for hook in self.forget_hooks:
            hook(tenant_id, conversation_id)

    def _tenant(self, tenant_id: str) -> None:
        with self._tenants_lock:
            if tenant_id in self._known_tenants:
                return
        validate_tenant_id(tenant_id)
        self.store.ensure_tenant(tenant_id, self.clock.now_ms())
        with self._tenants_lock:
            self._known_tenants.add(tenant_id)

    def _conversation(self, record: ConversationRecord) -> Conversation:
        metadata = self.codec.decode(record.tenant_id, f"conversation:{record.id}:metadata", record.metadata_body) or {}
        extra = self.codec.decode(record.tenant_id, f"conversation:{record.id}:extra", record.extra_body) or {}
        return Conversation(record.id, record.tenant_id, record.kind, record.created_at_ms // 1000, record.updated_at_ms,
                            metadata, extra, record.item_count, record.retention_seconds, record.created_at_ms)

    def _item(self, record: ItemRecord) -> Item:
        body = self.codec.decode(record.tenant_id, f"item:{record.id}", record.body)
        return Item(record.id, record.conversation_id, record.seq, record.type, record.role, record.created_at_ms // 1000, body,
                    record.created_at_ms)

    def _items(self, records: list[ItemRecord]) -> list[Item]:
        """``_item`` of each (of one tenant), the bodies decoded together (weft.threads.codec.BodyCodec.decode_many)."""
        if len(records) < 2:
            return [self._item(r) for r in records]
        bodies = self.codec.decode_many(records[0].tenant_id, [r.body for r in records], lambda: [f"item:{r.id}" for r in records])
        return [Item(r.id, r.conversation_id, r.seq, r.type, r.role, r.created_at_ms // 1000, body, r.created_at_ms)
                for r, body in zip(records, bodies)]

    def _encode_items(self, tenant_id: str, pending: list[PendingItem]) -> list[NewItem]:
        out = []
        for p in pending:
            item_id = p.id or item_id_for(p.type)
            out.append(NewItem(item_id, p.type, p.role, self.codec.encode(tenant_id, f"item:{item_id}", p.body), p.created_at_ms))
        return out

    @staticmethod
    def validate_items(raw_items: Any, *, param: str = "items", limit: int = MAX_ITEMS_PER_REQUEST) -> list[PendingItem]:
        if raw_items is None:
            return []
        if not isinstance(raw_items, list):
            raise InvalidInput(f"'{param}' must be a list of items.")
        if len(raw_items) > limit:
            raise InvalidInput(f"At most {limit} items can be added in one request; got {len(raw_items)}.", code="too_many_items")
        pending = []
        for n, raw in enumerate(raw_items):
            item_type, role, body = normalize_input_item(raw, f"{param}[{n}]")
            pending.append(PendingItem(item_type, role, body))
        return pending

    # ---- conversations ----------------------------------------------------------------------------------
    def create_conversation(self, principal: Principal, *, metadata: Any = None, items: Any = None, kind: str = "conversation",
                            extra: dict | None = None, retention_seconds: int | None = None,
                            idempotency_key: str | None = None, pending: list[PendingItem] | None = None,
                            conversation_id: str | None = None) -> tuple[Conversation, list[Item]]:
        with self.audit.operation(principal, f"{kind}.create") as note:
            principal.require("write")
            clean_metadata = validate_metadata(metadata)
            to_store = pending if pending is not None else self.validate_items(items)
            retention = validate_retention(retention_seconds)
            self._tenant(principal.tenant_id)
            tenant = principal.tenant_id
            conversation_id = conversation_id or new_id(_KIND_PREFIX[kind])  # a given id: weft.agents names its records
            now = self.clock.now_ms()
            record = ConversationRecord(
                conversation_id, tenant, kind, now, now,
                self.codec.encode(tenant, f"conversation:{conversation_id}:metadata", clean_metadata),
                self.codec.encode(tenant, f"conversation:{conversation_id}:extra", extra) if extra else None,
                len(to_store), retention)
            encoded = self._encode_items(tenant, to_store)
            note.conversation_id = conversation_id
            note.item_ids = [i.id for i in encoded]
            audit = self.audit.build(principal, f"{kind}.create", "ok", note)
            intent = self._index_begin(tenant, conversation_id)
            try:
                created, stored, replayed = self.store.create_conversation(record, self.codec.tags(tenant, clean_metadata), encoded,
                                                                            idempotency_key, audit)
            except BaseException:
                self._index_abandon(intent)
                raise
            if not replayed:
                observability.items_appended(len(stored))
            decoded = [self._item(i) for i in stored]
            if intent is not None and created.id != conversation_id:
                self._index_abandon(intent)
                intent = self._index_begin(tenant, created.id)
            if intent is not None:
                self.index_hooks.after_append(intent, decoded)
            note.conversation_id = created.id
            note.item_ids = [i.id for i in stored]
            if replayed:
                note.detail = "idempotent_replay"
            else:
                note.stored_with_write = audit
            return self._conversation(created), decoded

    def import_conversation(self, principal: Principal, exported: dict, items: list[PendingItem]) -> Conversation:
        """Stores an exported conversation under its own id, with its items in their order and ids."""
        with self.audit.operation(principal, "conversation.import", exported.get("id")) as note:
            principal.require("write")
            self._tenant(principal.tenant_id)
            tenant, conversation_id = principal.tenant_id, exported["id"]
            metadata = validate_metadata(exported.get("metadata"))
            created_ms = int(exported.get("created_at_ms") or exported.get("created_at", 0) * 1000) or self.clock.now_ms()
            record = ConversationRecord(
                conversation_id, tenant, exported.get("kind") or "conversation", created_ms, self.clock.now_ms(),
                self.codec.encode(tenant, f"conversation:{conversation_id}:metadata", metadata),
                self.codec.encode(tenant, f"conversation:{conversation_id}:extra", exported["extra"]) if exported.get("extra") else None,
                len(items), validate_retention(exported.get("retention_seconds")))
            encoded = self._encode_items(tenant, items)
            note.item_ids = [i.id for i in encoded]
            intent = self._index_begin(tenant, conversation_id)
            try:
                created, stored, _ = self.store.create_conversation(record, self.codec.tags(tenant, metadata), encoded)
            except BaseException:
                self._index_abandon(intent)
                raise
            if intent is not None:
                self.index_hooks.after_append(intent, [self._item(i) for i in stored])
            return self._conversation(created)

    def get_conversation(self, principal: Principal, conversation_id: str) -> Conversation:
        with self.audit.operation(principal, "conversation.get", conversation_id, read=True):
            principal.require("read")
            return self._conversation(self.store.get_conversation(principal.tenant_id, conversation_id))

    def get_conversations(self, principal: Principal, conversation_ids: list[str]) -> dict[str, Conversation]:
        """``get_conversation`` of several at once (one query on the hot path), each found one audited as its read;
        the missing ones are left out (``get_conversation`` of one then gives its NotFound, audited)."""
        principal.require("read")
        found = self.store.get_conversations(principal.tenant_id, list(dict.fromkeys(conversation_ids)))
        out = {}
        for conversation_id, record in found.items():
            with self.audit.operation(principal, "conversation.get", conversation_id, read=True):
                out[conversation_id] = self._conversation(record)
        return out

    def get_conversations_and_list(self, principal: Principal, conversation_ids: list[str], *, kind: str, limit: int,
                                   order: str = "desc", metadata: dict[str, str] | None = None,
                                   stored: dict[str, bytes | None] | None = None) -> tuple[dict[str, Conversation], Page]:
        """``get_conversations(conversation_ids)`` and ``list_conversations(kind=kind, metadata=..., limit=...)``
        (no cursor) in one query on SQLite and PostgreSQL (weft.threads.turn_reads), audited as the two calls are.
        ``stored``: filled with each returned record's extra body as stored (SQLite and PostgreSQL)."""
        turns = getattr(self.store, "turns", None)
        if turns is None:
            return (self.get_conversations(principal, conversation_ids),
                    self.list_conversations(principal, limit=limit, order=order, metadata=metadata, kind=kind))
        principal.require("read")
        tenant = principal.tenant_id
        with self.audit.operation(principal, "conversation.list", read=True):
            self._tenant(tenant)
            tags = self.codec.filter_tags(tenant, validate_metadata(metadata, param="metadata filter")) if metadata else {}
            found, listed, more = turns.reads.records_and_kind(tenant, list(dict.fromkeys(conversation_ids)), kind, tags, limit,
                                                               order == "desc")
            if stored is not None:
                stored.update((r.id, r.extra_body) for r in [*found.values(), *listed])
            page = Page([self._conversation(r) for r in listed], more)
        out = {}
        for conversation_id, record in found.items():
            with self.audit.operation(principal, "conversation.get", conversation_id, read=True):
                out[conversation_id] = self._conversation(record)
        return out, page

    def update_conversation(self, principal: Principal, conversation_id: str, *, metadata: Any = UNSET, extra: Any = UNSET,
                            retention_seconds: Any = UNSET) -> Conversation:
        with self.audit.operation(principal, "conversation.update", conversation_id):
            principal.require("write")
            tenant = principal.tenant_id
            self.store.get_conversation(tenant, conversation_id)  # 404 before anything else
            kwargs: dict[str, Any] = {}
            if metadata is not UNSET:
                clean = validate_metadata(metadata)
                kwargs["metadata_body"] = self.codec.encode(tenant, f"conversation:{conversation_id}:metadata", clean)
                kwargs["tags"] = self.codec.tags(tenant, clean)
            if extra is not UNSET:
                kwargs["extra_body"] = self.codec.encode(tenant, f"conversation:{conversation_id}:extra", extra) if extra else None
            if retention_seconds is not UNSET:
                kwargs["retention_seconds"] = validate_retention(retention_seconds)
            record = self.store.update_conversation(tenant, conversation_id, self.clock.now_ms(), **kwargs)
            return self._conversation(record)

    def touch_conversation(self, tenant_id: str, conversation_id: str) -> bool:
        """A heartbeat of weft's own on a record (its ``updated_at`` set to now; not audited, as a lease's renewal)."""
        return self.store.touch_conversation(tenant_id, conversation_id, self.clock.now_ms())

    def update_conversation_if_unchanged(self, principal: Principal, conversation_id: str, updated_at_ms: int, *, extra: Any) -> bool:
        """``update_conversation(extra=...)`` only while the record has not been written since ``updated_at_ms``."""
        with self.audit.operation(principal, "conversation.update", conversation_id) as note:
            principal.require("write")
            tenant = principal.tenant_id
            body = self.codec.encode(tenant, f"conversation:{conversation_id}:extra", extra)
            swapped = self.store.touch_conversation(tenant, conversation_id, self.clock.now_ms(), extra_body=body,
                                                    expect_updated_at_ms=updated_at_ms)
            if not swapped:  # another writer got there first: nothing was written, and the audit trail says so
                note.outcome, note.detail = "conflict", "changed_since_read"
            return swapped

    def delete_conversation(self, principal: Principal, conversation_id: str) -> None:
        """Deletes the conversation with all its items (unlike OpenAI, whose items outlive it)."""
        with self.audit.operation(principal, "conversation.delete", conversation_id):
            principal.require("write")
            intent = self._index_begin(principal.tenant_id, conversation_id)
            try:
                self.store.delete_conversation(principal.tenant_id, conversation_id)
            except BaseException:
                self._index_abandon(intent)
                raise
            finally:
                self._forget(principal.tenant_id, conversation_id)
            if intent is not None:
                self.index_hooks.after_conversation_delete(intent)

    def list_conversations(self, principal: Principal, *, limit: int = 20, order: str = "desc", after: str | None = None,
                           before: str | None = None, metadata: dict[str, str] | None = None, kind: str | None = None) -> Page:
        with self.audit.operation(principal, "conversation.list", read=True):
            principal.require("read")
            tenant = principal.tenant_id
            self._tenant(tenant)
            tags = self.codec.filter_tags(tenant, validate_metadata(metadata, param="metadata filter")) if metadata else {}
            page = self.store.list_conversations(tenant, limit=limit, order=order, after=after, before=before, tags=tags, kind=kind)
            return Page([self._conversation(r) for r in page.conversations], page.has_more)

    # ---- items --------------------------------------------------------------------------------------------
    def append_items(self, principal: Principal, conversation_id: str, items: Any, *, idempotency_key: str | None = None,
                     pending: list[PendingItem] | None = None, lock_token: str | None = None, operation: str = "items.create") -> list[Item]:
        """Appends items atomically, in order, after every item already stored. A retried call with the
        same ``idempotency_key`` writes nothing and returns the items of the first call."""
        with self.audit.operation(principal, operation, conversation_id) as note:
            principal.require("write")
            to_store = pending if pending is not None else self.validate_items(items)
            if not to_store:
                raise InvalidInput("Give at least one item.", code="empty_items")
            tenant = principal.tenant_id
            encoded = self._encode_items(tenant, to_store)
            note.item_ids = [i.id for i in encoded]
            audit = self.audit.build(principal, operation, "ok", note)
            intent = self._index_begin(tenant, conversation_id)
            try:
                result = self.store.append_items(tenant, conversation_id, encoded, self.clock.now_ms(),
                                                 idempotency_key=idempotency_key, lock_token=lock_token, audit=audit)
            except BaseException:
                self._index_abandon(intent)
                raise
            note.item_ids = [i.id for i in result.items]
            if result.replayed:
                note.detail = "idempotent_replay"
            else:
                note.stored_with_write = audit
                observability.items_appended(len(result.items))
            decoded = [self._item(i) for i in result.items]
            if intent is not None:
                self.index_hooks.after_append(intent, decoded)
            return decoded

    def get_item(self, principal: Principal, conversation_id: str, item_id: str) -> Item:
        with self.audit.operation(principal, "item.get", conversation_id, read=True) as note:
            note.item_ids = [item_id]
            principal.require("read")
            return self._item(self.store.get_item(principal.tenant_id, conversation_id, item_id))

    def list_items(self, principal: Principal, conversation_id: str, *, limit: int | None = 20, order: str = "desc",
                   after: str | None = None, before: str | None = None) -> Page:
        with self.audit.operation(principal, "items.list", conversation_id, read=True):
            principal.require("read")
            page = self.store.list_items(principal.tenant_id, conversation_id, limit=limit, order=order, after=after, before=before)
            return Page(self._items(page.items), page.has_more)

    def history(self, principal: Principal, conversation_id: str) -> list[Item]:
        """Every item of the conversation, oldest first."""
        return list(self.list_items(principal, conversation_id, limit=None, order="asc").data)

    def recent_history(self, principal: Principal, conversation_id: str, token_budget: int, estimate, *, first_size: int = 100,
                       first_page: tuple[list[ItemRecord], bool] | None = None,
                       decode: Callable[[list[ItemRecord]], list[Item]] | None = None) -> list[Item]:
        """The newest items whose estimated size fits ``token_budget`` (plus one page of slack for the
        truncation to decide), and every older system/developer message: what a model call needs,
        without reading a long conversation whole. The first page holds ``first_size`` items (or is
        ``first_page``: the newest items, newest first, and whether there are more, already read under the
        conversation's lease, weft.threads.turns.Lease.page). ``decode``: turns the records read into items in
        place of ``_items`` (weft.agents.history_cache: the entries already decoded for the same stored bytes)."""
        decode = decode or self._items
        with self.audit.operation(principal, "items.history", conversation_id, read=True):
            principal.require("read")
            tenant = principal.tenant_id
            newest: list[Item] = []
            tokens, size, whole = 0, max(1, first_size), False
            while tokens <= token_budget:
                if newest:  # the next page by sequence number (no cursor to look up), sized for what is left
                    page = self.store.list_items_older(tenant, conversation_id, before_seq=newest[-1].seq, limit=size)
                elif first_page is not None:
                    page = ItemPage(*first_page)
                else:
                    page = self.store.list_items(tenant, conversation_id, limit=size, order="desc")
                decoded = decode(page.items)
                newest.extend(decoded)
                tokens += sum(estimate(i) for i in decoded)
                if not page.has_more or not decoded:
                    whole = not page.has_more
                    break
                per_item = max(1, tokens // len(newest))
                size = min(1000, max(100, (token_budget - tokens) // per_item + 20))
            newest.reverse()
            if not newest or whole:  # the whole conversation was read: no older system message to pin
                return newest
            pinned = decode(self.store.list_items_with_roles(tenant, conversation_id, ("system", "developer"), before_seq=newest[0].seq))
            return pinned + newest

    def update_item_metadata(self, principal: Principal, conversation_id: str, item_id: str, metadata: Any) -> Item:
        with self.audit.operation(principal, "item.update", conversation_id) as note:
            note.item_ids = [item_id]
            principal.require("write")
            tenant = principal.tenant_id
            current = self._item(self.store.get_item(tenant, conversation_id, item_id))
            body = dict(current.body)
            body["metadata"] = validate_metadata(metadata)
            record = self.store.update_item_body(tenant, conversation_id, item_id, self.codec.encode(tenant, f"item:{item_id}", body))
            return self._item(record)

    def delete_item(self, principal: Principal, conversation_id: str, item_id: str) -> Conversation:
        with self.audit.operation(principal, "item.delete", conversation_id) as note:
            note.item_ids = [item_id]
            principal.require("write")
            intent = self._index_begin(principal.tenant_id, conversation_id)
            try:
                self.store.delete_item(principal.tenant_id, conversation_id, item_id)
            except BaseException:
                self._index_abandon(intent)
                raise
            finally:
                self._forget(principal.tenant_id, conversation_id)
            if intent is not None:
                self.index_hooks.after_item_delete(intent, item_id)
            return self._conversation(self.store.get_conversation(principal.tenant_id, conversation_id))

    # ---- tenants, retention -----------------------------------------------------------------------------
    def set_tenant_retention(self, principal: Principal, tenant_id: str, retention_seconds: int | None) -> None:
        with self.audit.operation(principal, "tenant.retention") as note:
            note.detail = f"tenant={tenant_id}"
            principal.for_tenant(tenant_id).require("admin")
            self._tenant(tenant_id)
            self.store.set_tenant_retention(tenant_id, validate_retention(retention_seconds))

    def purge_expired(self, batch: int = 500) -> list[str]:
        """Deletes every conversation idle for longer than its retention, with all its items and derived rows,
        and forgets idempotency keys older than IDEMPOTENCY_WINDOW_MS."""
        self.store.forget_idempotency_keys(self.clock.now_ms() - IDEMPOTENCY_WINDOW_MS)
        index_batch = getattr(self.index_hooks, "batch", None)
        with index_batch() if index_batch is not None else contextlib.nullcontext():  # one index rewrite per pass
            return self._purge_expired(batch)

    def _purge_expired(self, batch: int) -> list[str]:
        purged: list[str] = []
        while True:
            expired = self.store.expired_conversations(self.clock.now_ms(), batch)
            if not expired:
                return purged
            for tenant_id, conversation_id in expired:
                system = Principal(tenant_id, frozenset({"admin"}), key_id="retention", server_admin=True)
                try:
                    with self.audit.operation(system, "retention.purge", conversation_id):
                        intent = self._index_begin(tenant_id, conversation_id)
                        try:
                            self.store.delete_conversation(tenant_id, conversation_id)
                        except BaseException:
                            self._index_abandon(intent)
                            raise
                        finally:
                            self._forget(tenant_id, conversation_id)
                        if intent is not None:
                            self.index_hooks.after_conversation_delete(intent)
                except Exception:
                    continue
                purged.append(conversation_id)
            if len(expired) < batch:
                return purged

    def destroy_tenant_data_key(self, principal: Principal, tenant_id: str) -> None:
        """Crypto-shredding: the tenant's encrypted content becomes unreadable for good."""
        with self.audit.operation(principal, "tenant.shred") as note:
            note.detail = f"tenant={tenant_id}"
            principal.for_tenant(tenant_id).require("admin")
            self.store.destroy_tenant_data_key(tenant_id)
            self.keyring.forget(tenant_id)
            self._forget(tenant_id, None)
            if self.index_hooks is not None:
                self.index_hooks.tenant_shredded(tenant_id)

    # ---- audit, keys ---------------------------------------------------------------------------------------
    def list_audit(self, principal: Principal, *, tenant_id: str | None = None, since_ms: int | None = None,
                   until_ms: int | None = None, limit: int = 100, after_id: int | None = None):
        principal.require("admin")
        if not principal.server_admin:
            tenant_id = principal.tenant_id  # a tenant admin sees its own tenant only
        return self.audit.list(tenant_id=tenant_id, since_ms=since_ms, until_ms=until_ms, limit=limit, after_id=after_id)

    def create_api_key(self, principal: Principal, tenant_id: str, scopes, name: str | None = None):
        with self.audit.operation(principal, "keys.create") as note:
            principal.for_tenant(tenant_id).require("admin")
            created = self.keys.create(tenant_id, scopes, name)
            note.detail = created.record.id
            return created

    def list_api_keys(self, principal: Principal, tenant_id: str | None = None):
        principal.require("admin")
        if not principal.server_admin:
            tenant_id = principal.tenant_id
        return self.keys.list(tenant_id)

    def revoke_api_key(self, principal: Principal, key_id: str) -> None:
        with self.audit.operation(principal, "keys.revoke") as note:
            note.detail = key_id
            principal.require("admin")
            self.keys.revoke(key_id, None if principal.server_admin else principal.tenant_id)

    # ---- derived indexes (conversation search) --------------------------------------------------------------
    def _index_begin(self, tenant_id: str, conversation_id: str):
        return self.index_hooks.begin(tenant_id, conversation_id) if self.index_hooks is not None else None

    def _index_abandon(self, intent) -> None:
        if intent is not None:
            self.index_hooks.abandon(intent)

    def stored_items(self, tenant_id: str, conversation_id: str) -> list[Item]:
        """Every item of a conversation, oldest first, for system jobs (no principal, no audit); NotFound if gone."""
        return [self._item(r) for r in self.store.list_items(tenant_id, conversation_id, limit=None, order="asc").items]

    def stored_item(self, tenant_id: str, conversation_id: str, item_id: str) -> Item | None:
        """One item for system jobs (no principal, no audit); None if gone."""
        try:
            return self._item(self.store.get_item(tenant_id, conversation_id, item_id))
        except NotFound:
            return None

    def conversation_ids(self, tenant_id: str):
        """Ids of every conversation of a tenant, oldest first, page by page (system jobs)."""
        after = None
        while True:
            page = self.store.list_conversations(tenant_id, limit=100, order="asc", after=after, before=None, tags={})
            for record in page.conversations:
                yield record.id
            if not page.has_more or not page.conversations:
                return
            after = page.conversations[-1].id

    def close(self) -> None:
        self.store.close()
