"""JSON request bodies: one strict parser for every route family.

orjson refuses invalid UTF-8 and lone surrogates (which could not be stored or echoed back) and
stops at 1024 levels; weft also refuses documents nested deeper than :data:`MAX_DEPTH` levels, so
nothing downstream recurses over hostile input. (orjson reads an integer beyond 64 bits as a float;
routes that need integers check their range.)
"""
from __future__ import annotations

from typing import Any

import orjson

from weft.errors import InvalidInput

MAX_DEPTH = 64
"""Deepest accepted nesting of objects and arrays (Azure allows 10 levels of complex fields)."""

def parse_json(raw: bytes) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"The request body is not valid JSON: {exc}.")
    check_json(value)
    return value


def check_json(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Depth check, iteratively (hostile input must not recurse). Only containers are visited: a 1000-document
    batch of flat documents costs one pass over each document's values, with no per-value bookkeeping."""
    containers = (dict, list)
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, containers) else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise InvalidInput(f"The request body is nested more than {max_depth} levels deep.")
        inner = depth + 1
        for v in (item.values() if type(item) is dict else item):
            if type(v) is dict or type(v) is list:
                stack.append((v, inner))
