"""Facets over tantivy: aggregations for exact queries, and the same buckets computed on documents
(when a filter had to be checked on the documents themselves)."""
from __future__ import annotations

import math
from typing import Any

from tantivy import Query

from weft.errors import InvalidInput
from weft.search.documents import datetime_to_micros, double_value, format_datetime, micros_to_datetime
from weft.search.engine.base import FacetSpec
from weft.search.engine.tantivy_layout import values_at
from weft.search.schema import IndexDefinition


def facets_aggregated(searcher, layout, query: Query, specs) -> dict[str, list[dict]]:
    """Facets as tantivy aggregations over every match of ``query`` (exact queries)."""
    out: dict[str, list[dict]] = {}
    for spec in specs:
        leaf = layout.leaf(spec.field)
        fast = leaf.raw or leaf.value
        t = leaf.type
        if spec.values is not None:
            ranges = _range_buckets(t, spec.values)
            agg = {"f": {"range": {"field": fast, "ranges": [r for r, _ in ranges]}}}
            buckets = searcher.aggregate(query, agg)["f"]["buckets"]
            out[spec.field] = [dict(shape, count=b["doc_count"]) for b, (_, shape) in zip(buckets, ranges)]
        elif spec.interval is not None:
            out[spec.field] = _interval_facet(searcher, query, leaf, fast, spec)
        else:
            order = {"count": {"_count": "desc"}, "-count": {"_count": "asc"}, "value": {"_key": "asc"}, "-value": {"_key": "desc"}}[spec.sort]
            agg = {"f": {"terms": {"field": fast, "size": spec.count, "order": order}}}
            if spec.sort in ("-count",):
                agg["f"]["terms"]["size"] = 65000
            buckets = searcher.aggregate(query, agg)["f"]["buckets"]
            entries = [{"value": _facet_value(t, b["key"]), "count": b["doc_count"]} for b in buckets if b["doc_count"] > 0]
            if spec.sort == "count":
                entries.sort(key=lambda e: (-e["count"], _sortable(e["value"])))
            elif spec.sort == "-count":
                entries.sort(key=lambda e: (e["count"], _sortable(e["value"])))
            out[spec.field] = entries[: spec.count]
    return out


def _interval_facet(searcher, query: Query, leaf, fast: str, spec: FacetSpec) -> list[dict]:
    t = leaf.type
    if t == "Edm.DateTimeOffset":
        stats = searcher.aggregate(query, {"s": {"stats": {"field": fast}}})["s"]
        if not stats.get("count"):
            return []
        lo, hi = int(stats["min"]), int(stats["max"])
        starts = _calendar_starts(spec.interval, lo, hi, spec.time_offset)
        ranges = [{"from": float(a), "to": float(b)} for a, b in zip(starts, starts[1:])]
        buckets = searcher.aggregate(query, {"f": {"range": {"field": fast, "ranges": ranges}}})["f"]["buckets"]
        # tantivy adds open-ended buckets for values outside the ranges; keep only ours
        by_from = {b.get("from"): b["doc_count"] for b in buckets if "from" in b and "to" in b}
        return [
            {"value": format_datetime(micros_to_datetime(a)), "count": by_from.get(float(a), 0)}
            for a in starts[:-1]
            if by_from.get(float(a), 0) > 0
        ]
    interval = float(spec.interval)
    buckets = searcher.aggregate(query, {"f": {"histogram": {"field": fast, "interval": interval}}})["f"]["buckets"]
    integral = t in ("Edm.Int32", "Edm.Int64")
    return [
        {"value": int(b["key"]) if integral else float(b["key"]), "count": b["doc_count"]}
        for b in buckets
        if b["doc_count"] > 0
    ]


def _sortable(value: Any) -> tuple:
    return (str(type(value)), value)


def _facet_value(t: str, key: Any) -> Any:
    if t in ("Edm.Int32", "Edm.Int64"):
        return int(key)
    if t == "Edm.Double":
        return float(key)
    if t == "Edm.Boolean":
        return bool(key) if not isinstance(key, str) else key == "true"
    if t == "Edm.DateTimeOffset":
        return format_datetime(micros_to_datetime(int(key)))
    return key


def _range_buckets(t: str, values: tuple) -> list[tuple[dict, dict]]:
    """tantivy range specs with the Azure bucket shape each maps to."""

    def native(v):
        return float(datetime_to_micros(v)) if t == "Edm.DateTimeOffset" else float(v)

    def shown(v):
        return v if t != "Edm.DateTimeOffset" else v

    out = []
    prev = None
    for v in values:
        if prev is None:
            out.append(({"to": native(v)}, {"to": shown(v)}))
        else:
            out.append(({"from": native(prev), "to": native(v)}, {"from": shown(prev), "to": shown(v)}))
        prev = v
    out.append(({"from": native(prev)}, {"from": shown(prev)}))
    return out


def _calendar_starts(unit: str, lo_micros: int, hi_micros: int, offset_minutes: int = 0) -> list[int]:
    """Bucket starts (UTC microseconds) covering [lo, hi]; with an offset the calendar is that zone's, the starts UTC."""
    import datetime as dt

    shift = offset_minutes * 60_000_000
    lo_micros, hi_micros = lo_micros + shift, hi_micros + shift
    lo = micros_to_datetime(lo_micros)
    if unit == "minute":
        start = lo.replace(second=0, microsecond=0)
        step = lambda d: d + dt.timedelta(minutes=1)  # noqa: E731
    elif unit == "hour":
        start = lo.replace(minute=0, second=0, microsecond=0)
        step = lambda d: d + dt.timedelta(hours=1)  # noqa: E731
    elif unit == "day":
        start = lo.replace(hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: d + dt.timedelta(days=1)  # noqa: E731
    elif unit == "week":
        day = lo.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - dt.timedelta(days=day.weekday())
        step = lambda d: d + dt.timedelta(weeks=1)  # noqa: E731
    elif unit == "month":
        start = lo.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: (d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1))  # noqa: E731
    elif unit == "quarter":
        start = lo.replace(month=(lo.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: (d.replace(year=d.year + 1, month=d.month - 9) if d.month >= 10 else d.replace(month=d.month + 3))  # noqa: E731
    elif unit == "year":
        start = lo.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: d.replace(year=d.year + 1)  # noqa: E731
    else:
        raise InvalidInput(f"Invalid date interval '{unit}'.")
    starts = [datetime_to_micros(start)]
    d = start
    while datetime_to_micros(d) <= hi_micros:
        d = step(d)
        starts.append(datetime_to_micros(d))
        if len(starts) > 10000:
            raise InvalidInput("The date interval facet would produce more than 10,000 buckets; use a larger interval.")
    return [s - shift for s in starts]


def facets_python(definition: IndexDefinition, specs, sources: list[dict]) -> dict[str, list[dict]]:
    """Facets computed on documents (used when a filter had to be checked on the documents)."""
    out: dict[str, list[dict]] = {}
    types = {l.path: l.type for l in definition.leaves()}
    for spec in specs:
        t = types[spec.field]
        per_doc = []
        for s in sources:
            vals = [v for v in values_at(s, spec.field.split("/")) if v is not None]
            if t == "Edm.Double":
                vals = [double_value(v) for v in vals]
            per_doc.append(set(vals) if t != "Edm.Double" else vals)
        if spec.values is not None:
            ranges = _range_buckets(t, spec.values)
            entries = []
            for native_spec, shape in ranges:
                lo, hi = native_spec.get("from"), native_spec.get("to")
                n = 0
                for vals in per_doc:
                    for v in vals:
                        x = float(datetime_to_micros(v)) if t == "Edm.DateTimeOffset" else float(v)
                        if (lo is None or x >= lo) and (hi is None or x < hi):
                            n += 1
                            break
                entries.append(dict(shape, count=n))
            out[spec.field] = entries
            continue
        counts: dict[Any, int] = {}
        for vals in per_doc:
            keys = set()
            for v in vals:
                if spec.interval is not None:
                    if t == "Edm.DateTimeOffset":
                        m = datetime_to_micros(v)
                        starts = _calendar_starts(spec.interval, m, m, spec.time_offset)
                        keys.add(format_datetime(micros_to_datetime(starts[0])))
                    else:
                        step = float(spec.interval)
                        b = math.floor(float(v) / step) * step
                        keys.add(int(b) if t in ("Edm.Int32", "Edm.Int64") else b)
                else:
                    keys.add(v)
            for k in keys:
                counts[k] = counts.get(k, 0) + 1
        entries = [{"value": k, "count": c} for k, c in counts.items()]
        if spec.interval is not None or spec.sort == "value":
            entries.sort(key=lambda e: _sortable(e["value"]))
        elif spec.sort == "-value":
            entries.sort(key=lambda e: _sortable(e["value"]), reverse=True)
        elif spec.sort == "-count":
            entries.sort(key=lambda e: (e["count"], _sortable(e["value"])))
        else:
            entries.sort(key=lambda e: (-e["count"], _sortable(e["value"])))
        out[spec.field] = entries if spec.interval is not None else entries[: spec.count]
    return out
