"""Agentic retrieval: knowledge sources over weft indexes and knowledge bases that retrieve from them.

The service uses `SearchService` as any client does (semantic queries when the index has a semantic
configuration, simple ones otherwise); it keeps its definitions in `<data-dir>/retrieval/retrieval.sqlite3`, model
api keys sealed (`weft.secretbox.SecretBox`).

Retrieve (GA `2026-04-01`): each `intents[i].search` runs against each knowledge source of the base (or those named
in `knowledgeSourceParams`, with their `filterAddOn`, `rerankerThreshold`, `includeReferences`,
`includeReferenceSourceData`); the hits are merged (one reference per source and document key, its best
reranker score), ordered by reranker score (then first-stage score), cut by `rerankerThreshold`, and returned as
Azure shapes them: `response` (one assistant message whose text is the JSON array of `{ref_id, title?, content}`),
`references` and, with `includeActivity`, `activity` (one `searchIndex` entry per query with its arguments, count
and elapsed time). `maxOutputSizeInTokens` (default 5,000; a token is counted as 4 characters of the JSON text)
cuts the response to the best references that fit; `maxRuntimeInSeconds` (default 90) stops issuing queries after
the deadline — the queries not run are reported as errors in the activity and the answer is a 206, as is any source
that failed (a deleted index, say).

Preview (`2025-11-01-preview`): requests with `messages` or answer synthesis are handed to `weft.retrieval.preview`
(query planning and answers with a chat model); the rest take the path above.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from weft.errors import Conflict, InvalidInput, NotFound, WeftError
from weft.secretbox import SecretBox
from weft.retrieval import model
from weft.retrieval import references as references_of
from weft.etags import ANY, check_preconditions, expect_etag, new_etag, retried

DEFAULT_RUNTIME_SECONDS, MAX_RUNTIME_SECONDS = 90, 600
DEFAULT_OUTPUT_TOKENS = 5000
CHARS_PER_TOKEN = 4
MAX_INTENTS = 10
REFERENCES_PER_QUERY = 50


class RetrievalStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, "
                         "secret BLOB, etag TEXT NOT NULL, PRIMARY KEY (kind, name))")
        self._lock = threading.RLock()

    def get(self, kind: str, name: str) -> tuple[dict, bytes | None, str] | None:
        with self._lock:
            row = self._db.execute("SELECT body, secret, etag FROM objects WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        return (json.loads(row[0]), row[1], row[2]) if row else None

    def list(self, kind: str) -> list[tuple[str, dict, str]]:
        with self._lock:
            rows = self._db.execute("SELECT name, body, etag FROM objects WHERE kind = ? ORDER BY name", (kind,)).fetchall()
        return [(n, json.loads(b), e) for n, b, e in rows]

    def put(self, kind: str, name: str, body: dict, secret: bytes | None, etag: str, *, expected=ANY) -> None:
        """``expected``: the stored ETag the caller read (None: no row), checked under the lock of the write."""
        with self._lock:
            self._expect(kind, name, expected)
            self._db.execute("INSERT INTO objects(kind, name, body, secret, etag) VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind, name) "
                             "DO UPDATE SET body = excluded.body, secret = excluded.secret, etag = excluded.etag",
                             (kind, name, json.dumps(body), secret, etag))

    def _expect(self, kind: str, name: str, expected) -> None:
        if expected is not ANY:
            row = self._db.execute("SELECT etag FROM objects WHERE kind = ? AND name = ?", (kind, name)).fetchone()
            expect_etag(row[0] if row else None, expected)

    def delete(self, kind: str, name: str, *, expected=ANY) -> bool:
        with self._lock:
            self._expect(kind, name, expected)
            return self._db.execute("DELETE FROM objects WHERE kind = ? AND name = ?", (kind, name)).rowcount > 0

    def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT count(*) FROM objects").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class RetrievalService:
    def __init__(self, data_dir: Path, search, store=None):
        self.search = search
        self.store = store if store is not None else RetrievalStore(Path(data_dir) / "retrieval.sqlite3")  # cluster: weft.cluster.stores
        self.secrets = SecretBox(Path(data_dir) / "secret.key")
        self._lock = threading.RLock()

    def close(self) -> None:
        self.store.close()

    # ---- knowledge sources ----------------------------------------------------------------------------
    def _check_source_target(self, source: dict) -> None:
        params = source["searchIndexParameters"]
        index = params["searchIndexName"]
        try:
            definition = self.search.definition(index)
        except NotFound:
            raise InvalidInput(f"The knowledge source '{source['name']}' refers to the index '{index}', which does not exist.")
        for member in ("sourceDataFields", "searchFields"):
            for f in params[member]:
                leaf = definition.leaf(f["name"])
                if leaf is None:
                    raise InvalidInput(f"The field '{f['name']}' in searchIndexParameters.{member} does not exist in the index '{index}'.")
                if member == "searchFields" and not leaf.field.searchable:
                    raise InvalidInput(f"The field '{f['name']}' in searchIndexParameters.searchFields is not searchable.")
        semantic = params.get("semanticConfigurationName")
        if semantic is not None:
            from weft.search.ranking.semantic_config import parse_semantic

            if semantic not in parse_semantic(definition.members.get("semantic"), definition):
                raise InvalidInput(f"The semantic configuration '{semantic}' does not exist in the index '{index}'.")

    def create_source(self, body: Any) -> dict:
        return retried(lambda: self._create_source(body))

    def _create_source(self, body: Any) -> dict:
        source = model.parse_source(body)
        with self._lock:
            if self.store.get("source", source["name"]) is not None:
                raise InvalidInput(f"Cannot create knowledge source '{source['name']}' because it already exists.", code="ResourceNameAlreadyInUse")
            self._check_source_target(source)
            etag = new_etag()
            self.store.put("source", source["name"], source, None, etag, expected=None)
        return model.render_source(source, etag)

    def create_or_update_source(self, name: str, body: Any, *, if_match=None, if_none_match=None) -> tuple[dict, bool]:
        return retried(lambda: self._create_or_update_source(name, body, if_match, if_none_match))

    def _create_or_update_source(self, name: str, body: Any, if_match, if_none_match) -> tuple[dict, bool]:
        source = model.parse_source(body, name_from_path=name)
        with self._lock:
            existing = self.store.get("source", name)
            check_preconditions(existing[2] if existing else None, if_match, if_none_match)
            self._check_source_target(source)
            etag = new_etag()
            self.store.put("source", name, source, None, etag, expected=existing[2] if existing else None)
        return model.render_source(source, etag), existing is None

    def get_source(self, name: str) -> dict:
        found = self.store.get("source", name)
        if found is None:
            raise NotFound(f"Knowledge source '{name}' was not found.")
        return model.render_source(found[0], found[2])

    def list_sources(self) -> list[dict]:
        return [model.render_source(body, etag) for _, body, etag in self.store.list("source")]

    def delete_source(self, name: str, *, if_match=None, if_none_match=None) -> None:
        retried(lambda: self._delete_source(name, if_match, if_none_match))

    def _delete_source(self, name: str, if_match, if_none_match) -> None:
        with self._lock:
            existing = self.store.get("source", name)
            if existing is None:
                raise NotFound(f"Knowledge source '{name}' was not found.")
            check_preconditions(existing[2], if_match, if_none_match)
            users = [n for n, body, _ in self.store.list("base") if any(s["name"] == name for s in body["knowledgeSources"])]
            if users:
                raise Conflict(f"The knowledge source '{name}' is used by the knowledge base '{users[0]}'; remove it from there first.")
            self.store.delete("source", name, expected=existing[2])

    def source_status(self, name: str) -> dict:
        source = self.get_source(name)
        index = source["searchIndexParameters"]["searchIndexName"]
        try:
            documents = self.search.count(index)
            status = "active"
        except NotFound:
            documents, status = 0, "active"
        # A searchIndex source reads the index as it is: there is no synchronization of its own.
        return {"kind": "searchIndex", "synchronizationStatus": status, "synchronizationInterval": None,
                "currentSynchronizationState": None, "lastSynchronizationState": None,
                "statistics": {"totalSynchronization": 0, "averageSynchronizationDuration": "PT0S",
                               "averageItemsProcessedPerSynchronization": 0, "weftDocumentCount": documents}}

    # ---- knowledge bases -------------------------------------------------------------------------------
    def _seal_models(self, base: dict, previous_secret: bytes | None) -> bytes | None:
        keys = {}
        old = json.loads(self.secrets.open(previous_secret) or "{}") if previous_secret else {}
        for i, m in enumerate(base["models"]):
            params = m.get("azureOpenAIParameters") or {}
            key = params.pop("apiKey", None)
            if key:
                keys[str(i)] = key
            elif str(i) in old:  # an update that omits the key (GET never returns it) keeps the stored one
                keys[str(i)] = old[str(i)]
        return self.secrets.seal(json.dumps(keys)) if keys else None

    def _check_base(self, base: dict) -> None:
        from weft.retrieval.chat_model import check_model_endpoints

        check_model_endpoints(base)  # the operator's allow-list, as for vectorizers
        for s in base["knowledgeSources"]:
            if self.store.get("source", s["name"]) is None:
                raise InvalidInput(f"The knowledge base '{base['name']}' refers to the knowledge source '{s['name']}', which does not exist.")

    def create_base(self, body: Any, api_version: str | None) -> dict:
        return retried(lambda: self._create_base(body, api_version))

    def _create_base(self, body: Any, api_version: str | None) -> dict:
        base = model.parse_base(body, api_version=api_version)
        with self._lock:
            if self.store.get("base", base["name"]) is not None:
                raise InvalidInput(f"Cannot create knowledge base '{base['name']}' because it already exists.", code="ResourceNameAlreadyInUse")
            self._check_base(base)
            secret = self._seal_models(base, None)
            etag = new_etag()
            self.store.put("base", base["name"], base, secret, etag, expected=None)
        return model.render_base(base, etag)

    def create_or_update_base(self, name: str, body: Any, api_version: str | None, *, if_match=None, if_none_match=None) -> tuple[dict, bool]:
        return retried(lambda: self._create_or_update_base(name, body, api_version, if_match, if_none_match))

    def _create_or_update_base(self, name: str, body: Any, api_version: str | None, if_match, if_none_match) -> tuple[dict, bool]:
        base = model.parse_base(body, api_version=api_version, name_from_path=name)
        with self._lock:
            existing = self.store.get("base", name)
            check_preconditions(existing[2] if existing else None, if_match, if_none_match)
            self._check_base(base)
            secret = self._seal_models(base, existing[1] if existing else None)
            etag = new_etag()
            self.store.put("base", name, base, secret, etag, expected=existing[2] if existing else None)
        return model.render_base(base, etag), existing is None

    def get_base(self, name: str) -> dict:
        found = self.store.get("base", name)
        if found is None:
            raise NotFound(f"Knowledge base '{name}' was not found.")
        return model.render_base(found[0], found[2])

    def list_bases(self) -> list[dict]:
        return [model.render_base(body, etag) for _, body, etag in self.store.list("base")]

    def delete_base(self, name: str, *, if_match=None, if_none_match=None) -> None:
        retried(lambda: self._delete_base(name, if_match, if_none_match))

    def _delete_base(self, name: str, if_match, if_none_match) -> None:
        with self._lock:
            existing = self.store.get("base", name)
            if existing is None:
                raise NotFound(f"Knowledge base '{name}' was not found.")
            check_preconditions(existing[2], if_match, if_none_match)
            self.store.delete("base", name, expected=existing[2])

    # ---- retrieve --------------------------------------------------------------------------------------
    def retrieve(self, name: str, body: Any, api_version: str | None) -> tuple[dict, int]:
        """Returns (Azure's retrieve response, HTTP status: 200, or 206 when a source or query failed)."""
        base = self.get_base(name)
        request = _parse_retrieve(body, api_version)
        if request.get("preview") is not None:  # messages, query planning and answer synthesis: weft.retrieval.preview
            from weft.retrieval import preview

            if preview.takes_over(request, base):
                return preview.retrieve(self, name, request)
        params_by_source = {p["knowledgeSourceName"]: p for p in request["knowledgeSourceParams"]}
        for source_name in params_by_source:
            if source_name not in {s["name"] for s in base["knowledgeSources"]}:
                raise InvalidInput(f"knowledgeSourceParams names '{source_name}', which is not a knowledge source of the knowledge base '{name}'.")
        deadline = time.monotonic() + request["maxRuntimeInSeconds"]
        activity: list[dict] = []
        merged: dict[tuple[str, str], dict] = {}
        partial = False
        for intent in request["intents"]:
            for ref in base["knowledgeSources"]:
                source_name = ref["name"]
                options = params_by_source.get(source_name, {})
                entry: dict[str, Any] = {"type": "searchIndex", "id": len(activity), "knowledgeSourceName": source_name,
                                         "queryTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
                activity.append(entry)
                if time.monotonic() > deadline:
                    entry["count"] = 0
                    entry["error"] = {"code": "Timeout", "message": "maxRuntimeInSeconds was reached before this query ran."}
                    partial = True
                    continue
                started = time.perf_counter()
                try:
                    hits, arguments = self._query_source(source_name, intent["search"], options)
                except WeftError as exc:
                    entry["count"] = 0
                    entry["error"] = {"code": exc.code or type(exc).__name__, "message": exc.message}
                    entry["elapsedMs"] = int((time.perf_counter() - started) * 1000)
                    partial = True
                    continue
                entry.update(count=len(hits), elapsedMs=int((time.perf_counter() - started) * 1000), searchIndexArguments=arguments)
                for hit in hits:
                    references_of.keep_best(merged, source_name, hit, entry["id"], options)
        chunks, references = references_of.within_budget(references_of.ordered(merged), request["maxOutputSizeInTokens"] * CHARS_PER_TOKEN)
        response: dict[str, Any] = {
            "response": [{"role": "assistant", "content": [{"type": "text", "text": json.dumps(chunks, ensure_ascii=False)}]}],
            "references": references,
        }
        if request["includeActivity"]:
            response["activity"] = activity
        return response, 206 if partial else 200

    def _query_source(self, source_name: str, text: str, options: dict, *, hybrid: bool = False) -> tuple[list[dict], dict]:
        found = self.store.get("source", source_name)
        if found is None:
            raise NotFound(f"Knowledge source '{source_name}' was not found.")
        params = found[0]["searchIndexParameters"]
        index = params["searchIndexName"]
        definition = self.search.definition(index)
        from weft.search.ranking.semantic_config import parse_semantic

        configs = parse_semantic(definition.members.get("semantic"), definition)
        semantic_name = params.get("semanticConfigurationName") or (definition.members.get("semantic") or {}).get("defaultConfiguration") \
            or (next(iter(configs)) if len(configs) == 1 else None)
        query: dict[str, Any] = {"search": text, "top": REFERENCES_PER_QUERY}
        if params["searchFields"]:
            query["searchFields"] = ",".join(f["name"] for f in params["searchFields"])
        if options.get("filterAddOn"):
            query["filter"] = options["filterAddOn"]
        if semantic_name and self.search.reranker is not None:
            query.update(queryType="semantic", semanticConfiguration=semantic_name)
        if hybrid:  # preview sub-queries: also a text vector query on the fields that have a vectorizer
            from weft.retrieval.preview import text_vector_queries

            query.update(text_vector_queries(definition, text))
        result = self.search.search(index, query)
        config = configs.get(semantic_name) if semantic_name else None
        key_name = definition.key_field.name
        data_fields = [f["name"] for f in params["sourceDataFields"]]
        hits = []
        for doc in result["value"]:
            source_data = {k: v for k, v in doc.items() if not k.startswith("@search.") and (not data_fields or k in data_fields)}
            if config is not None:
                from weft.search.ranking.semantic import document_text

                content = document_text(doc, config)
                title = doc.get(config.title) if config.title else None
            else:
                content = " ".join(str(v) for k, v in source_data.items() if k != key_name and isinstance(v, (str, int, float)))
                title = None
            hits.append({"docKey": doc.get(key_name), "rerankerScore": doc.get("@search.rerankerScore"), "score": doc.get("@search.score", 0.0),
                         "title": title if isinstance(title, str) else None, "content": content, "sourceData": source_data})
        arguments = {"search": text, "filter": query.get("filter"), "sourceDataFields": params["sourceDataFields"],
                     "searchFields": params["searchFields"], "semanticConfigurationName": semantic_name}
        return hits, arguments


def _parse_retrieve(body: Any, api_version: str | None) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput("The retrieve request must be a JSON object.")
    allowed = {"intents", "maxRuntimeInSeconds", "maxOutputSizeInTokens", "includeActivity", "knowledgeSourceParams"}
    preview = model.is_preview(api_version)
    if preview:
        from weft.retrieval.preview import PREVIEW_REQUEST_MEMBERS, parse_preview

        allowed = (allowed - {"maxOutputSizeInTokens"}) | PREVIEW_REQUEST_MEMBERS
    unknown = set(body) - allowed
    if unknown:
        member = sorted(unknown)[0]
        hint = ""
        if member in ("messages", "retrievalReasoningEffort", "outputMode", "maxOutputSize"):
            hint = " (a preview member: use api-version 2025-11-01-preview)"
        elif member == "maxOutputSizeInTokens":
            hint = " (a member of the GA api-version 2026-04-01; the preview spells it 'maxOutputSize')"
        raise InvalidInput(f"The retrieve request has an unknown member '{member}'{hint}.")
    extras = parse_preview(body) if preview else None
    intents = body.get("intents")
    if extras is not None and extras["messages"] and intents is None:
        intents = []
    elif not isinstance(intents, list) or not intents:
        raise InvalidInput("The retrieve request needs 'intents': [{\"type\": \"semantic\", \"search\": \"...\"}].")
    if len(intents) > MAX_INTENTS:
        raise InvalidInput(f"A retrieve request takes at most {MAX_INTENTS} intents.")
    for i, intent in enumerate(intents):
        if not isinstance(intent, dict) or intent.get("type") != "semantic" or not isinstance(intent.get("search"), str) or not intent["search"].strip():
            raise InvalidInput(f"intents[{i}] must be {{\"type\": \"semantic\", \"search\": \"<non-empty text>\"}}.")
    runtime = body.get("maxRuntimeInSeconds", DEFAULT_RUNTIME_SECONDS)
    if isinstance(runtime, bool) or not isinstance(runtime, int) or not 1 <= runtime <= MAX_RUNTIME_SECONDS:
        raise InvalidInput(f"maxRuntimeInSeconds must be an integer from 1 to {MAX_RUNTIME_SECONDS}.")
    tokens = body.get("maxOutputSizeInTokens", body.get("maxOutputSize", DEFAULT_OUTPUT_TOKENS))
    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= 100_000:
        raise InvalidInput("maxOutputSizeInTokens must be an integer from 1 to 100000.")
    include_activity = body.get("includeActivity", True)
    if not isinstance(include_activity, bool):
        raise InvalidInput("includeActivity must be true or false.")
    params = []
    for i, p in enumerate(body.get("knowledgeSourceParams") or []):
        if not isinstance(p, dict) or not isinstance(p.get("knowledgeSourceName"), str):
            raise InvalidInput(f"knowledgeSourceParams[{i}] needs a knowledgeSourceName.")
        if p.get("kind", "searchIndex") != "searchIndex":
            raise InvalidInput(f"knowledgeSourceParams[{i}].kind '{p.get('kind')}' is not served by weft; use 'searchIndex'.")
        extra = set(p) - {"kind", "knowledgeSourceName", "includeReferences", "includeReferenceSourceData", "alwaysQuerySource",
                          "rerankerThreshold", "filterAddOn"}
        if "alwaysQuerySource" in p and not preview:  # source selection is the preview's query planning
            extra.add("alwaysQuerySource")
        if extra:
            member = sorted(extra)[0]
            hint = " (a preview member: use api-version 2025-11-01-preview)" if member == "alwaysQuerySource" else ""
            raise InvalidInput(f"knowledgeSourceParams[{i}] has an unknown member '{member}'{hint}.")
        if p.get("alwaysQuerySource") not in (None, True, False):
            raise InvalidInput(f"knowledgeSourceParams[{i}].alwaysQuerySource must be true or false.")
        threshold = p.get("rerankerThreshold")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 4):
            raise InvalidInput(f"knowledgeSourceParams[{i}].rerankerThreshold must be a number from 0 to 4.")
        for flag in ("includeReferences", "includeReferenceSourceData"):
            if p.get(flag) not in (None, True, False):
                raise InvalidInput(f"knowledgeSourceParams[{i}].{flag} must be true or false.")
        if p.get("filterAddOn") is not None and not isinstance(p["filterAddOn"], str):
            raise InvalidInput(f"knowledgeSourceParams[{i}].filterAddOn must be an OData filter string.")
        params.append(p)
    return {"intents": intents, "maxRuntimeInSeconds": runtime, "maxOutputSizeInTokens": tokens, "includeActivity": include_activity,
            "knowledgeSourceParams": params, "preview": extras}
