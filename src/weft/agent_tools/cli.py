"""`weft mcp` and `weft tools export`."""
from __future__ import annotations

import json
import os
from typing import Optional

import typer

from weft.agent_tools.tools import build_tools, export_openai

tools_app = typer.Typer(help="Agent tools as OpenAI function-calling schemas.", no_args_is_help=True)


@tools_app.command("export")
def export(
    index: Optional[str] = typer.Option(None, help="Bind the tools to one index (its name disappears from the arguments)."),
    conversations: bool = typer.Option(False, help="Include the conversation tools."),
) -> None:
    """Print the tools as OpenAI function-calling JSON (the same tools `weft mcp` serves)."""
    typer.echo(json.dumps(export_openai(build_tools(index, conversations)), indent=2))


def mcp_command(
    endpoint: str = typer.Option(os.environ.get("WEFT_ENDPOINT", "http://127.0.0.1:8080"), help="The weft server to call (WEFT_ENDPOINT)."),
    api_key: str = typer.Option(None, help="The api-key whose permissions the tools get (WEFT_TOOLS_KEY; a query key is enough to search)."),
    index: Optional[str] = typer.Option(None, help="Bind the search tools to one index."),
    conversations: bool = typer.Option(False, help="Also expose the conversation tools (history, append, search over past conversations)."),
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP instead of stdio."),
    host: str = typer.Option("127.0.0.1", help="Host for --http."),
    port: int = typer.Option(8765, help="Port for --http."),
) -> None:
    """Run a Model Context Protocol server exposing weft's search (and conversation) tools."""
    from weft.agent_tools.api_client import WeftApi
    from weft.agent_tools.mcp_server import run_http, run_stdio

    key = api_key or os.environ.get("WEFT_TOOLS_KEY")
    if not key:
        raise typer.BadParameter("give --api-key or set WEFT_TOOLS_KEY")
    api = WeftApi(endpoint, key)
    tools = build_tools(index, conversations)
    try:
        if http:
            run_http(api, tools, host, port)
        else:
            run_stdio(api, tools)
    finally:
        api.close()
