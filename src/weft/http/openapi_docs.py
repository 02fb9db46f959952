"""The OpenAPI document describes every route's parameters and bodies.

Most routes read their JSON body and query string themselves (to answer bad input in the API
family's own error shape, which FastAPI's validation cannot do), so FastAPI cannot infer them. This
module completes ``app.openapi()``: path parameters from the path template, ``api-version`` on the
search API, the query parameters and the request body schema of each route (from the tables
below), and the error responses. Schemas describe what weft reads; they do not forbid other
properties, since Azure and OpenAI clients send more than weft uses and weft answers those itself.
"""
from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

S = {"type": "string"}
I = {"type": "integer"}
N = {"type": "number"}
B = {"type": "boolean"}
STRS = {"type": "array", "items": S}
META = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 512}, "maxProperties": 16}


def obj(required: tuple[str, ...] = (), **props: Any) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


FIELD = obj(("name", "type"), name=S, type={"type": "string", "enum": [
    "Edm.String", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Boolean", "Edm.DateTimeOffset", "Edm.GeographyPoint",
    "Edm.ComplexType", "Collection(Edm.String)", "Collection(Edm.Single)", "Collection(Edm.Int32)", "Collection(Edm.Double)"]},
    key=B, searchable=B, filterable=B, sortable=B, facetable=B, retrievable=B, stored=B, analyzer=S,
    dimensions=I, vectorSearchProfile=S, fields={"type": "array", "items": {"type": "object"}})
INDEX = obj(("name", "fields"), name=S, fields={"type": "array", "items": FIELD, "minItems": 1},
            suggesters={"type": "array", "items": obj(("name", "sourceFields"), name=S, searchMode=S, sourceFields=STRS)},
            scoringProfiles={"type": "array", "items": {"type": "object"}}, defaultScoringProfile=S,
            vectorSearch={"type": "object"}, semantic={"type": "object"}, corsOptions={"type": "object"})
SEARCH = obj(search=S, searchFields=S, searchMode={"type": "string", "enum": ["any", "all"]},
             queryType={"type": "string", "enum": ["simple", "full", "semantic"]}, filter=S, orderby=S, select=S, top=I, skip=I,
             count=B, facets=STRS, highlight=S, highlightPreTag=S, highlightPostTag=S, minimumCoverage=N, scoringProfile=S,
             scoringParameters=STRS, sessionId=S, scoringStatistics=S, vectorQueries={"type": "array", "items": {"type": "object"}})
SUGGEST = obj(("search", "suggesterName"), search=S, suggesterName=S, filter=S, orderby=S, select=S, top=I, fuzzy=B,
              searchFields=S, highlightPreTag=S, highlightPostTag=S, minimumCoverage=N, autocompleteMode=S)
ALIAS = obj(("name", "indexes"), name=S, indexes={"type": "array", "items": S, "minItems": 1, "maxItems": 1})
BATCH = obj(("value",), value={"type": "array", "items": {"type": "object", "properties": {"@search.action": {
    "type": "string", "enum": ["upload", "merge", "mergeOrUpload", "delete"]}}}})
ANALYZE = obj(("text",), text=S, analyzer=S, tokenizer=S, tokenFilters=STRS, charFilters=STRS)
DATASOURCE = obj(("name", "type", "credentials", "container"), name=S, description=S,
                 type={"type": "string", "enum": ["sqlite", "postgresql", "mysql", "azuresql"]},
                 credentials=obj(connectionString=S), container=obj(("name",), name=S, query=S),
                 dataChangeDetectionPolicy={"type": "object"}, dataDeletionDetectionPolicy={"type": "object"})
INDEXER = obj(("name", "dataSourceName", "targetIndexName"), name=S, description=S, dataSourceName=S, targetIndexName=S,
              schedule=obj(interval=S, startTime=S), parameters={"type": "object"},
              fieldMappings={"type": "array", "items": {"type": "object"}}, disabled=B)
ITEM = obj(type=S, role={"type": "string", "enum": ["user", "assistant", "system", "developer", "tool"]},
           content={"oneOf": [S, {"type": "array", "items": {"type": "object"}}]})
CONVERSATION = obj(metadata=META, items={"type": "array", "items": ITEM}, retention_seconds=I)
CONVERSATION_UPDATE = obj(metadata=META, retention_seconds=I)
ITEMS = obj(("items",), items={"type": "array", "items": ITEM})
THREAD = obj(metadata=META, messages={"type": "array", "items": ITEM}, tool_resources={"type": "object"})
MESSAGE = obj(("role", "content"), role=S, content={"oneOf": [S, {"type": "array", "items": {"type": "object"}}]},
              metadata=META, attachments={"type": "array", "items": {"type": "object"}})
RESPONSE = obj(model=S, input={"oneOf": [S, {"type": "array", "items": ITEM}]}, conversation=S, previous_response_id=S,
               instructions=S, stream=B, metadata=META, tools={"type": "array", "items": {"type": "object"}})
KEY = obj(tenant=S, name=S, scopes={"type": "array", "items": {"type": "string", "enum": ["read", "write", "admin"]}})
TENANT = obj(retention_seconds=I)
CONV_SEARCH = obj(("query",), query=S, mode={"type": "string", "enum": ["text", "vector", "hybrid"]}, top=I)
CONV_SEARCH_CONFIG = obj(enabled=B, embeddings={"type": "object"}, dimensions=I, reindex=B)
CHAT = obj(("channel", "participants"), channel=S, participants=STRS, text=S, content={"type": "array", "items": {"type": "object"}},
           role=S, sender=S, thread_id=S, reply_to=S, explicit_ids=STRS, message_id=S, at={"oneOf": [S, N]})

PAGING = [("limit", I), ("order", {"type": "string", "enum": ["asc", "desc"]}), ("after", S), ("before", S)]
SEARCH_GET = [("search", S), ("searchFields", S), ("searchMode", S), ("queryType", S), ("$filter", S), ("$orderby", S),
              ("$select", S), ("$top", I), ("$skip", I), ("$count", B), ("facet", STRS), ("highlight", S), ("minimumCoverage", N),
              ("scoringProfile", S), ("scoringParameter", STRS), ("sessionId", S)]
SUGGEST_GET = [("search", S), ("suggesterName", S), ("$filter", S), ("$orderby", S), ("$select", S), ("$top", I), ("fuzzy", B),
               ("searchFields", S), ("minimumCoverage", N), ("autocompleteMode", S), ("highlightPreTag", S), ("highlightPostTag", S)]

# (method, path pattern) -> (body schema or None, [(query name, schema)])
_ROUTES: list[tuple[str, str, dict | None, list]] = [
    ("POST", r"/indexes", INDEX, []),
    ("PUT", r"/indexes(/\{name\}|\('\{name\}'\))", INDEX, []),
    ("GET", r"/indexes", None, [("$select", S)]),
    ("POST", r"/indexes.*(/analyze|search\.analyze)", ANALYZE, []),
    ("POST", r"/indexes.*(docs/index|search\.index)", BATCH, []),
    ("POST", r"/indexes.*(docs/search|search\.post\.search)", SEARCH, []),
    ("GET", r"/indexes(/\{name\}|\('\{name\}'\))/docs", None, SEARCH_GET),
    ("POST", r"/indexes.*(suggest|autocomplete)", SUGGEST, []),
    ("GET", r"/indexes.*(suggest|autocomplete)", None, SUGGEST_GET),
    ("GET", r"/indexes.*docs(/\{key\}|\('\{key\}'\))", None, [("$select", S)]),
    ("POST", r"/aliases", ALIAS, []),
    ("PUT", r"/aliases(/\{name\}|\('\{name\}'\))", ALIAS, []),
    ("GET", r"/aliases", None, [("$select", S)]),
    ("POST", r"/datasources", DATASOURCE, []),
    ("PUT", r"/datasources.*", DATASOURCE, []),
    ("POST", r"/indexers", INDEXER, []),
    ("PUT", r"/indexers(/\{name\}|\('\{name\}'\))", INDEXER, []),
    ("POST", r"/v1/conversations", CONVERSATION, []),
    ("GET", r"/v1/conversations", None, PAGING),
    ("POST", r"/v1/conversations/search", CONV_SEARCH, []),
    ("POST", r"/v1/conversations/\{conversation_id\}", CONVERSATION_UPDATE, []),
    ("POST", r"/v1/conversations/\{conversation_id\}/items", ITEMS, []),
    ("GET", r"/v1/conversations/\{conversation_id\}/items", None, PAGING),
    ("POST", r"/threads", THREAD, []),
    ("GET", r"/threads", None, PAGING),
    ("POST", r"/threads/\{thread_id\}", obj(metadata=META, tool_resources={"type": "object"}), []),
    ("POST", r"/threads/\{thread_id\}/messages", MESSAGE, []),
    ("GET", r"/threads/\{thread_id\}/messages", None, PAGING),
    ("POST", r"/threads/\{thread_id\}/messages/\{message_id\}", obj(metadata=META), []),
    ("GET", r"/audit", None, [("limit", I), ("after", I), ("since", S), ("until", S), ("tenant", S)]),
    ("POST", r"/v1/keys", KEY, []),
    ("GET", r"/v1/keys", None, [("tenant", S)]),
    ("POST", r"/v1/tenants/\{tenant_id\}", TENANT, []),
    ("POST", r"/v1/tenants/\{tenant_id\}/conversation-search", CONV_SEARCH_CONFIG, []),
    ("POST", r"/v1/responses", RESPONSE, []),
    ("POST", r"/v1/chat/messages", CHAT, []),
]

_ERROR = {"description": "Error, in the API family's shape", "content": {"application/json": {"schema": {"type": "object"}}}}


def _is_search_family(path: str) -> bool:
    return not path.startswith(("/v1/", "/threads", "/audit", "/_"))


def complete(spec: dict) -> dict:
    for path, operations in spec.get("paths", {}).items():
        names = re.findall(r"\{([^}]+)\}", path)
        for method, op in operations.items():
            params = op.setdefault("parameters", [])
            have = {(p["in"], p["name"]) for p in params}
            for name in names:
                if ("path", name) not in have:
                    params.append({"name": name, "in": "path", "required": True, "schema": S})
            if _is_search_family(path) and ("query", "api-version") not in have:
                params.append({"name": "api-version", "in": "query", "required": True,
                               "schema": {"type": "string", "enum": ["2023-11-01", "2024-07-01", "2025-09-01", "2026-04-01"]}})
            for m, pattern, body, query in _ROUTES:
                if m == method.upper() and re.fullmatch(pattern, path):
                    for name, schema in query:
                        if ("query", name) not in have:
                            entry = {"name": name, "in": "query", "required": False, "schema": schema}
                            if schema.get("type") == "array":
                                entry.update(style="form", explode=True)
                            params.append(entry)
                    if body is not None and "requestBody" not in op:
                        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
                    break
            for status in ("400", "401", "403", "404", "413", "429"):
                op.setdefault("responses", {}).setdefault(status, _ERROR)
    return spec


def install(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = complete(get_openapi(title=app.title, version=app.version, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
