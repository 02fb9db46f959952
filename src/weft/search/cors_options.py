"""An index's ``corsOptions``: validated when the index is defined, matched against a request's ``Origin``.

Azure's shape (``../shared/reference/azure-relevance.md`` §7.2, after "Create a search index"):
``{"allowedOrigins": ["https://app.example.com"], "maxAgeInSeconds": 300}``. ``allowedOrigins`` is required and
holds ``protocol://fully-qualified-domain-name[:port]`` origins or the single value ``"*"``; ``maxAgeInSeconds`` is a
non-negative integer, 5 minutes when absent. Pure: the HTTP layer (weft.http.cors) applies it.
"""
from __future__ import annotations

import re
from typing import Any

from weft.errors import InvalidInput

DEFAULT_MAX_AGE = 300
MAX_ORIGINS = 100  # weft's own bound on one index's list
_MEMBERS = ("allowedOrigins", "maxAgeInSeconds")
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$")
_ORIGIN = re.compile(r"^(https?)://([^/:?#\s]+|\[[^\]/?#\s]+\])(?::(\d{1,5}))?$", re.IGNORECASE)


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"{message}\r\nParameter name: corsOptions")


def normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` lower-cased, default port dropped; None when it is not such an origin."""
    m = _ORIGIN.match(origin.strip()) if isinstance(origin, str) else None
    if m is None:
        return None
    scheme, host, port = m.group(1).lower(), m.group(2).lower(), m.group(3)
    if not _HOST.match(host):
        return None
    if port is not None:
        number = int(port)
        if not 0 < number < 65536:
            return None
        if (scheme, number) in (("http", 80), ("https", 443)):
            port = None
        else:
            port = str(number)
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def check_cors_options(value: Any) -> None:
    """Raises InvalidInput (400) naming what is wrong."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise _bad("'corsOptions' must be an object with 'allowedOrigins' and optionally 'maxAgeInSeconds'.")
    unknown = [k for k in value if k not in _MEMBERS]
    if unknown:
        raise _bad(f"'corsOptions' has the unknown member '{unknown[0]}'; it has 'allowedOrigins' and 'maxAgeInSeconds'.")
    origins = value.get("allowedOrigins")
    if not isinstance(origins, list) or not origins or not all(isinstance(o, str) for o in origins):
        raise _bad("'corsOptions.allowedOrigins' is required: a non-empty array of origins such as 'https://app.example.com', or [\"*\"].")
    if len(origins) > MAX_ORIGINS:
        raise _bad(f"'corsOptions.allowedOrigins' has {len(origins)} origins; the limit is {MAX_ORIGINS}.")
    if "*" in origins and len(origins) > 1:
        raise _bad("'corsOptions.allowedOrigins' may hold '*' only as its single value.")
    for origin in origins:
        if origin != "*" and normalize_origin(origin) is None:
            raise _bad(f"'{origin}' in 'corsOptions.allowedOrigins' is not an origin; write protocol://fully-qualified-domain-name[:port] "
                       "(http or https, no path, no trailing slash), or '*'.")
    age = value.get("maxAgeInSeconds")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age < 0):
        raise _bad(f"'corsOptions.maxAgeInSeconds' must be a non-negative integer; it is {age!r}.")


def allowed_origin(options: dict, origin: str) -> str | None:
    """What ``Access-Control-Allow-Origin`` answers ``origin`` with: '*', the origin itself, or None (not allowed)."""
    origins = options.get("allowedOrigins") or []
    if "*" in origins:
        return "*"
    wanted = normalize_origin(origin)
    if wanted is None:
        return None
    return origin if any(normalize_origin(o) == wanted for o in origins) else None


def max_age(options: dict) -> int:
    age = options.get("maxAgeInSeconds")
    return DEFAULT_MAX_AGE if age is None else int(age)
