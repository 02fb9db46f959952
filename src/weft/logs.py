"""Log set-up for `weft serve`: text (default) or JSON lines (`--log-format json`), each line carrying the id of
the request it was written for (`weft.observability.request_id`)."""
from __future__ import annotations

import datetime as dt
import json
import logging

from weft.observability import current_request_id

FORMATS = ("text", "json")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        rid = getattr(record, "request_id", None)
        if rid and rid != "-":
            line["request_id"] = rid
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_config(level: str, fmt: str) -> dict:
    """A logging dict config for weft's and uvicorn's loggers (uvicorn takes it as `log_config`)."""
    if fmt not in FORMATS:
        raise ValueError(f"--log-format is one of {', '.join(FORMATS)}, not {fmt!r}")
    level = level.upper()
    formatter = {"()": JsonFormatter} if fmt == "json" else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "weft", "filters": ["request_id"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"weft": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": True},
        },
    }
