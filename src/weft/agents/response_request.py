"""A ``POST /v1/responses`` body, validated: every member weft honours, or a 400 naming the one it does not.

Pure: no storage, no HTTP. ``parse_request`` is the one entry point; what it returns is what the
response loop (responses.py) runs and what the Response object echoes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weft.errors import InvalidInput
from weft.threads.items import normalize_input_item, validate_metadata
from weft.threads.service import PendingItem

# Tool types of the Responses API that weft does not run (it never drops one silently).
KNOWN_TOOL_TYPES = ("function", "custom", "file_search", "web_search", "web_search_2025_08_26", "web_search_preview",
                    "web_search_preview_2025_03_11", "mcp", "code_interpreter", "image_generation", "computer",
                    "computer_use_preview", "local_shell", "shell", "apply_patch", "tool_search", "azure_ai_search")
TRUNCATION_MODES = ("auto", "disabled")
# Members that are echoed and passed to the chat endpoint unchanged.
_PASSED = ("temperature", "top_p", "user", "service_tier", "prompt_cache_key", "safety_identifier")
# Members weft reads elsewhere (or that only shape the HTTP exchange).
_HANDLED = {"model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_output_tokens", "metadata",
            "store", "background", "stream", "stream_options", "truncation", "text", "conversation", "previous_response_id",
            "include", "reasoning", "max_tool_calls", "top_logprobs", *_PASSED}
_INCLUDABLE = ("file_search_call.results", "web_search_call.results", "web_search_call.action.sources", "message.input_image.image_url",
               "computer_call_output.output.image_url", "code_interpreter_call.outputs", "reasoning.encrypted_content",
               "message.output_text.logprobs")


def invalid(message: str, param: str | None, code: str | None = "invalid_value") -> InvalidInput:
    error = InvalidInput(message, code=code)
    error.param = param  # type: ignore[attr-defined]
    return error


@dataclass
class ResponseRequest:
    model: str
    input_items: list[PendingItem]
    instructions: str | None = None
    conversation_id: str | None = None
    previous_response_id: str | None = None
    tools: list[dict] = field(default_factory=list)
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    max_output_tokens: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    store: bool = True
    background: bool = False
    stream: bool = False
    truncation: str = "disabled"
    text: dict = field(default_factory=lambda: {"format": {"type": "text"}})
    reasoning: dict | None = None
    max_tool_calls: int | None = None
    passed: dict[str, Any] = field(default_factory=dict)
    server_tools: Any = None  # the tools weft runs itself (weft.agents.server_tools.ToolTurn), when any


def _tool(raw: Any, n: int, server_tools: tuple[str, ...]) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise invalid("each tool must be an object with a 'type'.", f"tools[{n}]")
    kind = raw["type"]
    if kind == "function":
        if not isinstance(raw.get("name"), str) or not raw["name"]:
            raise invalid("a function tool needs a 'name'.", f"tools[{n}].name")
        return {"type": "function", "name": raw["name"], "description": raw.get("description"),
                "parameters": raw.get("parameters"), "strict": raw.get("strict")}
    if kind in server_tools:
        return dict(raw)
    if kind in KNOWN_TOOL_TYPES:
        raise invalid(f"Tool type '{kind}' is not supported by this server; weft runs 'function' tools"
                      + (f" and {', '.join(repr(t) for t in server_tools)}" if server_tools else "") + ".",
                      f"tools[{n}].type", "unsupported_tool_type")
    raise invalid(f"Invalid value: '{kind}'. tools[{n}].type is not a tool type of the Responses API.", f"tools[{n}].type")


def check_tool_choice(value: Any, tools: list[dict], where: str = "tool_choice", tools_where: str = "tools") -> Any:
    """``tool_choice``: 'auto', 'none', 'required' or a function of ``tools``; anything else a 400 naming it.
    (Also an agent definition's, when its version is created: weft.agents.definitions.)"""
    if value is None:
        return "auto"
    if value in ("auto", "none", "required"):
        return value
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "function":
        name = value.get("name")
        if not any(t["type"] == "function" and t.get("name") == name for t in tools):
            raise invalid(f"{where} names the function '{name}', which is not in {tools_where}.", where)
        return {"type": "function", "name": name}
    if isinstance(kind, str):
        offered = [t["type"] for t in tools if t.get("type") != "function"]
        lacks = "" if kind in offered else f" (and {tools_where} has no '{kind}' tool)"
        raise invalid(f"{where} of type '{kind}' is not supported by this server{lacks}: give 'auto', 'none', 'required' "
                      "or {\"type\": \"function\", \"name\": ...}; with 'auto' or 'required' the model calls the "
                      "tools weft runs (mcp, azure_ai_search) itself.", f"{where}.type", "unsupported_parameter")
    raise invalid(f"{where} must be 'auto', 'none', 'required' or {{\"type\": \"function\", \"name\": ...}}.", where)


def check_text(value: Any) -> dict:
    if value is None:
        return {"format": {"type": "text"}}
    if not isinstance(value, dict):
        raise invalid("text must be an object.", "text")
    unknown = set(value) - {"format", "verbosity"}
    if unknown:
        raise invalid(f"Unknown parameter: 'text.{sorted(unknown)[0]}'.", f"text.{sorted(unknown)[0]}", "unknown_parameter")
    fmt = value.get("format") or {"type": "text"}
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_schema":
        if not isinstance(fmt.get("name"), str) or not isinstance(fmt.get("schema"), dict):
            raise invalid("text.format of type json_schema needs a 'name' and a 'schema' object.", "text.format")
    elif kind not in ("text", "json_object"):
        raise invalid("text.format.type must be 'text', 'json_object' or 'json_schema'.", "text.format.type")
    out: dict = {"format": dict(fmt)}
    if value.get("verbosity") is not None:
        if value["verbosity"] not in ("low", "medium", "high"):
            raise invalid("text.verbosity must be 'low', 'medium' or 'high'.", "text.verbosity")
        out["verbosity"] = value["verbosity"]
    return out


def _input(raw: Any) -> list[PendingItem]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise invalid("input must be a string or a list of items.", "input")
    pending = []
    for n, item in enumerate(raw):
        item_type, role, body = normalize_input_item(item, f"input[{n}]")
        pending.append(PendingItem(item_type, role, body))
    return pending


def _bool(body: dict, key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"{key} must be true or false.", key)
    return value


def parse_request(body: dict, default_model: str | None, server_tools: tuple[str, ...] = ()) -> ResponseRequest:
    unknown = [k for k in body if k not in _HANDLED and body[k] is not None]
    if unknown:
        name = sorted(unknown)[0]
        if name == "prompt":
            raise invalid("Stored prompts ('prompt') are not supported by this server; send 'instructions' and 'input'.", "prompt",
                          "unsupported_parameter")
        raise invalid(f"Unrecognized request argument supplied: {name}", name, "unknown_parameter")
    conversation = body.get("conversation")
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    if conversation is not None and not isinstance(conversation, str):
        raise invalid("conversation must be a conversation id or {\"id\": ...}.", "conversation")
    previous = body.get("previous_response_id")
    if previous is not None and not isinstance(previous, str):
        raise invalid("previous_response_id must be a string.", "previous_response_id")
    if conversation and previous:
        raise invalid("previous_response_id cannot be used in conjunction with conversation.", "previous_response_id",
                      "invalid_parameter_combination")
    pending = _input(body.get("input"))
    if not pending and not conversation and not previous:
        raise invalid("Missing required parameter: 'input' (it may be omitted only with a conversation or previous_response_id).",
                      "input", "missing_required_parameter")
    model = body.get("model") or default_model
    if not model:
        raise invalid("model is required (or configure WEFT_LLM_MODEL).", "model", "missing_model")
    if not isinstance(model, str):
        raise invalid("model must be a string.", "model")
    raw_tools = body.get("tools") or []
    if not isinstance(raw_tools, list):
        raise invalid("tools must be a list of tool definitions.", "tools")
    tools = [_tool(t, n, server_tools) for n, t in enumerate(raw_tools)]
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid("instructions must be a string.", "instructions")
    max_output = body.get("max_output_tokens")
    if max_output is not None and (isinstance(max_output, bool) or not isinstance(max_output, int) or max_output < 1):
        raise invalid("max_output_tokens must be a positive integer.", "max_output_tokens")
    max_tool_calls = body.get("max_tool_calls")
    if max_tool_calls is not None and (isinstance(max_tool_calls, bool) or not isinstance(max_tool_calls, int) or max_tool_calls < 1):
        raise invalid("max_tool_calls must be a positive integer.", "max_tool_calls")
    truncation = body.get("truncation") or "disabled"
    if truncation not in TRUNCATION_MODES:
        raise invalid("truncation must be 'auto' or 'disabled'.", "truncation")
    include = body.get("include") or []
    if not isinstance(include, list) or any(i not in _INCLUDABLE for i in include):
        bad = next((i for i in include if i not in _INCLUDABLE), include) if isinstance(include, list) else include
        raise invalid(f"include: '{bad}' is not a value this API knows.", "include")
    if "message.output_text.logprobs" in include or body.get("top_logprobs"):
        raise invalid("Log probabilities are not supported by this server.", "top_logprobs" if body.get("top_logprobs") else "include",
                      "unsupported_parameter")
    reasoning = body.get("reasoning")
    if reasoning is not None and (not isinstance(reasoning, dict) or set(reasoning) - {"effort", "summary", "generate_summary"}):
        raise invalid("reasoning must be an object with 'effort' (and 'summary').", "reasoning")
    request = ResponseRequest(
        model=model, input_items=pending, instructions=instructions, conversation_id=conversation or None,
        previous_response_id=previous or None, tools=tools, tool_choice=check_tool_choice(body.get("tool_choice"), tools),
        parallel_tool_calls=_bool(body, "parallel_tool_calls", True), max_output_tokens=max_output,
        metadata=validate_metadata(body.get("metadata")), store=_bool(body, "store", True), background=_bool(body, "background", False),
        stream=_bool(body, "stream", False), truncation=truncation, text=check_text(body.get("text")), reasoning=reasoning,
        max_tool_calls=max_tool_calls, passed={k: body[k] for k in _PASSED if body.get(k) is not None})
    return request


def chat_payload(request: ResponseRequest, messages: list[dict], function_tools: list[dict]) -> dict:
    """The chat-completions request for one model call of this response."""
    payload: dict[str, Any] = {"model": request.model, "messages": messages, **request.passed}
    if request.max_output_tokens is not None:
        payload["max_tokens"] = request.max_output_tokens
    fmt = request.text["format"]
    if fmt["type"] == "json_object":
        payload["response_format"] = {"type": "json_object"}
    elif fmt["type"] == "json_schema":
        payload["response_format"] = {"type": "json_schema", "json_schema": {
            k: fmt[k] for k in ("name", "schema", "strict", "description") if fmt.get(k) is not None}}
    if request.text.get("verbosity"):
        payload["verbosity"] = request.text["verbosity"]
    if request.reasoning and request.reasoning.get("effort"):
        payload["reasoning_effort"] = request.reasoning["effort"]
    if function_tools:
        payload["tools"] = [{"type": "function", "function": {k: v for k, v in (
            ("name", t["name"]), ("description", t.get("description")), ("parameters", t.get("parameters")),
            ("strict", t.get("strict"))) if v is not None}} for t in function_tools]
        payload["parallel_tool_calls"] = request.parallel_tool_calls
        choice = request.tool_choice
        payload["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}} if isinstance(choice, dict) else choice
    return payload
