"""`/console` (the web console's page and its files) and the browser redirect from `/`.

The files are public: they hold no data and no secret. Everything the page shows it fetches from weft's own
APIs with the key the user typed, so it sees exactly what that key may see. `/` sends a browser (`Accept:
text/html`) to `/console`; any other client gets the 404 it always got. `server.console` (`WEFT_CONSOLE`) = `off`
registers none of these routes.
"""
from __future__ import annotations

import gzip
import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from weft.console import TYPES, assets
from weft.errors import NotFound

# The page loads only its own files and talks only to its own origin; it cannot be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _Asset:
    def __init__(self, raw: bytes, media_type: str):
        self.raw = raw
        self.gz = gzip.compress(raw, 9, mtime=0)
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'


def _load() -> dict[str, _Asset]:
    return {name: _Asset(path.read_bytes(), TYPES[path.suffix]) for name, path in assets().items()}


def _serve(request: Request, asset: _Asset) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gz, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.raw, media_type=asset.media_type, headers=headers)


def build_console_router() -> APIRouter:
    router = APIRouter()
    files = _load()

    @router.get("/", include_in_schema=False)
    async def root(request: Request):
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/console", status_code=307)
        raise NotFound(f"The resource '{request.url.path}' was not found.")

    @router.get("/console", include_in_schema=False)
    async def page(request: Request):
        return _serve(request, files["index.html"])

    @router.get("/console/{asset:path}", include_in_schema=False)
    async def asset(request: Request, asset: str):
        found = files.get(asset or "index.html")
        if found is None:
            raise NotFound(f"The resource '{request.url.path}' was not found.")
        return _serve(request, found)

    return router
