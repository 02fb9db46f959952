"""Request guard: body size and body-read timeouts, per-key rate and concurrency limits, and a JSON
500 for anything unexpected (never a dropped connection). One pure ASGI middleware, outside FastAPI's
routing, so a refused request is never read or buffered.

Settings (environment, or ``weft serve`` flags where noted; defaults in brackets):

| variable | meaning | default |
| --- | --- | --- |
| ``WEFT_MAX_BODY_BYTES`` (``--max-body-bytes``) | largest request body; a bigger ``Content-Length`` is refused up front, a body without one is counted while it arrives | 17 MiB (Azure's 16 MB batch limit plus overhead) |
| ``WEFT_BODY_TIMEOUT`` (``--body-timeout``) | seconds the server waits for the next chunk of a request body (408 after) | 15 |
| ``WEFT_KEY_RATE`` / ``WEFT_KEY_BURST`` | requests a second (and burst) per presented api key, or per client address without one; 0 turns it off | 2000 / 4000 |
| ``WEFT_KEY_CONCURRENCY`` | requests in flight per key (or address) | 128 |
| ``WEFT_TENANT_RATE`` / ``WEFT_TENANT_BURST`` | requests a second per tenant on the threads routes (after authentication) | 1000 / 2000 |
| ``WEFT_MODEL_CONCURRENCY`` | model calls (``/v1/responses``) in flight per tenant | 16 |
| ``WEFT_MODEL_THREADS`` | threads that wait on upstream model calls (separate from the request threadpool) | 64 |
| ``WEFT_SEARCH_TIMEOUT`` | seconds a search may take before weft answers 503 | 10 |
| ``WEFT_SEARCH_THREADS`` | threads that run expensive searches off the event loop | cores - 1 (at least 1) |
| ``WEFT_MAX_CONNECTIONS`` (``--max-connections``) | connections and tasks uvicorn accepts before answering 503 (``limit_concurrency``) | 1000 |
| ``WEFT_KEEP_ALIVE_TIMEOUT`` (``--keep-alive-timeout``) | seconds an idle keep-alive connection stays open | 5 |
| ``WEFT_HEAD_TIMEOUT`` | seconds a connection has to send a complete request head (at most 64 KiB) before it is closed (:mod:`weft.http.server_protocol`) | 10 |

Refusals use the route family's error shape: OData ``{"error":{"code","message"}}`` on the search API,
OpenAI's ``{"error":{"message","type","param","code"}}`` on ``/v1``, ``/threads`` and ``/audit``; a 429
carries ``Retry-After`` (seconds).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass, fields

from weft.http.errors import uses_openai_shape
from weft.ratelimit import Limiter

log = logging.getLogger("weft.http")

MIB = 1024 * 1024


@dataclass
class LimitSettings:
    max_body_bytes: int = 17 * MIB
    body_timeout: float = 15.0
    key_rate: float = 2000.0  # above what one process serves to one client (bench: ~1,000 q/s), so only floods meet it
    key_burst: float = 4000.0
    key_concurrency: int = 128
    tenant_rate: float = 1000.0
    tenant_burst: float = 2000.0
    model_concurrency: int = 16
    model_threads: int = 64
    search_timeout: float = 10.0
    search_threads: int = max(1, (os.cpu_count() or 2) - 1)  # leave a core to the event loop
    max_connections: int = 1000
    keep_alive_timeout: float = 5.0
    head_timeout: float = 10.0

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "LimitSettings":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = overrides.get(f.name)
            if raw is None:
                raw = env.get(f"WEFT_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            try:
                number = float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"WEFT_{f.name.upper()} must be a number, not {raw!r}.")
            if number < 0 or number != number:
                raise ValueError(f"WEFT_{f.name.upper()} must be zero or more.")
            values[f.name] = int(number) if f.type in ("int", int) else number
        return cls(**values)


_KEY_IDS: dict[bytes, str] = {}  # presented key -> its caller id (a hash), for the keys seen most recently
_KEY_IDS_MAX = 4096


def _key_id(key: bytes) -> str:
    found = _KEY_IDS.get(key)
    if found is None:
        if len(_KEY_IDS) >= _KEY_IDS_MAX:
            _KEY_IDS.clear()  # a flood of distinct keys costs a hash each, never memory
        found = _KEY_IDS[key] = "key:" + hashlib.sha256(key).hexdigest()[:32]
    return found


def _caller_id(scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"api-key" or (name == b"authorization" and value[:7].lower() == b"bearer "):
            key = value if name == b"api-key" else value[7:].strip()
            if key:
                return _key_id(key)
    client = scope.get("client") or ("?", 0)
    return f"addr:{client[0]}"


def _error_body(path: str, status: int, message: str, code: str) -> bytes:
    if uses_openai_shape(path):
        kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    else:
        body = {"error": {"code": code, "message": message}}
    return json.dumps(body).encode()


async def send_error(send, path: str, status: int, message: str, code: str, headers: dict | None = None) -> None:
    payload = _error_body(path, status, message, code)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class _BodyTooLarge(Exception):
    pass


class RequestGuard:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app, settings: LimitSettings):
        self.app = app
        self.settings = settings
        self.keys = Limiter(settings.key_rate, settings.key_burst, settings.key_concurrency)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = self.settings.max_body_bytes or float("inf")  # 0: no limit here (the routes keep theirs)
        declared = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await send_error(send, path, 400, "The Content-Length header is not a number.", "InvalidContentLength")
        if declared is not None and declared > limit:
            return await send_error(send, path, 413, f"The request body is {declared} bytes; the limit is {limit} bytes (WEFT_MAX_BODY_BYTES).",
                                    "RequestEntityTooLarge", {"connection": "close"})
        caller = _caller_id(scope)
        granted, retry_after, which = self.keys.acquire(caller)
        if not granted:
            what = "requests in flight" if which == "concurrency" else "requests a second"
            setting = "WEFT_KEY_CONCURRENCY" if which == "concurrency" else "WEFT_KEY_RATE"
            return await send_error(send, path, 429, f"Too many {what} for this api key ({setting}); retry later.", "TooManyRequests",
                                    {"retry-after": max(1, int(retry_after + 0.999))})
        received = 0
        body_done = False
        timeout = self.settings.body_timeout or None

        async def guarded_receive():
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                # asyncio.timeout: a timer on this task; wait_for would wrap every receive in a new task
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                from weft.errors import RequestTimeout

                raise RequestTimeout(f"The request body did not arrive within {self.settings.body_timeout:g} s (WEFT_BODY_TIMEOUT).")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    from weft.errors import PayloadTooLarge

                    raise PayloadTooLarge(f"The request body is larger than {limit} bytes (WEFT_MAX_BODY_BYTES).")
                if not message.get("more_body", False):
                    body_done = True
            else:
                body_done = True
            return message

        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), path)
            if not started:
                await send_error(send, path, 500, "An unexpected error occurred on the server; nothing was changed by this request if it was a write.",
                                 "InternalServerError")
        finally:
            self.keys.release(caller)
