"""Reference semantics of OData filters, evaluated on one stored document.

The engine translates filters into native queries where it can do so exactly; the
parts it cannot (string range comparisons, correlated conditions inside complex
collections, geo predicates) are checked here, on the stored document. This module
is also the oracle the engine's translation is tested against.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Callable

from weft.search import filter_ast as ast
from weft.search.documents import double_value, parse_datetime, parse_geo_point

EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1 = map(math.radians, a)
    lon2, lat2 = map(math.radians, b)
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def point_in_polygon(point: tuple[float, float], polygon: tuple[tuple[float, float], ...]) -> bool:
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross:
                inside = not inside
    return inside


class FilterEvaluator:
    """Evaluates a checked filter tree. ``types`` maps leaf paths to their element types."""

    def __init__(self, types: dict[str, str], is_match: Callable[[ast.IsMatch, dict], bool] | None = None):
        self.types = types
        self.is_match = is_match

    def __call__(self, expr: ast.Expr, document: dict) -> bool:
        return self._eval(expr, document, {})

    # ---- helpers ------------------------------------------------------------------
    def _resolve(self, target: Any, document: dict, env: dict) -> tuple[Any, str]:
        """Value and its leaf path (for typing) of a field path or range variable."""
        if isinstance(target, ast.FieldPath):
            value: Any = document
            for part in target.parts:
                value = value.get(part) if isinstance(value, dict) else None
            return value, target.dotted
        if isinstance(target, ast.RangeVariable):
            value, base = env[target.name]
            for part in target.parts:
                value = value.get(part) if isinstance(value, dict) else None
            path = "/".join([base, *target.parts]) if target.parts else base
            return value, path
        raise TypeError(target)

    def _typed(self, value: Any, path: str) -> Any:
        t = self.types.get(path)
        if value is None:
            return None
        if t == "Edm.Double":
            return double_value(value)
        if t == "Edm.DateTimeOffset":
            return parse_datetime(value)
        if t == "Edm.GeographyPoint":
            return parse_geo_point(value)
        return value

    @staticmethod
    def _constant(c: ast.Constant) -> Any:
        return c.value

    # ---- evaluation -----------------------------------------------------------------
    def _eval(self, e: Any, doc: dict, env: dict) -> bool:
        if isinstance(e, ast.And):
            return self._eval(e.left, doc, env) and self._eval(e.right, doc, env)
        if isinstance(e, ast.Or):
            return self._eval(e.left, doc, env) or self._eval(e.right, doc, env)
        if isinstance(e, ast.Not):
            return not self._eval(e.operand, doc, env)
        if isinstance(e, ast.BoolConstant):
            return e.value
        if isinstance(e, ast.BoolField):
            value, _ = self._resolve(e.target, doc, env)
            return value is True
        if isinstance(e, ast.Comparison):
            return self._compare(e, doc, env)
        if isinstance(e, ast.SearchIn):
            value, _ = self._resolve(e.target, doc, env)
            return value is not None and value in e.values
        if isinstance(e, ast.Lambda):
            items, path = self._resolve(e.collection, doc, env)
            items = items or []
            if e.predicate is None:
                return len(items) > 0
            results = (self._eval(e.predicate, doc, {**env, e.variable: (item, path)}) for item in items)
            return any(results) if e.kind == "any" else all(results)
        if isinstance(e, ast.GeoIntersects):
            value, path = self._resolve(e.target, doc, env)
            point = parse_geo_point(value) if value is not None else None
            return point is not None and point_in_polygon(point, e.polygon)
        if isinstance(e, ast.IsMatch):
            if self.is_match is None:
                raise NotImplementedError("search.ismatch needs the engine")
            return self.is_match(e, doc)
        raise TypeError(f"unknown filter node {e!r}")

    def _compare(self, e: ast.Comparison, doc: dict, env: dict) -> bool:
        if isinstance(e.left, ast.GeoDistance):
            value, _ = self._resolve(e.left.target, doc, env)
            point = parse_geo_point(value) if value is not None else None
            left = None if point is None else haversine_km(point, e.left.point)
            path_type = "Edm.Double"
        else:
            raw, path = self._resolve(e.left, doc, env)
            left = self._typed(raw, path)
            path_type = self.types.get(path)
        right = e.right.value
        op = e.op
        if right is None:
            return (left is None) if op == "eq" else (left is not None)
        if left is None:
            return op == "ne"
        if path_type == "Edm.DateTimeOffset" and isinstance(right, dt.datetime):
            right = right.astimezone(dt.timezone.utc)
        if isinstance(left, float) and math.isnan(left) or isinstance(right, float) and math.isnan(right):
            return op == "ne"
        try:
            if op == "eq":
                return left == right
            if op == "ne":
                return left != right
            if op == "gt":
                return left > right
            if op == "ge":
                return left >= right
            if op == "lt":
                return left < right
            if op == "le":
                return left <= right
        except TypeError:
            return op == "ne"
        raise ValueError(op)
