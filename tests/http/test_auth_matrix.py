"""The authorisation matrix: every registered route of the app x every kind of caller, with the documented
outcome of each cell.

Routes are enumerated from ``app.routes``: a route added to the app without a row in ``ROUTES`` fails
``test_every_route_is_in_the_matrix``, so new routes are covered (or the test says which one is missing).

Callers: no key, a wrong key, the service's query key, tenant ``acme`` keys with the read, write and admin
scopes, an admin key of another tenant (``beta``), and the server admin key (acting for ``acme`` through the
``weft-tenant`` header). Outcomes (docs/threads.md "Access control", docs/architecture.md "HTTP"):

* search API (``/indexes``, ``/servicestats``, ``/datasources``, ``/indexers``, ...): no key 401; any key that is
  not the admin or query key 403 (tenant keys are not search keys); a query key 403 except on the query routes
  (search, suggest, autocomplete, lookup, count); the admin key: the operation's own status.
* tenant API (``/v1/...``, ``/threads``, ``/audit``): no key, a wrong key and the query key 401; a tenant key needs
  the scope of the operation (read < write < admin) else 403; the other tenant gets 404 for acme's conversations
  (they do not exist for it), 403 for a ``/v1/tenants/acme/...`` path, and its own (empty) data on lists.
* ``/_openapi.json``, ``/_docs``: off by default, 404 for everyone (``WEFT_API_DOCS``; tested below too).

Runs in-process over httpx.ASGITransport: about 750 requests in a few seconds. The `weft mcp` cases (crafted
keys, the bound index, the HTTP transport's token and Host/Origin checks) are in
tests/agent_tools/test_mcp_security.py, driven by the official `mcp` client.
"""
from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import pytest

from weft.app import create_app
from weft.config import Settings
from weft.threads.policy import Principal
from weft.threads.search_index import index_name_for

API = "2026-04-01"
ADMIN, QUERY = "matrix-admin-key", "matrix-query-key"
CALLERS = ("none", "wrong", "query", "t_read", "t_write", "t_admin", "other", "admin")
MARKER = "matrixmarker"  # in acme's content: never in an answer to another tenant's key
_counter = itertools.count()


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


@dataclass
class World:
    app: Any
    keys: dict[str, str]
    conversation: str = ""
    item: str = ""
    thread: str = ""
    message: str = ""
    index: str = "matrix"
    datasource: str = ""
    source: str = ""
    base: str = ""
    synonyms: str = ""
    indexer: str = ""
    assistant: str = ""
    run: str = ""
    agent: str = ""
    alias: str = ""
    created: list = field(default_factory=list)

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "none":
            return {}
        if caller == "admin":
            return {"api-key": ADMIN, "weft-tenant": "acme"}
        return {"api-key": self.keys[caller]}

    # fresh resources for destructive cells (made through the services, not the API under test)
    def new_conversation(self) -> str:
        conv, items = self.app.state.threads.create_conversation(Principal.library("acme"), metadata={"k": MARKER},
                                                                 items=[{"role": "user", "content": f"hello {MARKER}"}])
        return conv.id

    def new_item(self) -> tuple[str, str]:
        conv, items = self.app.state.threads.create_conversation(Principal.library("acme"), items=[{"role": "user", "content": "x"}])
        return conv.id, items[0].id

    def new_response(self, *, background: bool = False) -> str:
        from weft.threads.items import new_id
        from weft.threads.service import PendingItem

        response = {"id": new_id("resp"), "object": "response", "status": "queued" if background else "completed",
                    "background": background, "output": [], "metadata": {"k": MARKER}}
        ask = PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": MARKER}]})
        self.app.state.responses.records.save(Principal.library("acme"), response, [ask])
        return response["id"]
    # Foundry agents: made through the services (a run made so is queued and never started: no model here)
    def new_thread(self) -> str:
        thread, _ = self.app.state.threads.create_conversation(Principal.library("acme"), kind="thread", items=[{"role": "user", "content": "q"}])
        return thread.id

    def new_assistant(self) -> str:
        return self.app.state.runs.assistants.create(Principal.library("acme"), {"model": "m"})["id"]

    def new_run(self) -> tuple[str, str]:
        thread = self.new_thread()
        return thread, self.app.state.runs.create(Principal.library("acme"), thread, {"assistant_id": self.assistant}, [])["id"]

    def new_agent(self) -> str:
        name = fresh("mxagent")
        self.app.state.agent_definitions.create_version(Principal.library("acme"), name, {"definition": {"kind": "prompt", "model": "m"}})
        return name

    def new_key(self) -> str:
        admin = Principal("acme", frozenset({"admin"}), key_id="t", server_admin=True)
        return self.app.state.threads.create_api_key(admin, "acme", ["read"]).record.id

    def new_index(self) -> str:
        name = fresh("mx")
        self.app.state.search.create_index(index_body(name))
        return name

    def new_datasource(self) -> str:
        name = fresh("mxds")
        self.app.state.indexers.create_datasource(datasource_body(name))
        return name

    def new_source(self) -> str:
        name = fresh("mxks")
        self.app.state.retrieval.create_source(source_body(name, self.index))
        return name

    def new_synonyms(self) -> str:
        name = fresh("mxsyn")
        self.app.state.search.synonym_maps.create(synonym_body(name))
        return name

    def new_alias(self) -> str:
        name = fresh("mxal")
        self.app.state.search.aliases.create(alias_body(name, self.index))
        return name

    def new_base(self) -> str:
        name = fresh("mxkb")
        self.app.state.retrieval.create_base(base_body(name, self.source), API)
        return name

    def new_indexer(self) -> str:
        name = fresh("mxix")
        self.app.state.indexers.create_indexer(indexer_body(name, self.datasource, self.index))
        return name


def index_body(name: str) -> dict:
    return {"name": name, "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                     {"name": "title", "type": "Edm.String", "searchable": True}],
            "suggesters": [{"name": "sg", "searchMode": "analyzingInfixMatching", "sourceFields": ["title"]}]}


def datasource_body(name: str) -> dict:
    return {"name": name, "type": "postgresql", "credentials": {"connectionString": "postgresql://postgres@127.0.0.1:5432/test"},
            "container": {"name": "weft_matrix_absent_table"}}


def synonym_body(name: str) -> dict:
    return {"name": name, "format": "solr", "synonyms": "usa, united states"}


def alias_body(name: str, index: str) -> dict:
    return {"name": name, "indexes": [index]}


def source_body(name: str, index: str) -> dict:
    return {"name": name, "kind": "searchIndex", "searchIndexParameters": {"searchIndexName": index}}


def base_body(name: str, source: str) -> dict:
    return {"name": name, "knowledgeSources": [{"name": source}]}


def indexer_body(name: str, datasource: str, index: str) -> dict:
    return {"name": name, "dataSourceName": datasource, "targetIndexName": index, "disabled": True}


@dataclass
class Route:
    kind: str  # "admin" | "query" (search API), "tenant", "docs"
    ok: int | tuple[int, ...] = 200
    scope: str = "read"  # tenant routes: the scope needed
    other: str = "404"  # tenant routes, the other tenant's outcome: "404", "403" or "own" (its own data: ok)
    params: Callable[[World, str], dict] | None = None  # path parameters for a caller (fresh resources)
    body: Callable[[World, str], Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    order: int = 0  # destructive routes that others depend on run later


def conv(w: World, c: str) -> dict:
    return {"conversation_id": w.conversation, "thread_id": w.conversation}


def conv_item(w: World, c: str) -> dict:
    return {"conversation_id": w.conversation, "item_id": w.item, "thread_id": w.thread, "message_id": w.message}


def fresh_conv(w: World, c: str) -> dict:
    cid = w.new_conversation()
    return {"conversation_id": cid, "thread_id": cid}


def fresh_item(w: World, c: str) -> dict:
    cid, iid = w.new_item()
    return {"conversation_id": cid, "item_id": iid}


def acme(w: World, c: str) -> dict:
    return {"tenant_id": "acme"}


def idx(w: World, c: str) -> dict:
    return {"name": w.index, "key": "1"}


def fresh_idx(w: World, c: str) -> dict:
    return {"name": w.new_index()}


def message(text: str = "hi") -> Callable:
    return lambda w, c: {"items": [{"role": "user", "content": text}]}


KS = ("knowledgesources", "knowledgeSources", "knowledge-sources")
KB = ("knowledgebases", "knowledgeBases", "knowledge-bases")

ROUTES: dict[tuple[str, str], Route] = {
    # ---- search API: service ----
    ("GET", "/servicestats"): Route("admin"),
    **{("GET", f"/{c}"): Route("admin") for c in ("skillsets", "synonymmaps", "aliases")},  # synonymmaps, aliases: real lists
    # ---- index aliases (the index routes' permissions) ----
    ("POST", "/aliases"): Route("admin", 201, body=lambda w, c: alias_body(fresh("mxalnew"), w.index)),
    **{("GET", p): Route("admin", params=lambda w, c: {"name": w.alias}) for p in ("/aliases/{name}", "/aliases('{name}')")},
    **{("PUT", p): Route("admin", 201, params=lambda w, c: {"name": fresh("mxalput")}, body=lambda w, c: None)
       for p in ("/aliases/{name}", "/aliases('{name}')")},
    **{("DELETE", p): Route("admin", 204, params=lambda w, c: {"name": w.new_alias()}) for p in ("/aliases/{name}", "/aliases('{name}')")},
    # ---- knowledge sources and bases (every spelling Azure accepts) ----
    **{("GET", f"/{c}"): Route("admin") for c in KS + KB},
    **{("POST", f"/{c}"): Route("admin", 201, body=lambda w, c: source_body(fresh("mxksnew"), w.index)) for c in KS},
    **{("POST", f"/{c}"): Route("admin", 201, body=lambda w, c: base_body(fresh("mxkbnew"), w.source)) for c in KB},
    **{("GET", p): Route("admin", params=lambda w, c: {"name": w.source}) for c in KS for p in (f"/{c}/{{name}}", f"/{c}('{{name}}')",
                                                                                                  f"/{c}/{{name}}/status", f"/{c}('{{name}}')/status")},
    **{("GET", p): Route("admin", params=lambda w, c: {"name": w.base}) for c in KB for p in (f"/{c}/{{name}}", f"/{c}('{{name}}')")},
    **{("PUT", p): Route("admin", 201, params=lambda w, c: {"name": fresh("mxkput")}, body=lambda w, c: None)
       for c in KS + KB for p in (f"/{c}/{{name}}", f"/{c}('{{name}}')")},
    **{("DELETE", p): Route("admin", 204, params=lambda w, c: {"name": w.new_base()}) for c in KB for p in (f"/{c}/{{name}}", f"/{c}('{{name}}')")},
    **{("DELETE", p): Route("admin", 204, params=lambda w, c: {"name": w.new_source()}) for c in KS for p in (f"/{c}/{{name}}", f"/{c}('{{name}}')")},
    **{("POST", p): Route("query", params=lambda w, c: {"name": w.base}, body=lambda w, c: {"intents": [{"type": "semantic", "search": "alpha"}]})
       for c in KB for p in (f"/{c}/{{name}}/retrieve", f"/{c}('{{name}}')/retrieve")},
    # ---- synonym maps ----
    ("POST", "/synonymmaps"): Route("admin", 201, body=lambda w, c: synonym_body(fresh("mxsyn"))),
    **{("GET", p): Route("admin", params=lambda w, c: {"name": w.synonyms}) for p in ("/synonymmaps/{name}", "/synonymmaps('{name}')")},
    **{("PUT", p): Route("admin", 201, params=lambda w, c: {"name": fresh("mxsynput")}, body=lambda w, c: None)
       for p in ("/synonymmaps/{name}", "/synonymmaps('{name}')")},
    **{("DELETE", p): Route("admin", 204, params=lambda w, c: {"name": w.new_synonyms()}) for p in ("/synonymmaps/{name}", "/synonymmaps('{name}')")},
    # ---- operations: health open, metrics behind the admin key ----
    ("GET", "/healthz"): Route("open"),
    ("GET", "/readyz"): Route("open"),
    ("GET", "/metrics"): Route("admin"),
    # ---- search API: indexes ----
    ("GET", "/indexes"): Route("admin"),
    ("POST", "/indexes"): Route("admin", 201, body=lambda w, c: index_body(fresh("mxnew"))),
    **{("GET", p): Route("admin", params=idx) for p in ("/indexes/{name}", "/indexes('{name}')")},
    **{("PUT", p): Route("admin", 201, params=lambda w, c: {"name": (n := fresh("mxput"))}, body=lambda w, c: None)
       for p in ("/indexes/{name}", "/indexes('{name}')")},
    **{("DELETE", p): Route("admin", 204, params=fresh_idx) for p in ("/indexes/{name}", "/indexes('{name}')")},
    **{("GET", p): Route("admin", params=idx) for p in ("/indexes/{name}/stats", "/indexes('{name}')/search.stats")},
    **{("POST", p): Route("admin", params=idx, body=lambda w, c: {"text": "hi there", "analyzer": "standard.lucene"})
       for p in ("/indexes/{name}/analyze", "/indexes('{name}')/search.analyze")},
    # ---- search API: documents ----
    **{("POST", p): Route("admin", params=idx, body=lambda w, c: {"value": [{"@search.action": "mergeOrUpload", "id": "2", "title": "b"}]})
       for p in ("/indexes/{name}/docs/index", "/indexes('{name}')/docs/search.index")},
    **{("GET", p): Route("query", params=idx) for p in ("/indexes/{name}/docs/$count", "/indexes('{name}')/docs/$count")},
    **{("POST", p): Route("query", params=idx, body=lambda w, c: {"search": "*"})
       for p in ("/indexes/{name}/docs/search", "/indexes('{name}')/docs/search.post.search")},
    **{("GET", p): Route("query", params=idx, query={"search": "*"}) for p in ("/indexes/{name}/docs", "/indexes('{name}')/docs")},
    **{("POST", p): Route("query", params=idx, body=lambda w, c: {"search": "alp", "suggesterName": "sg"})
       for p in ("/indexes/{name}/docs/suggest", "/indexes('{name}')/docs/search.post.suggest",
                 "/indexes/{name}/docs/autocomplete", "/indexes('{name}')/docs/search.post.autocomplete")},
    **{("GET", p): Route("query", params=idx, query={"search": "alp", "suggesterName": "sg"})
       for p in ("/indexes/{name}/docs/suggest", "/indexes('{name}')/docs/search.suggest",
                 "/indexes/{name}/docs/autocomplete", "/indexes('{name}')/docs/search.autocomplete")},
    **{("GET", p): Route("query", params=idx) for p in ("/indexes/{name}/docs/{key}", "/indexes('{name}')/docs('{key}')")},
    # ---- indexers (admin key only) ----
    ("GET", "/datasources"): Route("admin"),
    ("POST", "/datasources"): Route("admin", 201, body=lambda w, c: datasource_body(fresh("mxdsnew"))),
    **{("PUT", p): Route("admin", 201, params=lambda w, c: {"name": fresh("mxdsput")}, body=lambda w, c: None)
       for p in ("/datasources/{name}", "/datasources('{name}')")},
    **{("GET", p): Route("admin", params=lambda w, c: {"name": w.datasource}) for p in ("/datasources/{name}", "/datasources('{name}')")},
    **{("DELETE", p): Route("admin", 204, params=lambda w, c: {"name": w.new_datasource()})
       for p in ("/datasources/{name}", "/datasources('{name}')")},
    ("GET", "/indexers"): Route("admin"),
    ("POST", "/indexers"): Route("admin", 201, body=lambda w, c: indexer_body(fresh("mxixnew"), w.datasource, w.index)),
    **{("PUT", p): Route("admin", 201, params=lambda w, c: {"name": fresh("mxixput")}, body=lambda w, c: None)
       for p in ("/indexers/{name}", "/indexers('{name}')")},
    **{("GET", p): Route("admin", params=lambda w, c: {"name": w.indexer})
       for p in ("/indexers/{name}", "/indexers('{name}')", "/indexers/{name}/status", "/indexers('{name}')/search.status")},
    **{("DELETE", p): Route("admin", 204, params=lambda w, c: {"name": w.new_indexer()}) for p in ("/indexers/{name}", "/indexers('{name}')")},
    **{("POST", p): Route("admin", 204, params=lambda w, c: {"name": w.new_indexer()})
       for p in ("/indexers/{name}/reset", "/indexers('{name}')/search.reset")},
    **{("POST", p): Route("admin", 202, params=lambda w, c: {"name": w.new_indexer()})
       for p in ("/indexers/{name}/run", "/indexers('{name}')/search.run")},
    # ---- conversations (OpenAI Conversations API) ----
    ("POST", "/v1/conversations"): Route("tenant", scope="write", other="own", body=message()),
    ("GET", "/v1/conversations"): Route("tenant", other="own"),
    ("GET", "/v1/conversations/{conversation_id}"): Route("tenant", params=conv),
    ("POST", "/v1/conversations/{conversation_id}"): Route("tenant", scope="write", params=conv, body=lambda w, c: {"metadata": {"k": MARKER}}),
    ("DELETE", "/v1/conversations/{conversation_id}"): Route("tenant", scope="write", params=fresh_conv),
    ("POST", "/v1/conversations/{conversation_id}/items"): Route("tenant", scope="write", params=conv, body=message(MARKER)),
    ("GET", "/v1/conversations/{conversation_id}/items"): Route("tenant", params=conv),
    ("GET", "/v1/conversations/{conversation_id}/items/{item_id}"): Route("tenant", params=conv_item),
    ("DELETE", "/v1/conversations/{conversation_id}/items/{item_id}"): Route("tenant", scope="write", params=fresh_item),
    ("POST", "/v1/conversations/search"): Route("tenant", other="own", body=lambda w, c: {"query": MARKER, "mode": "text"}),
    ("GET", "/v1/tenants/{tenant_id}/conversation-search"): Route("tenant", scope="admin", other="403", params=acme),
    ("POST", "/v1/tenants/{tenant_id}/conversation-search"): Route("tenant", scope="admin", other="403", params=acme,
                                                                   body=lambda w, c: {"enabled": True}),
    ("DELETE", "/v1/tenants/{tenant_id}/conversation-search"): Route("tenant", scope="admin", other="403", params=acme, order=1),
    # ---- Foundry threads ----
    ("POST", "/threads"): Route("tenant", scope="write", other="own", body=lambda w, c: {}),
    ("GET", "/threads"): Route("tenant", other="own"),
    ("GET", "/threads/{thread_id}"): Route("tenant", params=lambda w, c: {"thread_id": w.thread}),
    ("POST", "/threads/{thread_id}"): Route("tenant", scope="write", params=lambda w, c: {"thread_id": w.thread},
                                            body=lambda w, c: {"metadata": {"a": "b"}}),
    ("DELETE", "/threads/{thread_id}"): Route("tenant", scope="write", params=fresh_conv),
    ("POST", "/threads/{thread_id}/messages"): Route("tenant", scope="write", params=lambda w, c: {"thread_id": w.thread},
                                                     body=lambda w, c: {"role": "user", "content": "hi"}),
    ("GET", "/threads/{thread_id}/messages"): Route("tenant", params=lambda w, c: {"thread_id": w.thread}),
    ("GET", "/threads/{thread_id}/messages/{message_id}"): Route("tenant", params=conv_item),
    ("POST", "/threads/{thread_id}/messages/{message_id}"): Route("tenant", scope="write", params=conv_item,
                                                                  body=lambda w, c: {"metadata": {"a": "b"}}),
    # ---- Foundry agents: classic assistants and runs, agent definitions (weft.agents) ----
    ("POST", "/assistants"): Route("tenant", scope="write", other="own", body=lambda w, c: {"model": "m", "name": "x"}),
    ("GET", "/assistants"): Route("tenant", other="own"),
    ("GET", "/assistants/{assistant_id}"): Route("tenant", params=lambda w, c: {"assistant_id": w.assistant}),
    ("POST", "/assistants/{assistant_id}"): Route("tenant", scope="write", params=lambda w, c: {"assistant_id": w.assistant},
                                                  body=lambda w, c: {"name": "renamed"}),
    ("DELETE", "/assistants/{assistant_id}"): Route("tenant", scope="write", params=lambda w, c: {"assistant_id": w.new_assistant()}),
    ("POST", "/threads/runs"): Route("tenant", scope="write", body=lambda w, c: {"assistant_id": w.assistant,
                                                                                 "thread": {"messages": [{"role": "user", "content": "hi"}]}}),
    ("POST", "/threads/{thread_id}/runs"): Route("tenant", scope="write", params=lambda w, c: {"thread_id": w.new_thread()},
                                                 body=lambda w, c: {"assistant_id": w.assistant}),
    ("GET", "/threads/{thread_id}/runs"): Route("tenant", params=lambda w, c: {"thread_id": w.thread}),
    ("GET", "/threads/{thread_id}/runs/{run_id}"): Route("tenant", params=lambda w, c: {"thread_id": w.thread, "run_id": w.run}),
    ("POST", "/threads/{thread_id}/runs/{run_id}"): Route("tenant", scope="write", params=lambda w, c: {"thread_id": w.thread, "run_id": w.run},
                                                          body=lambda w, c: {"metadata": {"a": "b"}}),
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"): Route("tenant", scope="write", params=lambda w, c: dict(zip(("thread_id", "run_id"), w.new_run()))),
    ("POST", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): Route(  # a queued run takes no outputs: 400
        "tenant", 400, scope="write", params=lambda w, c: {"thread_id": w.thread, "run_id": w.run},
        body=lambda w, c: {"tool_outputs": [{"tool_call_id": "call_1", "output": "x"}]}),
    ("GET", "/threads/{thread_id}/runs/{run_id}/steps"): Route("tenant", params=lambda w, c: {"thread_id": w.thread, "run_id": w.run}),
    ("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}"): Route("tenant", 404, params=lambda w, c: {  # no steps yet
        "thread_id": w.thread, "run_id": w.run, "step_id": "step_none"}),
    ("POST", "/agents/{name}/versions"): Route("tenant", scope="write", other="own", params=lambda w, c: {"name": fresh("mxagent")},
                                               body=lambda w, c: {"definition": {"kind": "prompt", "model": "m"}}),
    ("GET", "/agents"): Route("tenant", other="own"),
    ("GET", "/agents/{name}"): Route("tenant", params=lambda w, c: {"name": w.agent}),
    ("DELETE", "/agents/{name}"): Route("tenant", scope="write", params=lambda w, c: {"name": w.new_agent()}),
    ("GET", "/agents/{name}/versions"): Route("tenant", params=lambda w, c: {"name": w.agent}),
    ("GET", "/agents/{name}/versions/{version}"): Route("tenant", params=lambda w, c: {"name": w.agent, "version": "1"}),
    ("DELETE", "/agents/{name}/versions/{version}"): Route("tenant", scope="write", params=lambda w, c: {"name": w.new_agent(), "version": "1"}),
    # ---- admin of the tenant API ----
    ("GET", "/audit"): Route("tenant", scope="admin", other="own"),
    ("POST", "/v1/keys"): Route("tenant", scope="admin", other="own", body=lambda w, c: {"scopes": ["read"]}),
    ("GET", "/v1/keys"): Route("tenant", scope="admin", other="own"),
    ("DELETE", "/v1/keys/{key_id}"): Route("tenant", scope="admin", params=lambda w, c: {"key_id": w.new_key()}),
    ("POST", "/v1/tenants/{tenant_id}"): Route("tenant", scope="admin", other="403", params=acme, body=lambda w, c: {"retention_seconds": 0}),
    ("DELETE", "/v1/tenants/{tenant_id}/data-key"): Route("tenant", scope="admin", other="403", params=acme, order=2),
    # ---- responses, chat continuity ----
    ("POST", "/v1/responses"): Route("tenant", 400, scope="write", other="own", body=lambda w, c: {"model": "m", "input": "hi"}),  # no model configured
    ("POST", "/v1/responses/input_tokens"): Route("tenant", other="own", body=lambda w, c: {"model": "m", "input": "hi"}),
    ("POST", "/v1/responses/compact"): Route("tenant", 400, scope="write", other="own", body=lambda w, c: {"model": "m", "input": "hi"}),
    ("GET", "/v1/responses/{response_id}"): Route("tenant", params=lambda w, c: {"response_id": w.new_response()}),
    ("DELETE", "/v1/responses/{response_id}"): Route("tenant", scope="write", params=lambda w, c: {"response_id": w.new_response()}),
    ("POST", "/v1/responses/{response_id}/cancel"): Route("tenant", scope="write",
                                                          params=lambda w, c: {"response_id": w.new_response(background=True)}),
    ("GET", "/v1/responses/{response_id}/input_items"): Route("tenant", params=lambda w, c: {"response_id": w.new_response()}),
    ("POST", "/v1/chat/messages"): Route("tenant", scope="write", other="own",
                                         body=lambda w, c: {"channel": "c1", "participants": ["a", "b"], "text": "hi"}),
    ("GET", "/v1/chat/conversations/{conversation_id}/decisions"): Route("tenant", params=conv),
    # ---- the console (public files, no data; WEFT_CONSOLE=off removes them). `/` is 404 for API clients, a
    # redirect to /console for a browser (tests/console/test_console_routes.py) ----
    ("GET", "/"): Route("open", 404),
    ("GET", "/console"): Route("open"),
    ("GET", "/console/{asset:path}"): Route("open", params=lambda w, c: {"asset:path": "app.js"}),
    # ---- API docs (off by default) ----
    ("GET", "/_openapi.json"): Route("docs"),
    ("GET", "/_docs"): Route("docs"),
}


def expected(route: Route, caller: str) -> int | tuple[int, ...]:
    ok = route.ok
    if route.kind == "docs":
        return 404
    if route.kind == "open":
        return ok
    if route.kind in ("admin", "query"):
        if caller == "none":
            return 401
        if caller == "admin" or (caller == "query" and route.kind == "query"):
            return ok
        return 403
    if caller in ("none", "wrong", "query"):
        return 401
    if caller == "other":
        return {"404": 404, "403": 403, "own": ok}[route.other]
    rank = {"t_read": 1, "t_write": 2, "t_admin": 3, "admin": 3}[caller]
    return ok if rank >= {"read": 1, "write": 2, "admin": 3}[route.scope] else 403


def registered_routes(app) -> list[tuple[str, str]]:
    def walk(routes):
        for r in routes:
            if hasattr(r, "path") and hasattr(r, "methods"):
                for m in sorted(r.methods - {"HEAD"}):
                    yield m, r.path
            else:
                sub = getattr(r, "original_router", None) or getattr(r, "router", None) or getattr(r, "app", None)
                yield from walk(getattr(sub, "routes", []))
    return sorted(set(walk(app.routes)))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data = tmp_path_factory.mktemp("matrix")
    mp = pytest.MonkeyPatch()
    for name in [k for k in __import__("os").environ if k.startswith("WEFT_")]:
        mp.delenv(name)
    mp.setenv("WEFT_CONVERSATION_SEARCH_TENANTS", "acme,beta")
    mp.setenv("WEFT_CONVERSATION_SEARCH_INTERVAL", "0")
    mp.setenv("WEFT_RETENTION_INTERVAL", "0")
    app = create_app(Settings(data_dir=data, admin_keys=[ADMIN], query_keys=[QUERY]))
    threads = app.state.threads
    server = Principal("acme", frozenset({"admin"}), key_id="t", server_admin=True)
    keys = {"wrong": "not-a-key-" + uuid.uuid4().hex, "query": QUERY}
    for caller, tenant, scope in (("t_read", "acme", "read"), ("t_write", "acme", "write"), ("t_admin", "acme", "admin"), ("other", "beta", "admin")):
        keys[caller] = threads.create_api_key(server, tenant, [scope]).secret
    w = World(app, keys)
    w.conversation = w.new_conversation()
    conv_, items = threads.create_conversation(Principal.library("acme"), items=[{"role": "user", "content": f"item {MARKER}"}])
    w.conversation, w.item = conv_.id, items[0].id
    thread, msgs = threads.create_conversation(Principal.library("acme"), kind="thread", items=[{"role": "user", "content": "m"}])
    w.thread, w.message = thread.id, msgs[0].id
    w.assistant = w.new_assistant()
    w.run = app.state.runs.create(Principal.library("acme"), w.thread, {"assistant_id": w.assistant}, [])["id"]
    w.agent = w.new_agent()
    app.state.search.create_index(index_body(w.index))
    app.state.search.apply_batch(w.index, {"value": [{"@search.action": "upload", "id": "1", "title": "alpha"}]})
    w.datasource = w.new_datasource()
    w.indexer = w.new_indexer()
    w.source = w.new_source()
    w.base = w.new_base()
    w.synonyms = w.new_synonyms()
    w.alias = w.new_alias()
    yield w
    for close in reversed(app.state.closers):
        close()
    app.state.search.close()
    mp.undo()


def _body_for(route: Route, method: str, path: str, w: World, caller: str, params: dict) -> Any:
    if method == "PUT":  # create-or-update: the body names the fresh resource
        name = params["name"]
        if path.startswith("/indexes"):
            return index_body(name)
        if path.startswith("/datasources"):
            return datasource_body(name)
        if path.startswith("/synonymmaps"):
            return synonym_body(name)
        if path.startswith("/aliases"):
            return alias_body(name, w.index)
        if path.lower().startswith(("/knowledgesources", "/knowledge-sources")):
            return source_body(name, w.index)
        if path.lower().startswith(("/knowledgebases", "/knowledge-bases")):
            return base_body(name, w.source)
        return indexer_body(name, w.datasource, w.index)
    return route.body(w, caller) if route.body else None


async def _request(client: httpx.AsyncClient, w: World, method: str, path: str, route: Route, caller: str) -> httpx.Response:
    params = route.params(w, caller) if route.params else {}
    url = path
    for name, value in params.items():
        url = url.replace("{" + name + "}", value)
    body = _body_for(route, method, path, w, caller, params)
    query = {"api-version": API, **route.query} if route.kind in ("admin", "query") and path not in ("/metrics",) else dict(route.query)
    return await client.request(method, url, params=query, json=body, headers=w.headers(caller))


def test_every_route_is_in_the_matrix(world):
    missing = [r for r in registered_routes(world.app) if r not in ROUTES]
    assert not missing, f"routes without a row in the authorisation matrix: {missing}"
    stale = [r for r in ROUTES if r not in registered_routes(world.app)]
    assert not stale, f"matrix rows for routes the app no longer has: {stale}"


def test_authorisation_matrix(world):
    async def run() -> list[str]:
        failures = []
        transport = httpx.ASGITransport(app=world.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://weft.test", timeout=60) as client:
            for (method, path), route in sorted(ROUTES.items(), key=lambda kv: kv[1].order):
                for caller in CALLERS:
                    want = expected(route, caller)
                    r = await _request(client, world, method, path, route, caller)
                    wanted = want if isinstance(want, tuple) else (want,)
                    if r.status_code not in wanted:
                        failures.append(f"{method} {path} as {caller}: {r.status_code} (want {want}) {r.text[:160]}")
                    if caller == "other" and MARKER in r.text:
                        failures.append(f"{method} {path} as {caller}: acme's content in the answer")
        return failures

    failures = asyncio.run(run())
    assert not failures, "\n".join(failures)


def test_internal_indexes_do_not_exist_for_any_search_key(world):
    """A tenant's conversation-search index, by its computable name: 404 on every search route that names an index,
    for the admin and the query key alike; absent from listings and service statistics; its name cannot be
    created (400); an indexer cannot target it."""
    # beta's index (acme's is switched off and shredded by the matrix's last rows), with beta content in it
    internal = index_name_for("beta")
    search = world.app.state.search
    world.app.state.threads.create_conversation(Principal.library("beta"), items=[{"role": "user", "content": f"beta {MARKER}"}])
    assert internal in search.index_names() and search.is_internal(internal)
    assert search.search(internal, {"search": MARKER})["value"]  # the content is there, behind the facade

    async def run():
        failures = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url="http://weft.test") as client:
            for (method, path), route in ROUTES.items():
                if route.kind not in ("admin", "query") or "{name}" not in path or not path.startswith("/indexes"):
                    continue
                for key in (ADMIN, QUERY) if route.kind == "query" else (ADMIN,):
                    url = path.replace("{name}", internal).replace("{key}", "x")
                    body = {"search": "*", "suggesterName": "sg"} if method == "POST" else None
                    if path.endswith(("docs/index", "search.index")):
                        body = {"value": [{"@search.action": "upload", "id": "planted", "text": "planted"}]}
                    if method == "PUT":
                        body = index_body(internal)
                    r = await client.request(method, url, params={"api-version": API, **route.query}, json=body,
                                             headers={"api-key": key})
                    want = 400 if method == "PUT" else 404
                    if r.status_code != want or MARKER in r.text:
                        failures.append(f"{method} {url} with {'admin' if key == ADMIN else 'query'} key: {r.status_code} {r.text[:120]}")
            h = {"api-key": ADMIN}
            listed = (await client.get("/indexes", params={"api-version": API}, headers=h)).json()["value"]
            if internal in {i["name"] for i in listed}:
                failures.append("listed in GET /indexes")
            stats = (await client.get("/servicestats", params={"api-version": API}, headers=h)).json()["counters"]
            visible = [n for n in search.index_names() if not search.is_internal(n)]
            if stats["indexesCount"]["usage"] != len(visible):
                failures.append(f"counted in /servicestats: {stats['indexesCount']} vs {len(visible)} public indexes")
            for name in (internal, index_name_for("not-yet-a-tenant")):
                r = await client.post("/indexes", params={"api-version": API}, json=index_body(name), headers=h)
                if r.status_code != 400 or "reserves" not in r.json()["error"]["message"]:
                    failures.append(f"POST /indexes {name}: {r.status_code}")
            r = await client.post("/indexers", params={"api-version": API}, headers=h,
                                  json=indexer_body(fresh("mxbad"), world.datasource, internal))
            if r.status_code not in (400, 404):
                failures.append(f"indexer targeting the internal index: {r.status_code} {r.text[:120]}")
        return failures

    failures = asyncio.run(run())
    assert not failures, "\n".join(failures)
    # the planted write did not land, and acme's content is still served to acme through /v1
    assert search.lookup(internal, "planted") is None


@pytest.mark.parametrize("mode,codes", [("off", {"none": 404, "admin": 404}), ("admin", {"none": 401, "wrong": 403, "query": 403, "admin": 200}),
                                        ("on", {"none": 200})])
def test_api_docs_setting(tmp_path, mode, codes):
    app = create_app(Settings(data_dir=tmp_path, admin_keys=[ADMIN], query_keys=[QUERY], api_docs=mode))
    keys = {"none": {}, "wrong": {"api-key": "nope"}, "query": {"api-key": QUERY}, "admin": {"api-key": ADMIN}}

    async def run():
        out = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weft.test") as client:
            for caller in codes:
                out[caller] = ((await client.get("/_openapi.json", headers=keys[caller])).status_code,
                               (await client.get("/_docs", headers=keys[caller])).status_code)
        return out

    try:
        got = asyncio.run(run())
        assert got == {c: (s, s) for c, s in codes.items()}
        assert app.openapi()["paths"]  # the document stays available in-process whatever the setting
    finally:
        for close in reversed(app.state.closers):
            close()
        app.state.search.close()
