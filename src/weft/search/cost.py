"""A cheap, pure guess of whether a search request is expensive, from its raw parameters, before it
is parsed: expensive requests run in the bounded search pool with a time budget; cheap ones run on
the event loop (measured faster: see bench/RESULTS.md, "Searches off the event loop").

Expensive: full-syntax queries with regex, wildcard or fuzzy operators; prefix queries; facets;
vector queries; geo-distance ordering or filters; ``search.ismatch`` filters; deep pages.
"""
from __future__ import annotations

from typing import Any

_FULL_MARKS = ("/", "*", "?", "~")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def looks_expensive(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    search = _text(body.get("search"))
    if search.strip() not in ("", "*"):
        full = str(body.get("queryType") or "").lower() == "full"
        if full and any(mark in search for mark in _FULL_MARKS):
            return True
        if "*" in search:  # prefix queries enumerate the term dictionary too
            return True
    if body.get("facets") or body.get("vectorQueries") or body.get("vectors"):
        return True
    orderby = _text(body.get("orderby")).lower()
    flt = _text(body.get("filter")).lower()
    if "geo." in orderby or "geo." in flt or "search.ismatch" in flt:
        return True
    try:
        if int(body.get("skip") or 0) + int(body.get("top") or 0) > 1000:
            return True
    except (TypeError, ValueError):
        return False
    return False
