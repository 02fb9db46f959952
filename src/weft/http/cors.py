"""CORS for the query routes of indexes that define ``corsOptions`` (weft.search.cors_options).

A plain ASGI middleware, outermost, so every answer of such a route carries the headers, errors included (a
browser cannot read a 401 or a 429 without them). Only the query APIs get CORS, as Azure documents ("for
security reasons, only query APIs support CORS"): search, suggest, autocomplete, lookup and ``$count``, GET and
POST, in both path styles, under the index's name or an alias of it. The index batch (``docs/index``), the
management routes and indexes without ``corsOptions`` get no CORS header, and a preflight for them falls through
to the app (405). A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin is
answered here, without a key (browsers send none on a preflight): ``Access-Control-Allow-Origin`` (``*`` or the
origin), ``-Allow-Methods: GET, POST``, ``-Allow-Headers`` (the requested ones), ``-Max-Age`` =
``maxAgeInSeconds``.
"""
from __future__ import annotations

import re
from typing import Callable

from weft.search.cors_options import allowed_origin, max_age

_DOCS = re.compile(r"^/indexes(?:/([^/(']+)|\('([^']*)'\))/docs(.*)$")
_NOT_QUERIES = {"/index", "/search.index"}
_METHODS = ("GET", "POST")
_DEFAULT_HEADERS = "api-key, authorization, content-type, accept, prefer, x-ms-client-request-id"
_EXPOSE = "request-id, client-request-id, elapsed-time, x-request-id"


def query_route_index(path: str) -> str | None:
    """The index (or alias) name of a query route's path; None for any other path."""
    m = _DOCS.match(path)
    if m is None:
        return None
    rest = m.group(3)
    if rest == "" or rest.startswith("('"):
        return m.group(1) or m.group(2)
    if rest.startswith("/") and "/" not in rest[1:] and rest not in _NOT_QUERIES:
        return m.group(1) or m.group(2)
    return None


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class CorsMiddleware:
    """``cors_options(name)``: the corsOptions of an index or alias (None: none, or no such index)."""

    def __init__(self, app, cors_options: Callable[[str], dict | None]):
        self.app = app
        self.cors_options = cors_options

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        origin = _header(scope, b"origin")
        name = query_route_index(scope.get("path", "")) if origin else None
        options = self.cors_options(name) if name else None
        allow = allowed_origin(options, origin) if options else None
        if allow is None:
            return await self.app(scope, receive, send)
        vary = [(b"vary", b"Origin")] if allow != "*" else []
        requested = _header(scope, b"access-control-request-method")
        if scope["method"] == "OPTIONS" and requested is not None:
            if requested.upper() not in _METHODS:
                return await self.app(scope, receive, send)
            headers = [
                (b"access-control-allow-origin", allow.encode("latin-1")),
                (b"access-control-allow-methods", ", ".join(_METHODS).encode()),
                (b"access-control-allow-headers", (_header(scope, b"access-control-request-headers") or _DEFAULT_HEADERS).encode("latin-1")),
                (b"access-control-max-age", str(max_age(options)).encode()),
                (b"content-length", b"0"),
                *vary,
            ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if not k.lower().startswith(b"access-control-")]
                headers.append((b"access-control-allow-origin", allow.encode("latin-1")))
                headers.append((b"access-control-expose-headers", _EXPOSE.encode()))
                headers.extend(vary)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)
