"""The ``mcp`` tool of ``/v1/responses``: a remote MCP server weft connects to on the caller's behalf.

A tool definition (``server_label``, ``server_url``, ``headers``/``authorization``, ``allowed_tools``,
``require_approval``, ``server_description``) is validated here; its URL must match the operator's
allow-list (``WEFT_ALLOWED_MODEL_ENDPOINTS``, the one weft.search.endpoints keeps for every outbound
URL a request can name: without it, a caller could make weft reach the loopback, the cloud metadata
service or the internal network). ``connector_id`` and ``tunnel_id`` (OpenAI's hosted connectors) are
refused.

The client is the official ``mcp`` package over streamable HTTP, one short session per operation
(list the tools, call one tool), run with ``anyio.run`` in the worker thread of the response; each
operation is bounded by ``TIMEOUT_SECONDS`` and a tool's output by ``MAX_OUTPUT_CHARS``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from weft.errors import WeftError
from weft.agents.response_request import invalid

TIMEOUT_SECONDS = 30.0
MAX_OUTPUT_CHARS = 64 * 1024
MAX_TOOLS = 128
_MEMBERS = {"type", "server_label", "server_url", "headers", "authorization", "allowed_tools", "require_approval",
            "server_description", "connector_id", "tunnel_id", "defer_loading", "allowed_callers"}


class McpUnavailable(WeftError):
    """The MCP server could not list its tools: OpenAI answers 424 (failed dependency)."""
    status = 424


@dataclass(frozen=True)
class McpServer:
    label: str
    url: str
    headers: dict
    allowed: Any          # None, a list of names, or {"tool_names", "read_only"}
    approval: Any         # "always", "never" or {"always": filter, "never": filter}
    description: str | None = None


def _filter(value: Any, param: str) -> Any:
    if value is None or isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, dict) and not set(value) - {"tool_names", "read_only"}:
        names = value.get("tool_names")
        if names is not None and not (isinstance(names, list) and all(isinstance(v, str) for v in names)):
            raise invalid(f"{param}.tool_names must be a list of tool names.", f"{param}.tool_names")
        if value.get("read_only") is not None and not isinstance(value["read_only"], bool):
            raise invalid(f"{param}.read_only must be true or false.", f"{param}.read_only")
        return value
    raise invalid(f"{param} must be a list of tool names or {{\"tool_names\": [...], \"read_only\": ...}}.", param)


def parse_mcp_tool(raw: dict, n: int) -> dict:
    """Validates an ``mcp`` tool definition; returns it as echoed in the Response."""
    param = f"tools[{n}]"
    unknown = sorted(set(raw) - _MEMBERS)
    if unknown:
        raise invalid(f"Unknown parameter: '{param}.{unknown[0]}'.", f"{param}.{unknown[0]}", "unknown_parameter")
    for member in ("connector_id", "tunnel_id"):
        if raw.get(member) is not None:
            raise invalid(f"{param}.{member}: OpenAI's hosted connectors and tunnels are not available on this server; "
                          "give the MCP server's 'server_url'.", f"{param}.{member}", "unsupported_parameter")
    if raw.get("defer_loading"):
        raise invalid(f"{param}.defer_loading (tool search) is not supported by this server.", f"{param}.defer_loading",
                      "unsupported_parameter")
    if raw.get("allowed_callers") not in (None, ["direct"]):
        raise invalid(f"{param}.allowed_callers: only 'direct' calls are supported by this server.", f"{param}.allowed_callers",
                      "unsupported_parameter")
    label = raw.get("server_label")
    if not isinstance(label, str) or not label:
        raise invalid("an mcp tool needs a 'server_label'.", f"{param}.server_label", "missing_required_parameter")
    url = raw.get("server_url")
    if not isinstance(url, str) or not url:
        raise invalid("an mcp tool needs a 'server_url'.", f"{param}.server_url", "missing_required_parameter")
    from weft.search.endpoints import ENV, POLICY

    if not POLICY.allows(url):
        raise invalid(f"{param}.server_url names an MCP server that is not in this server's allowed endpoints ({ENV}); "
                      "ask the operator to add it.", f"{param}.server_url", "invalid_value")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise invalid(f"{param}.headers must be an object of strings.", f"{param}.headers")
    if raw.get("authorization") is not None and not isinstance(raw["authorization"], str):
        raise invalid(f"{param}.authorization must be a string (an access token).", f"{param}.authorization")
    _filter(raw.get("allowed_tools"), f"{param}.allowed_tools")
    approval = raw.get("require_approval")
    if approval is not None and approval not in ("always", "never"):
        if not isinstance(approval, dict) or set(approval) - {"always", "never"}:
            raise invalid(f"{param}.require_approval must be 'always', 'never' or {{\"always\": ..., \"never\": ...}}.",
                          f"{param}.require_approval")
        for key in ("always", "never"):
            if approval.get(key) is not None and not isinstance(approval[key], dict):
                raise invalid(f"{param}.require_approval.{key} must be a filter object.", f"{param}.require_approval.{key}")
            _filter(approval.get(key), f"{param}.require_approval.{key}")
    if raw.get("server_description") is not None and not isinstance(raw["server_description"], str):
        raise invalid(f"{param}.server_description must be a string.", f"{param}.server_description")
    out = {"type": "mcp", "server_label": label, "server_url": url}
    for key in ("allowed_tools", "require_approval", "server_description"):
        if raw.get(key) is not None:
            out[key] = raw[key]
    if headers:
        out["headers"] = {k: "<redacted>" for k in headers}  # secrets are not echoed (nor stored)
    return out


def server_of(raw: dict) -> McpServer:
    """The connection facts of a validated definition (the original body, with its headers)."""
    headers = dict(raw.get("headers") or {})
    if raw.get("authorization"):
        headers["Authorization"] = f"Bearer {raw['authorization']}"
    return McpServer(raw["server_label"], raw["server_url"], headers, raw.get("allowed_tools"),
                     raw.get("require_approval") or "always", raw.get("server_description"))


def _matches(flt: Any, tool: dict) -> bool:
    if flt is None:
        return False
    if isinstance(flt, list):
        return tool["name"] in flt
    names, read_only = flt.get("tool_names"), flt.get("read_only")
    if names is None and read_only is None:
        return False
    if names is not None and tool["name"] not in names:
        return False
    if read_only is not None and bool((tool.get("annotations") or {}).get("readOnlyHint")) != read_only:
        return False
    return True


def allowed(server: McpServer, tool: dict) -> bool:
    return server.allowed is None or _matches(server.allowed, tool)


def needs_approval(server: McpServer, tool: dict) -> bool:
    policy = server.approval
    if policy in ("always", "never"):
        return policy == "always"
    if _matches(policy.get("never"), tool):
        return False
    return True  # named under "always", or named nowhere: approval, OpenAI's default


# ---- the MCP client -------------------------------------------------------------------------------------------
def _run(server: McpServer, operation):
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async def main():
        with anyio.fail_after(TIMEOUT_SECONDS):
            http = create_mcp_http_client(headers=server.headers, timeout=httpx2.Timeout(TIMEOUT_SECONDS))
            async with http:
                async with Client(streamable_http_client(server.url, http_client=http), cache=None) as client:
                    return await operation(client)

    return anyio.run(main)


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"Http status code: {status}" if status else (str(exc) or type(exc).__name__)


def list_tools(server: McpServer) -> list[dict]:
    """The server's tools as ``mcp_list_tools`` lists them (after ``allowed_tools``); McpUnavailable if it fails."""
    async def operation(client):
        tools, cursor = [], None
        while len(tools) < MAX_TOOLS:
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    try:
        raw = _run(server, operation)
    except Exception as exc:
        raise McpUnavailable(f"Error retrieving tool list from MCP server: '{server.label}'. {_describe(exc)}",
                             code="mcp_list_tools_failed") from None
    out = []
    for tool in raw[:MAX_TOOLS]:
        annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else None
        item = {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema or {"type": "object"},
                "annotations": annotations}
        if allowed(server, item):
            out.append(item)
    return out


def call_tool(server: McpServer, name: str, arguments: str) -> tuple[str | None, dict | None]:
    """Runs one call: (output, None) or (None, error) in the shapes of an ``mcp_call`` item."""
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        return None, {"type": "mcp_protocol_error", "code": -32602, "message": "the model's arguments are not JSON"}
    if not isinstance(args, dict):
        return None, {"type": "mcp_protocol_error", "code": -32602, "message": "the model's arguments are not a JSON object"}

    async def operation(client):
        return await client.call_tool(name, args)

    try:
        result = _run(server, operation)
    except Exception as exc:
        inner = exc
        while isinstance(inner, BaseExceptionGroup) and inner.exceptions:
            inner = inner.exceptions[0]
        code = getattr(getattr(inner, "error", None), "code", None)
        if isinstance(code, int):
            return None, {"type": "mcp_protocol_error", "code": code, "message": str(getattr(inner.error, "message", inner))}
        status = getattr(getattr(inner, "response", None), "status_code", None)
        if status:
            return None, {"type": "http_error", "code": int(status), "message": _describe(inner)}
        return None, {"type": "mcp_protocol_error", "code": -32603, "message": _describe(inner)}
    texts = [getattr(part, "text", None) for part in result.content or []]
    text = "\n".join(t for t in texts if t is not None)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS]
    if result.is_error:
        return None, {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": text}]}
    return text, None
