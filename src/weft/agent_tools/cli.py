"""`weft mcp` and `weft tools export`."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Optional

import typer

from weft.agent_tools.tools import build_tools, export_openai

tools_app = typer.Typer(help="Agent tools as OpenAI function-calling schemas.", no_args_is_help=True)


@tools_app.command("export")
def export(
    index: Optional[str] = typer.Option(None, help="Bind the tools to one index (its name disappears from the arguments)."),
    conversations: bool = typer.Option(False, help="Include the conversation tools."),
    knowledge_base: Optional[str] = typer.Option(None, "--knowledge-base", help="Include knowledge_base_retrieve over this knowledge base."),
) -> None:
    """Print the tools as OpenAI function-calling JSON (the same tools `weft mcp` serves)."""
    typer.echo(json.dumps(export_openai(build_tools(index, conversations, knowledge_base)), indent=2))


def mcp_command(
    endpoint: str = typer.Option(os.environ.get("WEFT_ENDPOINT", "http://127.0.0.1:8080"), help="The weft server to call (WEFT_ENDPOINT)."),
    api_key: str = typer.Option(None, help="The api-key whose permissions the tools get (a query key is enough to search). "
                                           "Visible in the process list: prefer --api-key-file, WEFT_TOOLS_KEY_FILE or WEFT_TOOLS_KEY."),
    api_key_file: Optional[Path] = typer.Option(None, "--api-key-file", help="File holding the api-key (recommended; or WEFT_TOOLS_KEY_FILE)."),
    index: Optional[str] = typer.Option(None, help="Bind the search tools to one index (no tool can reach another)."),
    conversations: bool = typer.Option(False, help="Also expose the conversation tools (history, append, search over past conversations)."),
    knowledge_base: Optional[str] = typer.Option(None, "--knowledge-base", help="Also expose knowledge_base_retrieve over this knowledge base "
                                                 "(agentic retrieval; a query key is enough)."),
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP instead of stdio (needs a bearer token, see --http-token-file)."),
    host: str = typer.Option("127.0.0.1", help="Address for --http (default: loopback only)."),
    port: int = typer.Option(8765, help="Port for --http."),
    http_token: Optional[str] = typer.Option(None, "--http-token", help="Bearer token clients of --http must send. Visible in the process "
                                                                        "list: prefer --http-token-file, WEFT_MCP_TOKEN_FILE or WEFT_MCP_TOKEN. "
                                                                        "Generated and printed when none is given."),
    http_token_file: Optional[Path] = typer.Option(None, "--http-token-file", help="File holding the bearer token for --http."),
    allowed_host: list[str] = typer.Option(None, "--allowed-host", help="Host name clients may use in Host/Origin besides the loopback "
                                                                         "(DNS-rebinding protection; repeatable; WEFT_MCP_ALLOWED_HOSTS)."),
) -> None:
    """Run a Model Context Protocol server exposing weft's search (and conversation) tools."""
    from weft.agent_tools.api_client import WeftApi
    from weft.agent_tools.mcp_server import run_http, run_stdio
    from weft.errors import WeftError
    from weft.keyfiles import resolve_keys

    try:
        keys = resolve_keys([api_key] if api_key else None, [api_key_file] if api_key_file else None, "WEFT_TOOLS_KEY")
        tokens = resolve_keys([http_token] if http_token else None, [http_token_file] if http_token_file else None, "WEFT_MCP_TOKEN")
    except WeftError as exc:
        raise typer.BadParameter(exc.message)
    if not keys:
        raise typer.BadParameter("give --api-key-file (or WEFT_TOOLS_KEY_FILE / WEFT_TOOLS_KEY, or --api-key)")
    api = WeftApi(endpoint, keys[0])
    tools = build_tools(index, conversations, knowledge_base)
    try:
        if http:
            token = tokens[0] if tokens else None
            if token is None:
                token = secrets.token_urlsafe(32)
                typer.echo(f"weft mcp bearer token: {token}  (send 'Authorization: Bearer <token>'; set --http-token-file to choose it)", err=True)
            hosts = list(allowed_host or []) + [h for h in os.environ.get("WEFT_MCP_ALLOWED_HOSTS", "").split(",") if h.strip()]
            run_http(api, tools, host, port, token, hosts)
        else:
            run_stdio(api, tools)
    finally:
        api.close()
