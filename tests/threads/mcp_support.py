"""A real MCP server for tests: the `mcp` package's MCPServer over streamable HTTP, in a thread, on a free port."""
from __future__ import annotations

import threading
import time

import uvicorn
from mcp.server.mcpserver import MCPServer

from tests.support.server import free_port


class WeatherMcp:
    """Tools: ``get_weather(city)`` (answers from a table, counts its calls), ``explode()`` (a tool error).
    Requests must carry ``Authorization: Bearer <token>`` when ``token`` is given."""

    def __init__(self, token: str | None = None):
        self.calls: list[dict] = []
        self.auth_seen: list[str | None] = []
        self.token = token
        server = MCPServer("weather")
        owner = self

        @server.tool(description="The weather of a city")
        def get_weather(city: str) -> str:
            owner.calls.append({"city": city})
            return {"Paris": "sunny, 21 C", "Rome": "cloudy, 18 C"}.get(city, "unknown city")

        @server.tool(description="Always fails")
        def explode() -> str:
            raise ValueError("the tool blew up")

        inner = server.streamable_http_app(stateless_http=True, json_response=True)

        async def app(scope, receive, send):
            if scope["type"] == "http":
                headers = dict(scope.get("headers") or [])
                auth = headers.get(b"authorization")
                owner.auth_seen.append(auth.decode() if auth else None)
                if owner.token and (auth or b"").decode() != f"Bearer {owner.token}":
                    await send({"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"0")]})
                    await send({"type": "http.response.body", "body": b""})
                    return
            await inner(scope, receive, send)

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> "WeatherMcp":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the MCP server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
