"""Keeps conversation content and metadata out of the server log.

uvicorn's access log prints each request's path with its query string. On the tenant routes (``/v1/...``,
``/threads/...``, ``/audit``) a query string can carry metadata filters (``?metadata[user]=...``) and ids, so
the access log shows those paths without their query string. Bodies are never logged.
"""
from __future__ import annotations

import logging

PRIVATE_PREFIXES = ("/v1/", "/v1?", "/threads", "/audit")


class StripPrivateQueries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if path.startswith(PRIVATE_PREFIXES) and "?" in path:
                record.args = (*args[:2], path.split("?", 1)[0] + "?…", *args[3:])
        return True


def install() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, StripPrivateQueries) for f in logger.filters):
        logger.addFilter(StripPrivateQueries())
