"""Normalizers on the query side: string literals of ``$filter`` compared with a normalized field are
normalized the same way, so ``City eq 'LAS VEGAS'`` meets ``Las Vegas`` under a ``lowercase`` normalizer (and
documents checked in Python compare their normalized values, see :func:`normalized_source`)."""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Callable

from weft.search import filter_ast as fa


def _path(target: Any, env: dict[str, str]) -> str | None:
    if isinstance(target, fa.FieldPath):
        return target.dotted
    if isinstance(target, fa.RangeVariable):
        base = env.get(target.name)
        if base is None:
            return None
        return "/".join([base, *target.parts]) if target.parts else base
    return None


def normalize_filter(expr: fa.Expr | None, normalizers: dict[str, Callable[[str], str]]) -> fa.Expr | None:
    if expr is None or not normalizers:
        return expr
    return _rewrite(expr, normalizers, {})


def _rewrite(e: Any, norm: dict[str, Callable[[str], str]], env: dict[str, str]) -> Any:
    if isinstance(e, (fa.And, fa.Or)):
        return replace(e, left=_rewrite(e.left, norm, env), right=_rewrite(e.right, norm, env))
    if isinstance(e, fa.Not):
        return replace(e, operand=_rewrite(e.operand, norm, env))
    if isinstance(e, fa.Comparison):
        fn = norm.get(_path(e.left, env) or "")
        if fn is not None and e.right.kind == "string" and isinstance(e.right.value, str):
            return replace(e, right=replace(e.right, value=fn(e.right.value)))
        return e
    if isinstance(e, fa.SearchIn):
        fn = norm.get(_path(e.target, env) or "")
        if fn is not None:
            return replace(e, values=tuple(fn(v) for v in e.values))
        return e
    if isinstance(e, fa.Lambda) and e.predicate is not None and e.variable is not None:
        base = _path(e.collection, env)
        inner = dict(env)
        if base is not None:
            inner[e.variable] = base
        return replace(e, predicate=_rewrite(e.predicate, norm, inner))
    return e


def normalized_source(source: dict, normalizers: dict[str, Callable[[str], str]]) -> dict:
    """A copy of a stored document whose normalized fields hold their normalized values."""
    if not normalizers:
        return source
    doc = copy.deepcopy(source)
    for path, fn in normalizers.items():
        _apply(doc, path.split("/"), fn)
    return doc


def _apply(node: Any, parts: list[str], fn: Callable[[str], str]) -> None:
    if isinstance(node, list):
        for item in node:
            _apply(item, parts, fn)
        return
    if not isinstance(node, dict) or parts[0] not in node:
        return
    if len(parts) == 1:
        value = node[parts[0]]
        if isinstance(value, str):
            node[parts[0]] = fn(value)
        elif isinstance(value, list):
            node[parts[0]] = [fn(v) if isinstance(v, str) else v for v in value]
        return
    _apply(node[parts[0]], parts[1:], fn)
