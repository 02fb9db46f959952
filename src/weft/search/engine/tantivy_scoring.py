"""Scoring functions over tantivy results: exact top-k under the profile's multipliers.

The final score of a document is its text (BM25) score times the aggregate multiplier of the profile's
functions (:mod:`weft.search.ranking.scoring`). No multiplier exceeds the plan's ``upper`` bound, so a
document outside tantivy's BM25 top N (whose text score is at most the N-th score ``s_N``) ends at most at
``s_N x upper``. :func:`top_scored` widens N (x4 each round) until the k-th best final score among the N is
above that, or every match has been seen: then the k best are exactly the k best of the whole match set.
Function values come from fast-field columns (numbers, dates as microseconds, lon/lat); tag functions read
the stored documents of the candidates.

``upper`` is the plan's bound *for this index snapshot* (:func:`snapshot_upper`): a magnitude or freshness
function can give no more than its share at the most favourable value the index actually holds (the newest
date, the largest or smallest number), so on a catalogue whose newest item is two years old a freshness boost
of 3 over P3000D is at most 2.53, not 3. The value range of each field is cached on the index handle and
checked on every use against the search's own snapshot (two empty-range look-ups in the inverted index:
no document above the cached maximum, none below the minimum); when a commit widened it, it is read again
(a min/max aggregation over the fast field), so the bound never misses a document.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from weft.search.engine.tantivy_layout import Layout, values_at
from weft.search.ranking.scoring import ScoringPlan, bounds, curve, multipliers_array

FIRST_WINDOW = 256


def _columns(search, plan: ScoringPlan, addresses: list, sources: list | None) -> list:
    searcher, layout = search.searcher, search.layout
    columns = []
    for function in plan.functions:
        leaf = layout.leaf(function.field)
        if function.type in ("magnitude", "freshness"):
            # None (no value) becomes NaN
            columns.append(np.array(searcher.fast_field_values(leaf.value, addresses), dtype=float) if addresses else np.zeros(0))
        elif function.type == "distance":
            if not addresses:
                columns.append(np.zeros((0, 2)))
                continue
            lons = np.array(searcher.fast_field_values(leaf.lon, addresses), dtype=float)
            lats = np.array(searcher.fast_field_values(leaf.lat, addresses), dtype=float)
            columns.append(np.column_stack((lons, lats)))
        else:
            if sources is None:
                sources = [Layout.source_of(searcher.doc(a), vectors=False) for a in addresses]
            wanted = {leaf.normalized(t) for t in plan.tags[function.tags_parameter]}
            parts = function.field.split("/")
            columns.append(np.array([
                any(isinstance(v, str) and leaf.normalized(v) in wanted for v in values_at(src, parts)) for src in sources
            ], dtype=bool))
    return columns


def _finals(search, bases: np.ndarray, addresses: list, sources: list | None) -> np.ndarray:
    plan = search.q.scoring
    return bases * multipliers_array(plan, _columns(search, plan, addresses, sources))


def rescore(search, scored: list[tuple[float, Any, Any]]) -> list[tuple[float, Any, Any]]:
    """(text score, address, source or None) -> (final score, address, source), same order."""
    if not scored:
        return []
    sources = [s for _, _, s in scored]
    finals = _finals(search, np.array([b for b, _, _ in scored], dtype=float), [a for _, a, _ in scored],
                     sources if all(s is not None for s in sources) else None)
    return [(float(f), a, s) for f, (_, a, s) in zip(finals.tolist(), scored)]


def _value_range(search, leaf) -> tuple[float, float] | None:
    """(min, max) of a numeric/date fast field over the search's snapshot; None when no document has a value."""
    import tantivy
    from tantivy import Query

    handle = search.handle
    cache = handle.__dict__.setdefault("_scoring_value_ranges", {})
    name = leaf.value
    field_type = leaf.field_type
    schema = search.layout.schema
    searcher = search.searcher
    integer = field_type == tantivy.FieldType.Integer
    hit = cache.get(name)
    if hit is not None:  # still holds every value of this snapshot? (none above its max, none below its min)
        lo, hi = hit
        above = Query.range_query(schema, name, field_type, hi, None, include_lower=False, use_inverted_index=True)
        below = Query.range_query(schema, name, field_type, None, lo, include_upper=False, use_inverted_index=True)
        if not searcher.search(above, limit=1, count=False).hits and not searcher.search(below, limit=1, count=False).hits:
            return hit
    stats = searcher.aggregate(Query.all_query(), {"s": {"stats": {"field": name}}})["s"]
    if not stats.get("count") or stats.get("min") is None:
        cache.pop(name, None)
        return None
    lo, hi = stats["min"], stats["max"]
    if integer:
        lo, hi = int(lo), int(hi)
    cache[name] = (lo, hi)
    return lo, hi


def _largest_share(function, plan: ScoringPlan, lo: float, hi: float) -> float | None:
    """The largest share ``function`` gives any value in [lo, hi]; None when it applies to none of them."""
    if function.type == "magnitude":
        span = function.range_end - function.range_start
        xs = sorted(((lo - function.range_start) / span, (hi - function.range_start) / span))
        if xs[1] < 0.0 or (xs[0] > 1.0 and not function.constant_beyond_range):
            return None
        if xs[1] > 1.0 and function.constant_beyond_range:
            return 1.0
        return curve(function.interpolation, 1.0 - min(1.0, xs[1]))
    # freshness: t = (now - value) / duration, monotone in the value whatever the duration's sign
    scale = 1e-6 / function.duration_seconds
    ts = sorted(((plan.now_micros - lo) * scale, (plan.now_micros - hi) * scale))
    if ts[1] < 0.0 or ts[0] > 1.0:
        return None
    return curve(function.interpolation, max(0.0, ts[0]))


def snapshot_upper(search) -> float:
    """The largest multiplier any document of this snapshot can get (<= the plan's ``upper``)."""
    plan = search.q.scoring
    boosts = []
    for function in plan.functions:
        boost = function.boost
        if boost > 1.0 and function.type in ("magnitude", "freshness"):
            span = _value_range(search, search.layout.leaf(function.field))
            share = None if span is None else _largest_share(function, plan, float(span[0]), float(span[1]))
            boost = 1.0 if share is None else 1.0 + (boost - 1.0) * share
        boosts.append(boost)
    return min(plan.upper, bounds(plan.profile.aggregation, boosts)[1] * (1.0 + 1e-12))


def top_scored(search, query, k: int) -> list[tuple[float, Any, Any]]:
    """The exact k best (final score, address, None) of ``query`` under the plan's functions; equal final
    scores keep tantivy's order (text score, then index order). Each wider window repeats tantivy's search
    (its first hits are the previous window, in the same order), so only the new hits are rescored."""
    upper = None
    limit = max(k, FIRST_WINDOW)
    addresses: list = []
    finals = np.zeros(0)
    while True:
        hits = search.searcher.search(query, limit=limit, count=False).hits
        fresh = hits[len(addresses):]
        new_addresses = [a for _, a in fresh]
        new_bases = np.array([s for s, _ in fresh], dtype=float)
        finals = np.concatenate((finals, _finals(search, new_bases, new_addresses, None)))
        addresses += new_addresses
        order = np.argsort(-finals, kind="stable")[:k]
        if len(hits) < limit:
            break  # every match has been seen
        if upper is None:
            upper = snapshot_upper(search)
        last = hits[-1][0]
        if len(order) >= k and finals[order[k - 1]] > last * upper:
            break  # no unseen document (text score <= the last one's) can reach the k-th place
        limit *= 4
    return [(float(finals[i]), addresses[i], None) for i in order.tolist()]
