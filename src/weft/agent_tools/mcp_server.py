"""`weft mcp`: a Model Context Protocol server (official `mcp` package) exposing weft's tools.

The server talks to a running weft over HTTP with one api-key, so every tool call carries that key's
permissions (a query key can search and look up, nothing more). Transports: stdio (default) and
streamable HTTP.
"""
from __future__ import annotations

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server

from weft import __version__
from weft.agent_tools.api_client import WeftApi
from weft.agent_tools.tools import Tool, call_tool


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


def run_http(api: WeftApi, tools: list[Tool], host: str, port: int) -> None:
    import uvicorn

    server = build_server(api, tools)
    app = server.streamable_http_app(host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning")
