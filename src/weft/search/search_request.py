"""Search request parameters: each one checked against the index and turned into the values the engine takes
(Azure's names, bounds and error messages, ``Parameter name: ...`` included). Pure; no engine, no HTTP."""
from __future__ import annotations

import math
from typing import Any, Callable

from weft.errors import InvalidInput, QuerySyntaxError
from weft.search import query_ast as qa
from weft.search.documents import parse_datetime
from weft.search.engine.base import FacetSpec, VectorQuerySpec
from weft.search.facet_options import parse_time_offset
from weft.search.filter_check import ExpressionChecker
from weft.search.odata import parse_filter, parse_orderby, parse_select
from weft.search.schema import IndexDefinition
from weft.search.vector_options import query_oversampling

DEFAULT_PAGE = 50
MAX_TOP = 1000
MAX_SKIP = 100_000
MAX_FACET_COUNT = 10_000  # weft's own bound on the terms one facet returns
MAX_FACET_VALUES = 1_000  # weft's own bound on the ranges of one 'values:' facet
MAX_FACETS = 100  # weft's own bound on the facets of one query
MAX_ORDERBY = 32  # Azure: at most 32 clauses in $orderby (service limits, "API request limits")
FACET_INTERVALS = ("minute", "hour", "day", "week", "month", "quarter", "year")


def as_list(value: Any, name: str) -> list[str] | None:
    """Comma-joined string or JSON array (the SDK sends either) -> list of trimmed names."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        return [p for p in parts if p]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise InvalidInput(f"The parameter '{name}' must be a comma-separated string or an array of strings.")


def joined(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    raise InvalidInput("Expected a string.")


def int_param(body: dict, name: str, lo: int, hi: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise InvalidInput(f"The parameter '{name}' must be an integer.\r\nParameter name: {name}")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise InvalidInput(f"The value {value} of parameter '{name}' is out of range; it must be {bound}.\r\nParameter name: {name}")
    return value


def with_parameter(exc: QuerySyntaxError, parameter: str) -> InvalidInput:
    message = exc.message
    if "Parameter name:" not in message:
        message = f"{message}\r\nParameter name: {parameter}"
    return InvalidInput(message)


def select_param(definition: IndexDefinition, select: str | list | None) -> list[str] | None:
    """``select`` (string or array) parsed and checked against the index; None when absent."""
    text = joined(select)
    if text is None:
        return None
    cache = definition.__dict__.setdefault("_select_cache", {})  # per definition (a changed one is a new object)
    checked = cache.get(text)
    if checked is None:
        try:
            parsed = parse_select(text)
        except QuerySyntaxError as exc:
            raise with_parameter(exc, "$select")
        checked = ExpressionChecker(definition).check_select(parsed)
        if len(cache) < 256 and len(text) <= 1024:
            cache[text] = checked
    return None if checked is None else list(checked)


def finite_numbers(values: list) -> bool:
    """Every value a finite int or float (not a bool). Plain floats and ints (what JSON gives) are checked
    at C speed: their sum is finite only when each is (an overflowing sum takes the slow path)."""
    if set(map(type, values)) <= {float, int}:
        try:
            if math.isfinite(sum(values)):
                return True
        except OverflowError:
            pass
    try:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    except OverflowError:  # an int beyond float range
        return False


def vector_queries_param(definition: IndexDefinition, raw: Any, default_k: int,
                         vectorize: Callable[[dict, str, int], list[float]]) -> tuple[VectorQuerySpec, ...]:
    """``vectorQueries`` checked against the index; ``kind: text`` queries are embedded with ``vectorize``."""
    if raw is None:
        return ()
    p = "\r\nParameter name: vectorQueries"
    if not isinstance(raw, list):
        raise InvalidInput("'vectorQueries' must be an array." + p)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidInput(f"vectorQueries[{i}] must be an object." + p)
        kind = item.get("kind")
        names = as_list(item.get("fields"), "fields") or []
        if not names:
            raise InvalidInput(f"vectorQueries[{i}] needs 'fields' naming one or more vector fields." + p)
        fields = []
        for name in names:
            f = definition.field_at(name)
            if f is None or not f.is_vector:
                raise InvalidInput(f"The field '{name}' in vectorQueries[{i}] is not a vector field." + p)
            fields.append(f)
        k = item.get("k", item.get("kNearestNeighbors"))
        if k is None:
            k = default_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 10000:
            raise InvalidInput(f"vectorQueries[{i}].k must be an integer between 1 and 10000." + p)
        weight = item.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise InvalidInput(f"vectorQueries[{i}].weight must be a positive number." + p)
        exhaustive = item.get("exhaustive") or False
        if not isinstance(exhaustive, bool):
            raise InvalidInput(f"vectorQueries[{i}].exhaustive must be true or false." + p)
        oversampling = None
        for f in fields:
            oversampling = query_oversampling(item.get("oversampling"), definition.vector_settings(f.name)["storage"], f.name, i)
        if kind == "vector":
            vector = item.get("vector")
            if not isinstance(vector, list) or not finite_numbers(vector):
                raise InvalidInput(f"vectorQueries[{i}].vector must be an array of numbers." + p)
            for f in fields:
                length = definition.vector_settings(f.name)["storage"].length
                if len(vector) != length:
                    raise InvalidInput(f"vectorQueries[{i}] has {len(vector)} dimensions; the field '{f.name}' has {length}." + p)
            out.append(VectorQuerySpec(tuple(map(float, vector)), tuple(f.name for f in fields), k, exhaustive, float(weight),
                                       oversampling))
        elif kind == "text":
            text = item.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"vectorQueries[{i}].text must be a non-empty string." + p)
            for f in fields:
                vectorizer = definition.vector_settings(f.name)["vectorizer"]
                if vectorizer is None:
                    raise InvalidInput(
                        f"The field '{f.name}' has no vectorizer in its vector search profile, so text vector queries cannot be used on it." + p
                    )
                vector = vectorize(vectorizer, text, f.dimensions)
                out.append(VectorQuerySpec(tuple(vector), (f.name,), k, exhaustive, float(weight), oversampling))
        else:
            raise InvalidInput(f"vectorQueries[{i}].kind '{kind}' is not supported; use 'vector' or 'text'." + p)
    return tuple(out)


def facet_param(definition: IndexDefinition, expression: Any) -> FacetSpec:
    """One facet expression (``category,count:5``, ``price,interval:10``, ...) checked against the index."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInput("Each facet must be a non-empty string such as 'category,count:5'.\r\nParameter name: facets")
    parts = [p.strip() for p in expression.split(",")]
    name = parts[0]
    leaf = definition.leaf(name)
    if leaf is None:
        raise InvalidInput(f"Invalid expression: Could not find a property named '{name}' on type 'search.document'.\r\nParameter name: facets")
    if not leaf.field.facetable:
        raise InvalidInput(f"The field '{name}' is not facetable. Only facetable fields can be used in facets.\r\nParameter name: facets")
    count, sort, interval, values, offset = 10, "count", None, None, None
    for option in parts[1:]:
        key, _, value = option.partition(":")
        key, value = key.strip(), value.strip()
        if key == "count":
            if not value.isdigit():
                raise InvalidInput(f"Invalid facet count '{value}' in '{expression}'.\r\nParameter name: facets")
            count = int(value)
            if count > MAX_FACET_COUNT:
                raise InvalidInput(f"The facet count {value} in '{expression}' is larger than {MAX_FACET_COUNT} (maxFacetCount)."
                                   "\r\nParameter name: facets")
        elif key == "sort":
            if value not in ("count", "-count", "value", "-value"):
                raise InvalidInput(f"Invalid facet sort '{value}' in '{expression}'; use count, -count, value or -value.\r\nParameter name: facets")
            sort = value
        elif key == "interval":
            if leaf.type == "Edm.DateTimeOffset":
                if value not in FACET_INTERVALS:
                    raise InvalidInput(f"Invalid date interval '{value}' in '{expression}'.\r\nParameter name: facets")
                interval = value
            elif leaf.type in ("Edm.Int32", "Edm.Int64", "Edm.Double"):
                try:
                    interval = float(value)
                except ValueError:
                    raise InvalidInput(f"Invalid interval '{value}' in '{expression}'.\r\nParameter name: facets")
                if not interval > 0 or math.isinf(interval):
                    raise InvalidInput(f"The interval in '{expression}' must be greater than zero.\r\nParameter name: facets")
            else:
                raise InvalidInput(f"Interval facets need a numeric or date field; '{name}' is {leaf.type}.\r\nParameter name: facets")
        elif key == "values":
            raw_values = [v for v in value.split("|") if v != ""]
            if len(raw_values) > MAX_FACET_VALUES:
                raise InvalidInput(f"The facet '{name}' has more than {MAX_FACET_VALUES} values (maxFacetValues).\r\nParameter name: facets")
            if not raw_values:
                raise InvalidInput(f"Facet values in '{expression}' are empty.\r\nParameter name: facets")
            if leaf.type == "Edm.DateTimeOffset":
                parsed = [parse_datetime(v) for v in raw_values]
                if any(p is None for p in parsed):
                    raise InvalidInput(f"Invalid date in facet values of '{expression}'.\r\nParameter name: facets")
                values = tuple(raw_values)
            elif leaf.type in ("Edm.Int32", "Edm.Int64", "Edm.Double"):
                try:
                    nums = [float(v) for v in raw_values]
                except ValueError:
                    raise InvalidInput(f"Invalid number in facet values of '{expression}'.\r\nParameter name: facets")
                values = tuple(int(n) if n.is_integer() and leaf.type != "Edm.Double" else n for n in nums)
                if list(nums) != sorted(nums):
                    raise InvalidInput(f"Facet values in '{expression}' must be in ascending order.\r\nParameter name: facets")
            else:
                raise InvalidInput(f"Range facets need a numeric or date field; '{name}' is {leaf.type}.\r\nParameter name: facets")
        elif key == "timeoffset":
            offset = parse_time_offset(value, expression)
        else:
            raise InvalidInput(f"Unknown facet option '{key}' in '{expression}'.\r\nParameter name: facets")
    if leaf.type == "Edm.GeographyPoint":
        raise InvalidInput(f"The field '{name}' cannot be faceted.\r\nParameter name: facets")
    if offset is not None and not (leaf.type == "Edm.DateTimeOffset" and isinstance(interval, str)):
        raise InvalidInput(f"The timeoffset in '{expression}' needs the interval option on an Edm.DateTimeOffset field."
                           "\r\nParameter name: facets")
    return FacetSpec(field=name, count=count, sort=sort, interval=interval, values=values, time_offset=offset or 0)


def filter_param(definition: IndexDefinition, text: Any):
    if not text:
        return None
    try:
        expr = parse_filter(text)
    except QuerySyntaxError as exc:
        raise with_parameter(exc, "$filter")
    ExpressionChecker(definition).check_filter(expr)
    return expr


def orderby_param(definition: IndexDefinition, value: Any):
    text = joined(value)
    if not text:
        return []
    try:
        clauses = parse_orderby(text)
    except QuerySyntaxError as exc:
        raise with_parameter(exc, "$orderby")
    ExpressionChecker(definition).check_orderby(clauses)
    return clauses


def check_fielded(node: qa.Node, checker: ExpressionChecker) -> None:
    if isinstance(node, qa.Boolean):
        for sub in (*node.must, *node.should, *node.must_not):
            check_fielded(sub, checker)
        return
    field = getattr(node, "field", None)
    if field is not None:
        leaf = checker.leaves.get(field)
        if leaf is None or not leaf.field.searchable:
            raise InvalidInput(f"The field '{field}' in the query is not a searchable field.\r\nParameter name: search")
