"""The tools of an `azure-ai-projects` 2.x agent that weft runs itself, and the check of every tool a
`PromptAgentDefinition` may hold.

A definition's ``tools`` are checked when the version is created (``check_definition_tools``): ``function``
(the client runs it), ``mcp`` (``MCPTool``: weft connects to the server, weft.agents.mcp_tool) and
``azure_ai_search`` (``AzureAISearchTool``); any other type is a 400 naming it.

The Azure AI Search tool, in a definition or in a Responses request, is
``{"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"project_connection_id", "index_name",
"query_type", "top_k", "filter"}]}}`` (exactly one index, as Foundry allows). ``project_connection_id`` names
this weft service (its last segment, after ``/connections/`` or the whole id, is ``weft``); ``index_name`` is
the weft index (weft.agents.search_tool's rule, the same as the classic ``index_connection_id``). The model is
offered a function ``azure_ai_search(query)``; each call the model makes runs here, against weft's public
search (internal indexes out of reach), as the caller of the response: the grant the HTTP layer resolved from
the request's credential (an admin or query key, or a token granting ``documents.read``). Without one the call
fails and no document is read. A call is bounded by ``TIMEOUT_SECONDS`` (past it the call fails and the search
stops at its deadline: weft.agents.search_tool.bounded_run) and its output by ``MAX_OUTPUT_CHARS``
(documents are dropped from the end, long field values cut). Each call is two output items, as Foundry shapes
them: ``azure_ai_search_call`` (``call_id``, ``arguments``, ``status``) and ``azure_ai_search_call_output``
(``call_id``, ``output``: the JSON of ``summary``, ``documents``, ``metadata.urls/titles``, ``status``).
Each document with a URL carries its citation marker (``@citation``, weft.agents.citations); a marker the model
writes in its answer becomes a ``url_citation`` annotation of the message's ``output_text`` (OpenAI's Responses
shape; streamed as ``response.output_text.annotation.added``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from weft.agents import search_tool
from weft.agents.citations import Citations
from weft.agents.response_request import invalid
from weft.errors import InvalidInput

TOOL_TYPE = search_tool.TOOL_TYPE
CALL_ITEM = "azure_ai_search_call"
OUTPUT_ITEM = "azure_ai_search_call_output"
DEFINITION_TOOL_TYPES = ("function", "mcp", TOOL_TYPE)
TIMEOUT_SECONDS = search_tool.TIMEOUT_SECONDS
MAX_OUTPUT_CHARS = 64 * 1024
MAX_FIELD_CHARS = 4000
_SEARCH_MEMBERS = {"type", "azure_ai_search", "name", "description", "tool_configs"}
_INDEX_MEMBERS = {"project_connection_id", "index_name", "query_type", "top_k", "filter", "index_asset_id"}


# ---- definitions ------------------------------------------------------------------------------------------------
def check_definition_tools(tools: Any) -> list[dict]:
    """The tools of a PromptAgentDefinition, each one weft runs, or a 400 naming the one it does not."""
    from weft.agents import mcp_tool

    if tools is None:
        return []
    if not isinstance(tools, list):
        raise InvalidInput("definition.tools must be a list.", code="invalid_value")
    labels: set[str] = set()
    for n, tool in enumerate(tools):
        where = f"definition.tools[{n}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            if not isinstance(tool.get("name"), str) or not tool["name"]:
                raise InvalidInput(f"{where}: a function tool needs a 'name'.", code="invalid_value")
        elif kind == "mcp":
            if tool.get("project_connection_id") is not None:
                raise InvalidInput(f"{where}.project_connection_id is not supported: weft keeps no project connections; "
                                   "give the MCP server's credentials in 'headers' (or 'authorization').", code="invalid_value")
            if tool.get("tool_configs"):
                raise InvalidInput(f"{where}.tool_configs is not supported.", code="invalid_value")
            clean = {k: v for k, v in tool.items() if k not in ("project_connection_id", "tool_configs") and v is not None}
            try:
                mcp_tool.parse_mcp_tool(clean, n)
            except InvalidInput as exc:
                raise InvalidInput(f"definition.{exc.message}", code=exc.code or "invalid_value") from None
            if tool["server_label"] in labels:
                raise InvalidInput(f"{where}: two mcp tools have the server_label '{tool['server_label']}'.", code="invalid_value")
            labels.add(tool["server_label"])
        elif kind == TOOL_TYPE:
            parse_search_tool(tool, where)
        elif isinstance(kind, str):
            raise InvalidInput(f"{where}.type '{kind}' is not a tool weft runs; an agent's tools may be "
                               f"{', '.join(repr(t) for t in DEFINITION_TOOL_TYPES)}.", code="unsupported_tool_type")
        else:
            raise InvalidInput(f"{where} must be an object with a 'type'.", code="invalid_value")
    return [{k: v for k, v in t.items() if v is not None} for t in tools]


def render_definition(definition: dict) -> dict:
    """A stored definition as returned: the secrets of its MCP tools (headers' values, authorization) left out."""
    tools = definition.get("tools")
    if not tools:
        return definition
    shown = []
    for tool in tools:
        if tool.get("type") == "mcp" and (tool.get("headers") or tool.get("authorization")):
            tool = {k: v for k, v in tool.items() if k != "authorization"}
            if tool.get("headers"):
                tool["headers"] = {k: "<redacted>" for k in tool["headers"]}
        shown.append(tool)
    return {**definition, "tools": shown}


# ---- the Azure AI Search tool ------------------------------------------------------------------------------------
def parse_search_tool(raw: dict, where: str) -> search_tool.IndexResource:
    """``{"type": "azure_ai_search", "azure_ai_search": {"indexes": [...]}}``: one index, every member effective."""
    unknown = sorted(set(raw) - _SEARCH_MEMBERS)
    if unknown:
        raise invalid(f"Unknown parameter: '{where}.{unknown[0]}'.", f"{where}.{unknown[0]}", "unknown_parameter")
    for member in ("tool_configs", "name", "description"):
        if raw.get(member):  # deprecated members of the SDK model: nothing weft would do with them
            raise invalid(f"{where}.{member} is not supported.", f"{where}.{member}", "unsupported_parameter")
    resource = raw.get("azure_ai_search")
    param = f"{where}.azure_ai_search"
    if not isinstance(resource, dict) or set(resource) - {"indexes"}:
        classic = " (the classic /assistants tool names its index in tool_resources; here it is in the tool)" if resource is None else ""
        raise invalid(f"{param} must be {{\"indexes\": [{{\"project_connection_id\", \"index_name\", ...}}]}}{classic}.", param)
    indexes = resource.get("indexes")
    if not isinstance(indexes, list) or len(indexes) != 1 or not isinstance(indexes[0], dict):
        raise invalid(f"{param}.indexes must hold exactly one index.", f"{param}.indexes")
    index = indexes[0]
    unknown = sorted(set(index) - _INDEX_MEMBERS)
    if unknown:
        hint = " (the 2.x tool names the connection project_connection_id)" if unknown[0] == "index_connection_id" else ""
        raise invalid(f"Unknown parameter: '{param}.indexes[0].{unknown[0]}'{hint}.", f"{param}.indexes[0].{unknown[0]}",
                      "unknown_parameter")
    as_classic = {("index_connection_id" if k == "project_connection_id" else k): v for k, v in index.items()}
    try:
        return search_tool.check_resources({"indexes": [as_classic]}, param)[0]
    except InvalidInput as exc:
        message = exc.message.replace("index_connection_id", "project_connection_id")
        member = next((m for m in sorted(_INDEX_MEMBERS, key=len, reverse=True) if f".{m}" in message), None)
        raise invalid(message, f"{param}.indexes[0].{member}" if member else param) from None


@dataclass
class SearchTool:
    """The azure_ai_search tool of one response: its index, the search facade and the caller's grant."""
    index: search_tool.IndexResource
    public: Any = None
    grant: str | None = None

    def function(self) -> dict:
        """What the model is offered (the Responses flat function shape)."""
        offered = search_tool.function_definition()["function"]
        return {"type": "function", "name": offered["name"], "description": offered["description"],
                "parameters": offered["parameters"]}

    def call(self, arguments: str, cite: Citations | None = None) -> tuple[str, str]:
        """(output, status): the tool's output JSON, or an error text with status 'failed' (no document in it).
        With ``cite``, each document with a URL carries its citation marker (weft.agents.citations)."""
        if self.public is None:
            return "Error: this server has no search service for the azure_ai_search tool.", "failed"
        try:
            output, _citations = search_tool.bounded_run(self.public, self.grant, self.index, arguments, cite,
                                                         timeout=TIMEOUT_SECONDS)
        except search_tool.SearchToolError as exc:  # SearchTimedOut too
            return f"Error: {exc}", "failed"
        return bounded(output), "completed"


def bounded(output: str) -> str:
    """The tool output within MAX_OUTPUT_CHARS: long string values cut, then documents dropped from the end."""
    if len(output) <= MAX_OUTPUT_CHARS:
        return output
    data = json.loads(output)
    docs = [{k: (v[:MAX_FIELD_CHARS] if isinstance(v, str) else v) for k, v in d.items()} for d in data.get("documents") or []]
    meta = data.get("metadata") or {}
    while True:
        data.update(documents=docs, summary=f"{len(docs)} document(s) from the index (cut to fit the output limit)",
                    metadata={"urls": (meta.get("urls") or [])[:len(docs)], "titles": (meta.get("titles") or [])[:len(docs)]})
        text = json.dumps(data, ensure_ascii=False, default=str)
        if len(text) <= MAX_OUTPUT_CHARS or not docs:
            return text[:MAX_OUTPUT_CHARS]
        docs = docs[:-1]


def call_items(call_id: str, arguments: str, output: str, status: str, item_ids: tuple[str, str]) -> tuple[dict, dict]:
    """The two output items of one call (bodies; the ids are their item ids)."""
    call = {"type": CALL_ITEM, "id": item_ids[0], "call_id": call_id, "arguments": arguments, "status": status}
    result = {"type": OUTPUT_ITEM, "id": item_ids[1], "call_id": call_id, "output": output, "status": status}
    return call, result


def model_view(entry_type: str, body: dict) -> tuple[str, dict] | None:
    """A stored search item as the chat model understands it (a function call or its output); None for others."""
    if entry_type == CALL_ITEM:
        return "function_call", {"call_id": body.get("call_id"), "name": TOOL_TYPE, "arguments": body.get("arguments") or "{}"}
    if entry_type == OUTPUT_ITEM:
        output = body.get("output")
        return "function_call_output", {"call_id": body.get("call_id"),
                                        "output": output if isinstance(output, str) else json.dumps(output)}
    return None


def has_search_tool(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("tools"), list) and any(
        isinstance(t, dict) and t.get("type") == TOOL_TYPE for t in body["tools"])
