"""Classic Foundry Agent Service agents (`azure-ai-agents` 1.x `/assistants`): create, get, update, delete, list.

An agent is a model, instructions, function tools and sampling options; weft runs function tools only (the caller
executes them and submits their outputs), so a tool of another type, or tool resources, are refused with a 400
naming the member (reference `agents-and-retrieval-api.md` section 3)."""
from __future__ import annotations

from typing import Any

from weft.agents.agent_records import AgentRecords
from weft.errors import InvalidInput
from weft.threads.items import validate_metadata
from weft.threads.policy import Principal
from weft.threads.service import Conversation, Page, ThreadService

_RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema")


def check_tools(tools: Any, param: str = "tools") -> list[dict]:
    """Assistants-style function tools: ``{"type": "function", "function": {"name", "description", "parameters"}}``."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise InvalidInput(f"'{param}' must be a list of tool definitions.", code="invalid_value")
    out = []
    for n, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "azure_ai_search":  # run server-side against weft's indexes (weft.agents.search_tool)
            if set(tool) - {"type"}:
                extra = sorted(set(tool) - {"type"})[0]
                shape = (" is the azure-ai-projects 2.x tool shape (for /agents/{name}/versions and /v1/responses)"
                         if extra == "azure_ai_search" else " is not supported")
                raise InvalidInput(f"{param}[{n}].{extra}{shape}: a classic agent's tool is {{\"type\": \"azure_ai_search\"}} "
                                   "and its index is named in tool_resources: {\"azure_ai_search\": {\"indexes\": "
                                   "[{\"index_connection_id\": \".../connections/weft\", \"index_name\": ...}]}} "
                                   "(what azure-ai-agents' AzureAISearchTool(index_connection_id, index_name) sends).",
                                   code="invalid_value")
            out.append({"type": "azure_ai_search"})
            continue
        if kind != "function":
            raise InvalidInput(f"{param}[{n}].type {kind!r} is not supported: weft runs function tools only.", code="invalid_value")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise InvalidInput(f"{param}[{n}].function.name is required.", code="invalid_value")
        if function.get("parameters") is not None and not isinstance(function["parameters"], dict):
            raise InvalidInput(f"{param}[{n}].function.parameters must be a JSON schema object.", code="invalid_value")
        out.append({"type": "function", "function": {k: function[k] for k in ("name", "description", "parameters", "strict") if k in function}})
    return out


def check_response_format(value: Any, param: str = "response_format") -> Any:
    if value is None or value == "auto":
        return value
    if isinstance(value, dict) and value.get("type") in _RESPONSE_FORMAT_TYPES:
        if value["type"] == "json_schema" and not isinstance(value.get("json_schema"), dict):
            raise InvalidInput(f"{param}.json_schema is required with type 'json_schema'.", code="invalid_value")
        return value
    raise InvalidInput(f"{param} must be 'auto' or an object with type text, json_object or json_schema.", code="invalid_value")


def check_number(value: Any, param: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidInput(f"{param} must be a number from {low} to {high}.", code="invalid_value")
    return value


def check_tool_resources(value: Any, param: str = "tool_resources", *, allow_search: bool = False) -> dict:
    """Only ``azure_ai_search`` (where ``allow_search``: an assistant's resources), checked by weft.agents.search_tool."""
    from weft.agents import search_tool

    if value is not None and not isinstance(value, dict):
        raise InvalidInput(f"{param} must be an object.", code="invalid_value")
    value = value or {}
    kept = {}
    for key, resource in value.items():
        if not resource:
            continue
        if key == search_tool.TOOL_TYPE and allow_search:
            search_tool.check_resources(resource, f"{param}.{key}")
            kept[key] = resource
            continue
        raise InvalidInput(f"{param}.{key} is not supported: weft has no file search or code interpreter resources"
                           + ("" if allow_search else ", and a run's tool_resources cannot name an Azure AI Search index "
                              "(give it to the assistant)") + ".", code="invalid_value")
    return kept


def _text(value: Any, param: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{param} must be a string of at most {limit} characters.", code="invalid_value")
    return value


def assistant_json(record: Conversation) -> dict:
    state = record.extra
    return {"id": record.id, "object": "assistant", "created_at": record.created_at, **state}


_FIELDS = ("model", "name", "description", "instructions", "tools", "tool_resources", "temperature", "top_p", "response_format", "metadata")


class Assistants:
    def __init__(self, service: ThreadService, default_model: str | None = None):
        self.records = AgentRecords(service, "assistant")
        self.default_model = default_model

    def _state(self, body: dict, current: dict | None = None) -> dict:
        unknown = sorted(set(body) - set(_FIELDS))
        if unknown:
            raise InvalidInput(f"Unknown parameter '{unknown[0]}'.", code="unknown_parameter")
        state = dict(current or {"model": None, "name": None, "description": None, "instructions": None, "tools": [],
                                 "tool_resources": {}, "temperature": None, "top_p": None, "response_format": None, "metadata": {}})
        if "model" in body or current is None:
            model = body.get("model") or self.default_model
            if not isinstance(model, str) or not model:
                raise InvalidInput("model is required.", code="invalid_value")
            state["model"] = model
        for key, limit in (("name", 256), ("description", 512), ("instructions", 256_000)):
            if key in body:
                state[key] = _text(body[key], key, limit)
        if "tools" in body:
            state["tools"] = check_tools(body["tools"])
        if "tool_resources" in body:
            state["tool_resources"] = check_tool_resources(body["tool_resources"], allow_search=True)
        if "temperature" in body:
            state["temperature"] = check_number(body["temperature"], "temperature", 0, 2)
        if "top_p" in body:
            state["top_p"] = check_number(body["top_p"], "top_p", 0, 1)
        if "response_format" in body:
            state["response_format"] = check_response_format(body["response_format"])
        if "metadata" in body:
            state["metadata"] = validate_metadata(body["metadata"])
        if any(t.get("type") == "azure_ai_search" for t in state["tools"]) != bool((state["tool_resources"] or {}).get("azure_ai_search")):
            raise InvalidInput("tools azure_ai_search and tool_resources.azure_ai_search go together: give both or neither.",
                               code="invalid_value")
        return state

    def create(self, principal: Principal, body: dict) -> dict:
        return assistant_json(self.records.create(principal, self._state(body)))

    def get(self, principal: Principal, assistant_id: str) -> dict:
        return assistant_json(self.records.get(principal, assistant_id))

    def state(self, principal: Principal, assistant_id: str) -> dict:
        return dict(self.records.get(principal, assistant_id).extra)

    def update(self, principal: Principal, assistant_id: str, body: dict) -> dict:
        def change(state: dict) -> None:
            state.update(self._state(body, state))

        self.records.mutate(principal, assistant_id, change)
        return self.get(principal, assistant_id)

    def delete(self, principal: Principal, assistant_id: str) -> dict:
        self.records.delete(principal, assistant_id)
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}

    def list(self, principal: Principal, *, limit: int, order: str, after: str | None, before: str | None) -> Page:
        page = self.records.list(principal, limit=limit, order=order, after=after, before=before)
        return Page([assistant_json(r) for r in page.data], page.has_more)
