"""One exception hierarchy for all of weft.

Core services raise these; the HTTP and CLI adapters map them to status codes and
error bodies exactly once, at the edge. Nothing here knows about HTTP except the
``status`` hint each class carries for the adapters.
"""
from __future__ import annotations

from typing import Any


class WeftError(Exception):
    """Base of every error weft raises on purpose."""

    status = 500
    default_code = ""

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.code = self.default_code if code is None else code
        self.details = details or []


class InvalidInput(WeftError):
    """The request is malformed or violates a rule (HTTP 400)."""

    status = 400


class QuerySyntaxError(InvalidInput):
    """A `$filter`, `$orderby`, `$select` or `search` expression could not be parsed.

    ``position`` is the 0-based character offset of the problem in ``text``.
    """

    def __init__(self, message: str, *, text: str = "", position: int | None = None, parameter: str | None = None):
        super().__init__(message)
        self.text = text
        self.position = position
        self.parameter = parameter


class Unauthenticated(WeftError):
    status = 401


class Forbidden(WeftError):
    status = 403


class NotFound(WeftError):
    status = 404


class Conflict(WeftError):
    status = 409


class ConcurrentChange(Conflict):
    """A conditional write found the stored ETag changed since it was read (another node wrote it meanwhile): the
    service reads again and retries; this reaches a client only when the retries run out."""


class PreconditionFailed(WeftError):
    status = 412
    default_code = "PreconditionFailed"


class PayloadTooLarge(WeftError):
    status = 413
    default_code = "RequestEntityTooLarge"


class Unavailable(WeftError):
    status = 503


class RequestTimeout(WeftError):
    """The client sent its request body too slowly (HTTP 408)."""

    status = 408
    default_code = "RequestTimeout"


class TooManyRequests(WeftError):
    """A rate or concurrency limit was reached (HTTP 429); ``retry_after`` seconds is a hint."""

    status = 429
    default_code = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: float = 1.0, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after + 0.999))


class Timeout(Unavailable):
    """The operation exceeded its time budget (HTTP 503, as Azure answers a query it gave up on)."""

    default_code = "RequestTimeout"
