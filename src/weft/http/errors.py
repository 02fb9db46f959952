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


OPENAI_PREFIXES = ("/v1/", "/threads", "/audit", "/assistants", "/agents", "/api/projects/", "/openai/")
_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error", 404: "invalid_request_error",
                 409: "invalid_request_error", 412: "invalid_request_error", 413: "invalid_request_error", 429: "rate_limit_error"}


def openai_error(status: int, message: str, code: str | None = None, param: str | None = None, headers: dict | None = None) -> JSONResponse:
    """OpenAI's error shape, used on the /v1 (and Assistants-style /threads) API family."""
    error_type = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return JSONResponse({"error": {"message": message, "type": error_type, "param": param, "code": code or None}}, status_code=status, headers=headers)


def uses_openai_shape(path: str) -> bool:
    return path.startswith(OPENAI_PREFIXES)


def error_response(request: Request, status: int, message: str, code: str = "", details: list | None = None, param: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    if uses_openai_shape(request.url.path):
        return openai_error(status, message, code or None, param, headers=headers)
    return odata_error(status, message, code, details, headers=headers)


def error_headers(exc: WeftError) -> dict | None:
    retry_after = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after is not None else None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WeftError)
    async def weft_error(request: Request, exc: WeftError):
        return error_response(request, exc.status, exc.message, exc.code or "", exc.details or None, getattr(exc, "param", None),
                              headers=error_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(request, 400, f"The request is invalid. {where}: {first.get('msg', 'invalid input')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return error_response(request, 404, f"The resource '{request.url.path}' was not found.")
        if exc.status_code == 405:
            return error_response(request, 405, f"The HTTP method '{request.method}' is not allowed on '{request.url.path}'.")
        return error_response(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "An unexpected error occurred on the server; nothing was changed by this request if it was a write.", "InternalServerError")
