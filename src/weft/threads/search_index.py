"""Search over past conversations: each opted-in tenant's conversation items in a search index it owns.

Every write goes through ``SearchService.apply_batch`` (the one write path into an index). The index of a
tenant is ``conversations-<slug>-<hash>`` (the hash of the exact tenant id keeps two tenants apart even
when their slugs agree); it is chosen from the caller's tenant, never from a request.

Fields: ``id`` (item id, key), ``conversation_id`` and ``role``/``type`` (filterable), ``text``
(searchable), ``created_at`` and ``seq`` (sortable), and, when embeddings are configured, ``vector``
with the tenant's vectorizer in its profile, so ``vectorQueries`` of kind ``text`` work on it.

Crash safety: an intent journal. Before the thread store commits a write of an opted-in tenant (append,
item delete, conversation delete, retention purge), a row ``(tenant, conversation)`` is written durably to
a small SQLite file next to the store (``<data-dir>/threads/conversation-search.sqlite3``); after the index
has followed, the row is removed. A row left behind (the process died between the store commit and the
index write, or the index write failed, e.g. the embeddings endpoint was down) is reconciled by
re-synchronising that conversation from the store: every stored item is uploaded, index documents whose
item is gone are deleted (all of them when the conversation is gone). Rows of an earlier process are
reconciled on start; failed rows and tenant backfills by a background job every
``WEFT_CONVERSATION_SEARCH_INTERVAL`` seconds. Index operations on one conversation are serialized in the
process, so a re-sync never races an append's indexing.

Cluster mode hands in a shared journal (``weft.cluster.conversation_journal``: the tenants and rows in PostgreSQL)
and the node's leases: the node that took a write still follows it itself, but only the holder of the
``conversation-search`` lease runs the reconcile passes, and another node takes them over when it dies. An index
with ``text`` index-only is created ``sealed_for`` its tenant: the cluster's documents of record keep that text (and
the vectors) sealed with the tenant's data key (``weft.cluster.sealing``), and every node compacts its own copy.
"""
from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from weft.errors import InvalidInput, NotFound
from weft.threads.items import message_text
from weft.threads.policy import validate_tenant_id
from weft.threads.search_journal import ALL_CONVERSATIONS, COMPACT, TenantConfig, _Journal
from weft.threads.search_settings import ConversationSearchSettings, check_vectorizer, index_name_for  # noqa: F401 (re-exported)

log = logging.getLogger("weft.threads.search")

VECTOR_FIELD = "vector"
PROFILE = "conversation-vectors"
VECTORIZER = "tenant-embeddings"
SELECT = "id,conversation_id,role,type,text,created_at,seq"
MAX_EMBED_CHARS = 8000
BATCH = 500


def item_text(item: Any) -> str:
    """The searchable text of an item: a message's text, a function call's name and arguments, a tool output."""
    body = item.body or {}
    if item.type == "message":
        return message_text(body)
    if item.type == "function_call":
        return f"{body.get('name', '')} {body.get('arguments', '')}".strip()
    if item.type == "function_call_output":
        output = body.get("output")
        return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    return ""


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class _Intent:
    row_id: int
    tenant_id: str
    conversation_id: str
    ok: bool = field(default=True)


class ConversationIndex:
    """Keeps opted-in tenants' conversation items in their search indexes; answers conversation searches."""

    LEASE = "conversation-search"

    def __init__(self, search: Any, threads: Any, journal_path: Path, settings: ConversationSearchSettings | None = None,
                 *, refuse: str | None = None, journal: Any = None, leases: Any = None):
        self.search = search
        self.refuse = refuse  # why no tenant may opt in on this server (a 400 with this message), or None
        self.threads = threads
        self.settings = settings or ConversationSearchSettings()
        self.journal = journal if journal is not None else _Journal(Path(journal_path), getattr(search, "secrets", None))
        self.shared = bool(getattr(self.journal, "shared", False))  # other nodes change the tenants too
        self.leases = leases  # cluster mode: reconcile passes only while this node holds LEASE
        self.generation = uuid.uuid4().hex
        self._tenants = self.journal.tenants()
        for config in self._tenants.values():  # indexes created before the internal flag existed
            if config.index_name in self.search.index_names() and not self.search.is_internal(config.index_name):
                self.search.mark_internal(config.index_name)
        self._tenants_lock = threading.Lock()
        self._locks = [threading.Lock() for _ in range(64)]
        self._wake = threading.Event()
        self._reconciled_once = False
        self._batch = threading.local()  # .deferred: tenants to rewrite at the end of this thread's batch()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        for tenant_id in self.settings.tenants:
            if tenant_id not in self._tenants:
                self.enable(tenant_id)

    # ---- opt-in ----------------------------------------------------------------------------------------
    def _current(self, tenant_id: str) -> TenantConfig | None:
        """The tenant's configuration; read from a shared journal (another node may have opted it in or out)."""
        if not self.shared:
            return self._tenants.get(tenant_id)
        config = self.journal.tenant(tenant_id)
        if config != self._tenants.get(tenant_id):
            tenants = {k: v for k, v in self._tenants.items() if k != tenant_id}
            self._tenants = tenants if config is None else {**tenants, tenant_id: config}
        return config

    def config(self, tenant_id: str) -> TenantConfig | None:
        return self._current(tenant_id)

    def enabled(self, tenant_id: str) -> bool:
        return self._current(tenant_id) is not None

    def enable(self, tenant_id: str, vectorizer: dict[str, Any] | None = None, dimensions: int | None = None) -> TenantConfig:
        """Opts a tenant in: creates its index and queues a backfill of its existing conversations."""
        validate_tenant_id(tenant_id)
        with self._tenants_lock:
            existing = self._current(tenant_id)
            if existing is not None:
                return existing
            if self.refuse is not None:
                raise InvalidInput(self.refuse)
            if vectorizer is not None:  # a tenant admin's choice: only endpoints the operator allows
                from weft.search.endpoints import check_vectorizer_endpoints

                check_vectorizer_endpoints(check_vectorizer(vectorizer), "embeddings")
            vectorizer = vectorizer if vectorizer is not None else self.settings.embeddings
            if vectorizer is not None:
                vectorizer = {**vectorizer, "name": VECTORIZER}
                from weft.search.vectorizers import embed, known_dimensions

                # a local model's dimensions are known without loading it; its packages are checked here, at opt-in
                known = known_dimensions(vectorizer)
                if dimensions is None:
                    dimensions = self.settings.dimensions if self.settings.embeddings is not None else None
                if dimensions is None:
                    dimensions = known or len(embed(vectorizer, "dimension probe"))
            config = TenantConfig(tenant_id, index_name_for(tenant_id), vectorizer, dimensions if vectorizer else None)
            if config.index_name in self.search.index_names():
                if self.shared and (other := self._opted_in_elsewhere(tenant_id)) is not None:
                    return other
                # left by an earlier opt-in whose journal is gone: derived data, rebuilt from the store below
                self.search.delete_index(config.index_name)
            store_text = self.settings.store_text
            if store_text is None:  # the default: no item text in the index files when the store is encrypted
                store_text = not getattr(getattr(self.threads, "keyring", None), "encrypt_new_writes", False)
            try:
                # sealed_for: in cluster mode the documents of record keep the index-only text sealed with the
                # tenant's data key (weft.cluster.sealing); embedded mode has no documents of record to seal
                self.search.create_index(self._definition(config), internal=True, index_only=() if store_text else ("text",),
                                         sealed_for=None if store_text else tenant_id)
            except InvalidInput as exc:
                if not self.shared or exc.code != "ResourceNameAlreadyInUse" or (other := self._opted_in_elsewhere(tenant_id)) is None:
                    raise
                return other
            self.journal.put_tenant(config)
            self.journal.add(tenant_id, ALL_CONVERSATIONS, self.generation)
            self._tenants = {**self._tenants, tenant_id: config}
        if config.vectorizer is not None:
            from weft.search.vectorizers import warm_up

            warm_up(config.vectorizer)  # a local model starts loading now rather than in the first append
        self._wake.set()
        return config

    def _opted_in_elsewhere(self, tenant_id: str, timeout: float = 10.0) -> TenantConfig | None:
        """Another node opting the same tenant in at this moment: its configuration, once its row is committed."""
        wait_until(lambda: self.journal.tenant(tenant_id) is not None, timeout)
        return self._current(tenant_id)

    def reindex(self, tenant_id: str) -> None:
        """Queues a full re-synchronisation of the tenant's conversations (e.g. after writes by another process)."""
        if self._current(tenant_id) is None:
            raise InvalidInput("Conversation search is not enabled for this tenant.", code="conversation_search_disabled")
        self.journal.add(tenant_id, ALL_CONVERSATIONS, self.generation)
        self._wake.set()

    def disable(self, tenant_id: str) -> bool:
        """Opts a tenant out and deletes its index (derived data only; the conversations stay)."""
        with self._tenants_lock:
            config = self._current(tenant_id)
            if config is None:
                return False
            self._tenants = {k: v for k, v in self._tenants.items() if k != tenant_id}
            self.journal.delete_tenant(tenant_id)
            try:
                self.search.delete_index(config.index_name)
            except NotFound:
                pass
            return True

    @staticmethod
    def _definition(config: TenantConfig) -> dict[str, Any]:
        fields: list[dict[str, Any]] = [
            {"name": "id", "type": "Edm.String", "key": True, "searchable": False, "filterable": True, "sortable": True},
            {"name": "conversation_id", "type": "Edm.String", "searchable": False, "filterable": True, "facetable": True},
            {"name": "role", "type": "Edm.String", "searchable": False, "filterable": True, "facetable": True},
            {"name": "type", "type": "Edm.String", "searchable": False, "filterable": True, "facetable": True},
            {"name": "text", "type": "Edm.String", "searchable": True, "filterable": False, "sortable": False, "facetable": False},
            {"name": "created_at", "type": "Edm.DateTimeOffset", "filterable": True, "sortable": True},
            {"name": "seq", "type": "Edm.Int64", "filterable": True, "sortable": True},
        ]
        body: dict[str, Any] = {"name": config.index_name, "fields": fields}
        if config.vectorizer is not None:
            fields.append({"name": VECTOR_FIELD, "type": "Collection(Edm.Single)", "searchable": True, "retrievable": False,
                           "dimensions": config.dimensions, "vectorSearchProfile": PROFILE})
            body["vectorSearch"] = {
                "algorithms": [{"name": "hnsw", "kind": "hnsw", "hnswParameters": {"metric": "cosine"}}],
                "profiles": [{"name": PROFILE, "algorithm": "hnsw", "vectorizer": VECTORIZER}],
                "vectorizers": [config.vectorizer],
            }
        return body

    # ---- hooks called by ThreadService -----------------------------------------------------------------
    def begin(self, tenant_id: str, conversation_id: str) -> _Intent | None:
        """Before the store commits a write: the durable intent row (None for a tenant not opted in)."""
        if self._current(tenant_id) is None:
            return None
        return _Intent(self.journal.add(tenant_id, conversation_id, self.generation), tenant_id, conversation_id)

    def after_append(self, intent: _Intent | None, items: list) -> None:
        if intent is None:
            return

        def work(config: TenantConfig) -> None:
            # A conversation deleted after this append committed (its delete's index work waits for this lock)
            # must not get its items back into the index.
            try:
                self.threads.store.get_conversation(intent.tenant_id, intent.conversation_id)
            except NotFound:
                self._delete_conversation_docs(config, intent.conversation_id)
                return
            self._upload(config, items)

        self._finish(intent, work)

    def after_item_delete(self, intent: _Intent | None, item_id: str) -> None:
        if intent is None:
            return
        self._finish(intent, lambda config: self._delete_keys(config, [item_id]) and self._compact(config))

    def after_conversation_delete(self, intent: _Intent | None) -> None:
        if intent is None:
            return
        self._finish(intent, lambda config: self._delete_conversation_docs(config, intent.conversation_id) and self._compact(config))

    @contextlib.contextmanager
    def batch(self):
        """Deletes inside, on this thread (a retention purge pass), rewrite each touched index once, at the end."""
        if getattr(self._batch, "deferred", None) is not None:
            yield
            return
        self._batch.deferred = {}
        try:
            yield
        finally:
            deferred, self._batch.deferred = self._batch.deferred, None
            for config in deferred.values():
                try:
                    self._rewrite(config)
                except Exception:
                    log.warning("rewriting the conversation index of tenant %s failed; retrying later", config.tenant_id, exc_info=True)
                    self.journal.add(config.tenant_id, COMPACT, self.generation)

    def _compact(self, config: TenantConfig) -> None:
        """After a delete: the tenant's index is rewritten so the deleted items leave its files (tantivy keeps
        deleted documents in their segments until a merge). With the background worker running, a durable
        ``#compact`` journal row asks it to (at once; deletes made meanwhile share one rewrite, and a crash before
        it is caught up after the restart); the delete does not wait for a pass over the tenant's whole index.
        Without a worker (library use), and at the end of a batch(), the rewrite happens here."""
        deferred = getattr(self._batch, "deferred", None)
        if deferred is not None:
            deferred[config.tenant_id] = config
            return
        if self._worker is not None and self._worker.is_alive() and threading.current_thread() is not self._worker:
            self.journal.add(config.tenant_id, COMPACT, self.generation)
            self._wake.set()
            return
        self._rewrite(config)

    def _rewrite(self, config: TenantConfig) -> None:
        """Text the index does not store is read back from the store."""
        definition = self.search.definition(config.index_name)

        def fill(sources: list[dict]) -> list[dict]:
            if "text" not in definition.index_only:
                return sources
            out = []
            by_conversation: dict[str, list[dict]] = {}
            for source in sources:
                by_conversation.setdefault(source["conversation_id"], []).append(source)
            for conversation_id, group in by_conversation.items():
                try:
                    items = {i.id: i for i in self.threads.stored_items(config.tenant_id, conversation_id)}
                except NotFound:
                    continue
                out.extend({**s, "text": item_text(items[s["id"]])} for s in group if s["id"] in items)
            return out

        self.search.compact(config.index_name, fill)

    def abandon(self, intent: _Intent | None) -> None:
        """The store write failed (nothing committed): nothing to follow."""
        if intent is not None:
            self.journal.done(intent.row_id)

    def tenant_shredded(self, tenant_id: str) -> None:
        """Crypto-shredding makes the content unreadable; its plaintext in the index goes too."""
        self.disable(tenant_id)

    def _drop_if_shredded(self, tenant_id: str) -> bool:
        """A shred made where this index's hook did not run (the CLI, another node, a stopped server) reaches the
        index here: at each reconcile pass and before a search, so the index's plaintext terms go too."""
        tenant = self.threads.store.get_tenant(tenant_id) if hasattr(self.threads, "store") else None
        if tenant is None or not tenant.data_key_destroyed:
            return False
        log.info("tenant %s was crypto-shredded: its conversation index is deleted", tenant_id)
        self.disable(tenant_id)
        return True

    def _finish(self, intent: _Intent, work) -> None:
        config = self._tenants.get(intent.tenant_id)
        if config is None:
            self.journal.done(intent.row_id)
            return
        try:
            with self._conversation_lock(intent.tenant_id, intent.conversation_id):
                work(config)
        except Exception:
            log.warning("conversation index of tenant %s did not follow a write on %s; it will be reconciled",
                        intent.tenant_id, intent.conversation_id, exc_info=True)
            self.journal.fail(intent.row_id)
            self._wake.set()
            return
        self.journal.done(intent.row_id)

    def _conversation_lock(self, tenant_id: str, conversation_id: str) -> threading.Lock:
        return self._locks[hash((tenant_id, conversation_id)) % len(self._locks)]

    # ---- index writes (all through SearchService.apply_batch) ----------------------------------------------
    def _documents(self, config: TenantConfig, items: list) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        for item in items:
            docs.append({"@search.action": "mergeOrUpload", "id": item.id, "conversation_id": item.conversation_id,
                         "role": item.role, "type": item.type, "text": item_text(item), "created_at": _iso(item.created_at_ms),
                         "seq": item.seq})
        if config.vectorizer is not None:
            from weft.search.vectorizers import embed_many

            with_text = [doc for doc in docs if doc["text"].strip()]
            # one call for the whole batch: a local model embeds it in one pass
            vectors = embed_many(config.vectorizer, [doc["text"][:MAX_EMBED_CHARS] for doc in with_text])
            for doc, vector in zip(with_text, vectors):
                doc[VECTOR_FIELD] = vector
        return docs

    def _upload(self, config: TenantConfig, items: list) -> None:
        for start in range(0, len(items), BATCH):
            self._apply(config, self._documents(config, items[start:start + BATCH]))

    def _apply(self, config: TenantConfig, docs: list[dict]) -> None:
        if not docs:
            return
        results = self.search.apply_batch(config.index_name, {"value": docs})
        failed = [r for r in results if not r.status]
        if failed:
            raise RuntimeError(f"{len(failed)} conversation index writes failed: {failed[0].error_message}")

    def _delete_keys(self, config: TenantConfig, keys: Iterable[str]) -> int:
        keys = list(keys)
        for start in range(0, len(keys), BATCH):
            self._apply(config, [{"@search.action": "delete", "id": k} for k in keys[start:start + BATCH]])
        return len(keys)

    def _indexed_ids(self, config: TenantConfig, conversation_id: str) -> list[str]:
        found: list[str] = []
        flt = f"conversation_id eq {_quote(conversation_id)}"
        while True:
            page = self.search.search(config.index_name, {"search": "*", "filter": flt, "select": "id", "top": 1000,
                                                          "skip": len(found), "orderby": "id"})
            ids = [d["id"] for d in page["value"]]
            found.extend(ids)
            if len(ids) < 1000 or len(found) >= 100_000:
                return found

    def _delete_conversation_docs(self, config: TenantConfig, conversation_id: str) -> int:
        deleted = 0
        while True:
            ids = self._indexed_ids(config, conversation_id)
            if not ids:
                return deleted
            deleted += self._delete_keys(config, ids)

    def resync_conversation(self, tenant_id: str, conversation_id: str) -> None:
        """Makes the index agree with the store for one conversation."""
        config = self._tenants.get(tenant_id)
        if config is None:
            return
        with self._conversation_lock(tenant_id, conversation_id):
            try:
                items = self.threads.stored_items(tenant_id, conversation_id)
            except NotFound:
                if self._delete_conversation_docs(config, conversation_id):
                    self._compact(config)
                return
            self._upload(config, items)
            stored = {i.id for i in items}
            if self._delete_keys(config, [k for k in self._indexed_ids(config, conversation_id) if k not in stored]):
                self._compact(config)

    def resync_tenant(self, tenant_id: str) -> None:
        for conversation_id in self.threads.conversation_ids(tenant_id):
            if self._stop.is_set():
                raise RuntimeError("stopping")
            self.resync_conversation(tenant_id, conversation_id)

    # ---- reconciliation ------------------------------------------------------------------------------------
    def reconcile(self) -> int:
        """One pass over the journal rows no in-flight write owns; returns how many were settled.

        The first pass of a process also rewrites the index of every tenant with a row left by an earlier process
        (a crash between a delete and the rewrite that follows it would otherwise leave deleted items in the
        index files); rewrites of a pass happen once per tenant, at its end."""
        settled = 0
        done_keys: set[tuple[str, str]] = set()
        first, self._reconciled_once = not self._reconciled_once, True
        if self.shared:
            self._tenants = self.journal.tenants()  # opted in or out on other nodes too
        for tenant_id in list(self._tenants):
            self._drop_if_shredded(tenant_id)
        rewrites: list[int] = []  # settled when the batch's rewrites are done
        with self.batch():
            if first:  # indexes an earlier weft's analysis wrote: rewritten with their text read back from the store
                for config in list(self._tenants.values()):
                    if self.search.needs_reanalysis(config.index_name):
                        self._compact(config)
            for row_id, tenant_id, conversation_id in self.journal.to_reconcile(self.generation):
                if conversation_id == COMPACT:
                    if tenant_id in self._tenants:
                        self._compact(self._tenants[tenant_id])
                    rewrites.append(row_id)
                    continue
                if self._stop.is_set():
                    break
                if (tenant_id, conversation_id) in done_keys:
                    self.journal.done(row_id)
                    settled += 1
                    continue
                try:
                    if conversation_id == ALL_CONVERSATIONS:
                        self.resync_tenant(tenant_id)
                    else:
                        self.resync_conversation(tenant_id, conversation_id)
                        if first and tenant_id in self._tenants:
                            self._compact(self._tenants[tenant_id])
                except Exception:
                    log.warning("reconciling the conversation index of tenant %s (%s) failed; retrying later", tenant_id,
                                conversation_id, exc_info=True)
                    continue
                done_keys.add((tenant_id, conversation_id))
                self.journal.done(row_id)
                settled += 1
        for row_id in rewrites:  # (a failed rewrite queued a new row)
            self.journal.done(row_id)
        return settled + len(rewrites)

    def start(self) -> "ConversationIndex":
        from weft.search.vectorizers import warm_up

        if self.leases is not None:
            self.leases.want(self.LEASE)

        for config in self._tenants.values():
            if config.vectorizer is not None:
                warm_up(config.vectorizer)  # local models: loaded in the background, once per process
        self._worker = threading.Thread(target=self._loop, name="weft-conversation-index", daemon=True)
        self._worker.start()
        return self

    def _loop(self) -> None:
        interval = self.settings.interval_seconds
        while not self._stop.is_set():
            if self.leases is not None and self.leases.held(self.LEASE) is None:
                self._wake.wait(min(interval, 1.0) if interval > 0 else 1.0)  # another node reconciles; take over when it dies
                self._wake.clear()
                continue
            try:
                self.reconcile()
            except Exception:
                log.exception("conversation index reconcile pass failed")
            self._wake.wait(interval if interval > 0 else None)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(15)
        self.journal.close()

    # ---- search ------------------------------------------------------------------------------------------
    def search_items(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``{query, mode: text|vector|hybrid, top, conversation_id, role}`` over the tenant's own index."""
        config = self._current(tenant_id)
        if config is None or self._drop_if_shredded(tenant_id):
            raise InvalidInput("Conversation search is not enabled for this tenant.", code="conversation_search_disabled")
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("'query' must be a non-empty string.", code="invalid_value")
        mode = body.get("mode") or ("hybrid" if config.vectorizer else "text")
        if mode not in ("text", "vector", "hybrid"):
            raise InvalidInput("'mode' must be 'text', 'vector' or 'hybrid'.", code="invalid_value")
        if mode != "text" and config.vectorizer is None:
            raise InvalidInput("This tenant's conversation index has no embeddings; use mode 'text'.", code="vectors_not_configured")
        top = body.get("top", 10)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 100:
            raise InvalidInput("'top' must be an integer between 1 and 100.", code="invalid_value")
        clauses = []
        for name in ("conversation_id", "role"):
            value = body.get(name)
            if value is None:
                continue
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise InvalidInput(f"'{name}' must be a string or a list of strings.", code="invalid_value")
            clauses.append("(" + " or ".join(f"{name} eq {_quote(v)}" for v in values) + ")")
        params: dict[str, Any] = {"top": top, "select": SELECT}
        if clauses:
            params["filter"] = " and ".join(clauses)
        if mode in ("text", "hybrid"):
            params["search"] = query
        if mode in ("vector", "hybrid"):
            params["vectorQueries"] = [{"kind": "text", "text": query, "fields": VECTOR_FIELD, "k": top}]
        result = self.search.search(config.index_name, params)
        if "text" in self.search.definition(config.index_name).index_only:  # the text lives in the encrypted store only
            for d in result["value"]:
                item = self.threads.stored_item(tenant_id, d["conversation_id"], d["id"])
                d["text"] = item_text(item) if item is not None else None
        data = [{"object": "conversation.item.search_result", "item_id": d["id"], "conversation_id": d["conversation_id"],
                 "role": d.get("role"), "type": d.get("type"), "text": d.get("text"), "seq": d.get("seq"),
                 "created_at": _unix(d.get("created_at")), "score": d["@search.score"]} for d in result["value"]]
        return {"object": "list", "mode": mode, "data": data}


def _unix(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def wait_until(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Small helper for callers that need to wait for a reconcile (tests, CLI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
