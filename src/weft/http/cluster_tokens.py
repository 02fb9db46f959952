"""Write tokens over HTTP (cluster mode; docs/cluster.md): a plain ASGI middleware.

A search-API request carrying ``x-weft-position: <n>`` (the value a write's answer carried) is held until this node
has applied position n, at most ``x-weft-position-wait-ms`` (default and maximum 10 s); past that it is answered 503
``PositionNotReached`` in the OData error shape, with Retry-After. Every answer whose request committed a change
carries the change's position in ``x-weft-position``.
"""
from __future__ import annotations

import asyncio
import time

import orjson

from weft.cluster import tokens

_HEADER = tokens.HEADER.encode()
_WAIT = tokens.WAIT_HEADER.encode()


def _int(value: bytes | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class PositionTokens:
    def __init__(self, app, follower):
        self.app = app
        self.follower = follower  # weft.cluster.apply.Follower: .position

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/v1"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        wanted = headers.get(_HEADER)
        if wanted is not None:
            position = _int(wanted)
            wait_ms = _int(headers.get(_WAIT))
            if position is None or position < 0 or (headers.get(_WAIT) is not None and (wait_ms is None or wait_ms < 0)):
                name = tokens.HEADER if position is None or position < 0 else tokens.WAIT_HEADER
                return await _error(send, 400, "InvalidHeader", f"The header '{name}' must be a non-negative integer.")
            wait = min(tokens.MAX_WAIT_MS if wait_ms is None else wait_ms, tokens.MAX_WAIT_MS) / 1000
            deadline = time.monotonic() + wait
            while self.follower.position < position:
                if time.monotonic() >= deadline:
                    return await _error(send, 503, "PositionNotReached",
                                        f"This node has applied the cluster's changes up to position {self.follower.position}, not yet "
                                        f"{position}; retry, or ask another node.", retry_after=1)
                await asyncio.sleep(0.005)
        holder, token = tokens.open_holder()

        async def send_with_position(message):
            if message["type"] == "http.response.start" and holder.position:
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [(_HEADER, str(holder.position).encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_position)
        finally:
            tokens.close_holder(token)


async def _error(send, status: int, code: str, message: str, retry_after: int | None = None) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
