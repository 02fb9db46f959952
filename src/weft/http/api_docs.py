"""``/_openapi.json`` and ``/_docs`` (Swagger UI), gated by ``WEFT_API_DOCS`` / ``weft serve --api-docs``:

* ``off`` (default): both answer 404 as any unknown path does;
* ``admin``: both need the admin api-key (``api-key`` header or ``Authorization: Bearer``); Swagger UI in a
  browser cannot send it, so this mode is for tools (``curl -H 'api-key: ...' /_openapi.json``);
* ``on``: both are public.

The document itself is always available in-process as ``app.openapi()``.
"""
from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse

from weft.errors import NotFound
from weft.http.auth import KeyChecker


def build_api_docs_router(app: FastAPI, mode: str, keys: KeyChecker) -> APIRouter:
    router = APIRouter()

    def gate(request: Request) -> None:
        if mode == "off":
            raise NotFound("Not Found")
        if mode == "admin":
            keys.check(request, admin=True)

    @router.get("/_openapi.json", include_in_schema=False)
    async def openapi_document(request: Request):
        gate(request)
        return JSONResponse(app.openapi())

    @router.get("/_docs", include_in_schema=False)
    async def swagger_ui(request: Request):
        gate(request)
        return get_swagger_ui_html(openapi_url="/_openapi.json", title="weft API")

    return router
