"""`weft mcp`: a Model Context Protocol server (official `mcp` package) exposing weft's tools.

The server talks to a running weft over HTTP with one api-key, so every tool call carries that key's
permissions (a query key can search and look up, nothing more). Transports: stdio (default) and
streamable HTTP.

Over HTTP the server is a door to that api-key, so it is guarded: every request needs the transport's own
bearer token (``Authorization: Bearer <token>``; ``--http-token``/``--http-token-file``/``WEFT_MCP_TOKEN``/
``WEFT_MCP_TOKEN_FILE``, generated and printed when none is given); the Host and Origin headers must name
the loopback or a host given with ``--allowed-host`` (DNS-rebinding protection: a web page in a browser on
the same machine cannot reach it through a name that resolves to 127.0.0.1); it listens on 127.0.0.1
unless ``--host`` says otherwise.
"""
from __future__ import annotations

import hmac
import json
from typing import Any, Iterable

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server

from weft import __version__
from weft.agent_tools.api_client import WeftApi
from weft.agent_tools.tools import Tool, call_tool

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def build_server(api: WeftApi, tools: list[Tool]) -> Server:
    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[types.Tool(name=t.name, description=t.description, inputSchema=t.parameters) for t in tools]
        )

    async def run_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        text = await anyio.to_thread.run_sync(call_tool, tools, api, params.name, dict(params.arguments or {}))
        is_error = text.startswith('{"error"')
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=is_error)

    return Server("weft", version=__version__, instructions="Search and look up documents in weft's indexes.",
                  on_list_tools=list_tools, on_call_tool=run_tool)


def run_stdio(api: WeftApi, tools: list[Tool]) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(api, tools)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)


def transport_security(host: str, allowed_hosts: Iterable[str] = ()):
    """Host/Origin checks of the `mcp` package: the loopback names, the listening host and the given hosts."""
    from mcp.server.transport_security import TransportSecuritySettings

    names = list(LOOPBACK_HOSTS)
    for name in (host, *allowed_hosts):
        name = name.strip()
        if name and name not in ("0.0.0.0", "::"):
            name = f"[{name}]" if ":" in name and not name.startswith("[") else name
            if name not in names:
                names.append(name)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[h for n in names for h in (n, f"{n}:*")],
        allowed_origins=[o for n in names for o in (f"http://{n}", f"http://{n}:*", f"https://{n}", f"https://{n}:*")],
    )


class BearerTokenGuard:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>`` (constant-time compare)."""

    def __init__(self, app: Any, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth = b""
        for name, value in scope.get("headers") or []:
            if name == b"authorization":
                auth = value
        presented = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        if presented and hmac.compare_digest(presented, self.token):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "unauthorized", "error_description": "This MCP server needs its bearer token."}).encode()
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b'Bearer realm="weft-mcp"')]})
        await send({"type": "http.response.body", "body": body})


def http_app(api: WeftApi, tools: list[Tool], host: str, token: str, allowed_hosts: Iterable[str] = ()):
    server = build_server(api, tools)
    app = server.streamable_http_app(host=host, transport_security=transport_security(host, allowed_hosts))
    return BearerTokenGuard(app, token)


def run_http(api: WeftApi, tools: list[Tool], host: str, port: int, token: str, allowed_hosts: Iterable[str] = ()) -> None:
    import uvicorn

    uvicorn.run(http_app(api, tools, host, token, allowed_hosts), host=host, port=port, log_level="warning")
