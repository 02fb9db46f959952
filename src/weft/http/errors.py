"""Error mapping, done once at the edge: every failure becomes an OData error body."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from weft.errors import WeftError

log = logging.getLogger("weft.http")


def odata_error(status: int, message: str, code: str = "", details: list | None = None, headers: dict | None = None) -> JSONResponse:
    error: dict = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WeftError)
    async def weft_error(request: Request, exc: WeftError):
        return odata_error(exc.status, exc.message, exc.code or "", exc.details or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return odata_error(400, f"The request is invalid. {where}: {first.get('msg', 'invalid input')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return odata_error(404, f"The resource '{request.url.path}' was not found.")
        if exc.status_code == 405:
            return odata_error(405, f"The HTTP method '{request.method}' is not allowed on '{request.url.path}'.")
        return odata_error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return odata_error(500, "An unexpected error occurred on the server; nothing was changed by this request if it was a write.", "InternalServerError")
