"""The Foundry Azure AI Search tool (``{"type": "azure_ai_search"}`` with ``tool_resources.azure_ai_search.indexes``)
run against weft's own indexes.

This module is the tool's whole logic — the tool resources checked, the connection id resolved to this service,
the query built per ``query_type``, the caller's search permission checked, the output shaped as Azure shapes it —
so that the run loop needs one call (``Runs._turn``) and the run routes one (the creator's grant).

Permission rule: the search runs as the caller of the run. The HTTP layer resolves, when the run is created, what
the caller's credential may do through weft's normal search authorisation (``KeyChecker.check(admin=False)``:
an admin key, a query key, or a token whose roles grant ``documents.read``, whatever API its audience names) and
passes it here as ``grant``; no
grant is a failed tool call, never a search. Internal ``conversations-...`` indexes stay out of reach because the
search goes through ``PublicSearch``.
"""
from __future__ import annotations

import concurrent.futures
import json
import time
from dataclasses import dataclass
from typing import Any

from weft import deadline
from weft.agents.citations import HINT, Citations
from weft.errors import InvalidInput, WeftError

TOOL_TYPE = "azure_ai_search"
QUERY_TYPES = ("simple", "semantic", "vector", "vector_simple_hybrid", "vector_semantic_hybrid")
_INDEX_FIELDS = {"index_connection_id", "index_name", "query_type", "top_k", "filter", "index_asset_id"}
DEFAULT_TOP_K = 5
MAX_TOP_K = 50
# the document field weft reads a citation URL from (then `url`, then none)
URL_FIELDS = ("url", "uri", "metadata_storage_path")
TITLE_FIELDS = ("title", "name")
TIMEOUT_SECONDS = 20.0  # a call's bound (``bounded_run``)
# the threads tool calls run on: a call past its bound is given up by its caller and stops at its deadline
# (weft.deadline: checked between the search's stages, bounding its embedding and reranker calls), so timed-out
# calls free their thread instead of holding it
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="weft-search-tool")


class SearchToolError(Exception):
    """The tool call failed (Azure shows a failed tool call, the run goes on with the error as the output)."""


class SearchTimedOut(SearchToolError):
    """The call did not finish within its bound."""


@dataclass(frozen=True)
class IndexResource:
    connection_id: str
    index_name: str
    query_type: str = "simple"
    top_k: int = DEFAULT_TOP_K
    filter: str | None = None


def resolve_connection(connection_id: Any, param: str, service_names: tuple[str, ...] = ("weft",)) -> str:
    """A connection id names this service when its last segment (after ``/connections/``, or the whole id when
    it has no slash) is one of ``service_names``; anything else is a 400."""
    if not isinstance(connection_id, str) or not connection_id.strip():
        raise InvalidInput(f"{param} is required: the id of a connection to this weft service.", code="invalid_value")
    last = connection_id.rstrip("/").rsplit("/", 1)[-1]
    if last not in service_names:
        raise InvalidInput(f"{param} '{connection_id}' does not name this service: its last segment must be one of "
                           f"{', '.join(service_names)}.", code="invalid_value")
    return last


def check_resources(value: Any, param: str = "tool_resources.azure_ai_search",
                    service_names: tuple[str, ...] = ("weft",)) -> list[IndexResource]:
    """``tool_resources.azure_ai_search``: exactly one index (as Azure allows), each member effective or a 400."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{param} must be an object with 'indexes'.", code="invalid_value")
    unknown = sorted(set(value) - {"indexes"})
    if unknown:
        raise InvalidInput(f"{param}.{unknown[0]} is not supported.", code="invalid_value")
    indexes = value.get("indexes")
    if not isinstance(indexes, list) or len(indexes) != 1:
        raise InvalidInput(f"{param}.indexes must hold exactly one index.", code="invalid_value")
    raw = indexes[0]
    where = f"{param}.indexes[0]"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object.", code="invalid_value")
    unknown = sorted(set(raw) - _INDEX_FIELDS)
    if unknown:
        raise InvalidInput(f"{where}.{unknown[0]} is not supported.", code="invalid_value")
    if raw.get("index_asset_id"):  # the SDK sends "" when none is given
        raise InvalidInput(f"{where}.index_asset_id is not supported: name the index with index_connection_id and index_name.",
                           code="invalid_value")
    resolve_connection(raw.get("index_connection_id"), f"{where}.index_connection_id", service_names)
    name = raw.get("index_name")
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{where}.index_name is required.", code="invalid_value")
    query_type = raw.get("query_type") or "simple"
    if query_type not in QUERY_TYPES:
        raise InvalidInput(f"{where}.query_type must be one of {', '.join(QUERY_TYPES)}.", code="invalid_value")
    top_k = raw.get("top_k", DEFAULT_TOP_K)
    if top_k is None:
        top_k = DEFAULT_TOP_K
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InvalidInput(f"{where}.top_k must be an integer from 1 to {MAX_TOP_K}.", code="invalid_value")
    flt = raw.get("filter")
    if flt is not None and not isinstance(flt, str):
        raise InvalidInput(f"{where}.filter must be an OData filter string.", code="invalid_value")
    return [IndexResource(raw["index_connection_id"], name, query_type, top_k, flt or None)]


def function_definition() -> dict:
    """What the model is offered in place of the tool: a function with a ``query`` parameter."""
    return {"type": "function", "function": {
        "name": TOOL_TYPE, "description": "Searches the agent's Azure AI Search index and returns the matching documents.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "What to search for."}},
                       "required": ["query"]}}}


def _vector_fields(definition: dict) -> list[str]:
    fields = definition.get("fields") or []
    profiles = {p.get("name"): p for p in (definition.get("vectorSearch") or {}).get("profiles") or []}
    return [f["name"] for f in fields
            if f.get("vectorSearchProfile") and (profiles.get(f["vectorSearchProfile"]) or {}).get("vectorizer")]


def query_body(index: IndexResource, query: str, definition: dict) -> dict:
    """The search request of one tool call, per ``query_type``."""
    body: dict[str, Any] = {"top": index.top_k}
    if index.filter:
        body["filter"] = index.filter
    kind = index.query_type
    if kind in ("simple", "semantic", "vector_simple_hybrid", "vector_semantic_hybrid"):
        body["search"] = query
    if kind in ("semantic", "vector_semantic_hybrid"):
        body["queryType"] = "semantic"
    if kind.startswith("vector"):
        fields = _vector_fields(definition)
        if not fields:
            raise SearchToolError(f"query_type '{kind}' needs a vector field with a vectorizer in index '{index.index_name}'; "
                                  "it has none.")
        body["vectorQueries"] = [{"kind": "text", "text": query, "fields": ",".join(fields), "k": index.top_k}]
    return body


def _first(doc: dict, names: tuple[str, ...]) -> str | None:
    for name in names:
        if isinstance(doc.get(name), str) and doc[name]:
            return doc[name]
    return None


def run(public, grant: str | None, index: IndexResource, arguments: str, cite: Citations | None = None) -> tuple[str, list[dict]]:
    """One tool call: the output string the model and the run step see, and the documents' citations
    (``{"url", "title"}``). With ``cite``, each document with a URL carries its citation marker (``@citation``,
    weft.agents.citations). Raises SearchToolError for a failed call (no document text in it)."""
    if grant is None:
        raise SearchToolError(f"The caller of this run or response may not query index '{index.index_name}': its credential is "
                              "neither a search admin key, a query key, nor a token granting documents.read.")
    try:
        query = json.loads(arguments or "{}").get("query")
    except (ValueError, AttributeError):
        query = None
    if not isinstance(query, str):
        raise SearchToolError("The tool call's arguments must be a JSON object with a string 'query'.")
    try:
        deadline.check("The search")
        definition = public.get_index(index.index_name)
        result = public.search(index.index_name, query_body(index, query, definition))
        deadline.check("The search")  # given up meanwhile: nothing more is done (the citations are not touched)
    except WeftError as exc:
        raise SearchToolError(f"Searching index '{index.index_name}' failed: {exc.message}") from None
    docs = []
    citations = []
    for hit in result.get("value") or []:
        doc = {k: v for k, v in hit.items() if not k.startswith("@search.")}
        vector = set(_vector_fields(definition))
        doc = {k: v for k, v in doc.items() if k not in vector}
        docs.append(doc)
        url = _first(doc, URL_FIELDS)
        citations.append({"url": url, "title": _first(doc, TITLE_FIELDS) or url})
    output: dict[str, Any] = {"summary": f"{len(docs)} document(s) from index '{index.index_name}'", "documents": docs,
                              "metadata": {"urls": [c["url"] for c in citations], "titles": [c["title"] for c in citations]}}
    if cite is not None:
        markers = cite.add_call(citations)
        for doc, mark in zip(docs, markers):
            if mark is not None:
                doc["@citation"] = mark  # an Azure field name starts with a letter: no document field is overwritten
        if any(markers):
            output["instructions"] = HINT
    return json.dumps(output, ensure_ascii=False, default=str), citations


def _run_until(at: float, *args) -> tuple[str, list[dict]]:
    with deadline.until(at):
        return run(*args)


def bounded_run(public, grant: str | None, index: IndexResource, arguments: str, cite: Citations | None = None,
                timeout: float = TIMEOUT_SECONDS) -> tuple[str, list[dict]]:
    """``run`` within ``timeout`` seconds, counted from now (time spent waiting for a thread included): past it
    SearchTimedOut, and the search, told by its deadline, stops too."""
    at = time.monotonic() + timeout
    future = _POOL.submit(_run_until, at, public, grant, index, arguments, cite)
    try:
        return future.result(timeout=max(0.0, at - time.monotonic()))
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise SearchTimedOut(f"Searching index '{index.index_name}' took longer than {timeout:g} s.") from None


def step_call(call_id: str, arguments: str, output: str) -> dict:
    """The run step's tool call, as Azure shapes it (``azure_ai_search: {input, output}``)."""
    return {"id": call_id, "type": TOOL_TYPE, TOOL_TYPE: {"input": arguments, "output": output}}


# ---- the hook of the run loop (weft.agents.runs.Runs._turn) ----------------------------------------------------
MAX_SEARCH_ROUNDS = 4


def _offered(tools: list[dict]) -> list[dict]:
    return [function_definition() if t.get("type") == TOOL_TYPE else t for t in tools]


def model_with_search(runs, principal, run_id: str, state: dict, payload: dict, on_text, emit):
    """``runs._model`` for a run whose tools include ``azure_ai_search``: the model's search calls are answered here
    (each a completed or failed ``tool_calls`` step with an ``azure_ai_search`` call), then the model is asked again;
    what is left (text, or function calls for the client) is returned as ``runs._model`` returns it, with the url
    citation annotations of the text (weft.agents.citations; none without a search tool)."""
    from weft.agents import run_shapes as shapes

    the_run = state["run"]
    if not any(t.get("type") == TOOL_TYPE for t in the_run.get("tools") or []):
        return (*runs._model(payload, on_text), [])
    cite = Citations()
    payload = {**payload, "tools": _offered(payload.get("tools") or []), "messages": list(payload["messages"])}
    resources = (runs.assistants.state(principal, the_run["assistant_id"]).get("tool_resources") or {}).get(TOOL_TYPE)
    index = check_resources(resources)[0] if resources else None
    grant = state.get("search_grant")
    total: dict | None = None
    for _ in range(MAX_SEARCH_ROUNDS + 1):
        text, calls, usage = runs._model(payload, on_text)
        if usage:
            total = {k: (total or {}).get(k, 0) + int(usage.get(k) or 0) for k in set(usage) | set(total or {})
                     if isinstance(usage.get(k, 0), int)}
        mine = [c for c in calls if (c.get("function") or {}).get("name") == TOOL_TYPE]
        if not mine or len(mine) != len(calls):
            return text, calls, total, cite.annotations(text) if not calls else []
        payload["messages"].append({"role": "assistant", "content": text or None, "tool_calls": [
            {"id": c.get("id"), "type": "function", "function": c["function"]} for c in mine]})
        for call in mine:
            arguments = call["function"].get("arguments") or "{}"
            error = None
            try:
                if index is None:
                    raise SearchToolError("The run has no tool_resources.azure_ai_search index.")
                output, _citations = bounded_run(getattr(runs, "public", None), grant, index, arguments, cite)
            except SearchToolError as exc:
                output, error = f"Error: {exc}", {"code": "tool_user_error", "message": str(exc)}
            step = shapes.new_step(the_run, "tool_calls", {"type": "tool_calls", "tool_calls": [
                step_call(call.get("id") or "", arguments, output)]})
            shapes.finish_step(step, "failed" if error else "completed", error)
            runs.records.mutate(principal, run_id, lambda s, step=step: s["steps"].append(step))
            begun = {**step, "status": "in_progress", "last_error": None, "completed_at": None, "failed_at": None}
            emit("thread.run.step.created", begun)
            emit("thread.run.step.in_progress", begun)
            emit(f"thread.run.step.{step['status']}", step)
            payload["messages"].append({"role": "tool", "tool_call_id": call.get("id"), "content": output})
    raise InvalidInput(f"The model kept calling {TOOL_TYPE} past {MAX_SEARCH_ROUNDS} rounds.", code="tool_rounds_exceeded")


def record_grant(runs, principal, run_id: str, grant: str | None) -> None:
    """What the run's creator may do through weft's search authorisation ('admin', 'query', 'token' or None),
    kept with the run before it starts (the HTTP layer resolves it from the creating request)."""
    runs.records.mutate(principal, run_id, lambda s: s.__setitem__("search_grant", grant))
