"""ASGI middleware: a request id on every request and response, and the HTTP request metrics.

The request id is the caller's `x-ms-client-request-id` (what the Azure SDK sends), `x-request-id` or
`client-request-id` when it is a sane token, else a new one. It is returned as `x-request-id` and
`request-id` (and the caller's own id echoed as `client-request-id`, as Azure does), set in
`weft.observability.request_id` for log lines and audit records, and metrics use the route's template
(`/indexes/{name}/docs`), never the raw path, so their label sets stay bounded.
"""
from __future__ import annotations

import re
import time
import uuid

from weft import observability as obs

_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_INBOUND = (b"x-ms-client-request-id", b"x-request-id", b"client-request-id")
# (route template, method, status) -> the request counter's and latency histogram's children for those labels (the
# label sets are bounded: templates, not paths)
_CHILDREN: dict[tuple, tuple] = {}


class ObserveMiddleware:
    def __init__(self, app, metrics: bool = True):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        client_id = None
        for name, value in scope.get("headers", ()):
            if name in _INBOUND:
                text = value.decode("latin-1")
                if _SANE.fullmatch(text):
                    client_id = text
                    break
        rid = client_id or uuid.uuid4().hex
        token = obs.request_id.set(rid)
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", rid.encode()))
                headers.append((b"request-id", rid.encode()))
                if client_id:
                    headers.append((b"client-request-id", client_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            obs.request_id.reset(token)
            if self.metrics:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                method = scope.get("method", "")
                key = (template, method, status)
                children = _CHILDREN.get(key)
                if children is None:  # labels() takes a lock and builds its key on every call: once per label set here
                    children = (obs.HTTP_REQUESTS.labels(template, method, str(status)), obs.HTTP_LATENCY.labels(template, method))
                    if len(_CHILDREN) < 4096:
                        _CHILDREN[key] = children
                children[0].inc()
                children[1].observe(time.perf_counter() - started)
