"""Scoring functions over tantivy results: exact top-k under the profile's multipliers.

The final score of a document is its text (BM25) score times the aggregate multiplier of the profile's
functions (:mod:`weft.search.ranking.scoring`). No multiplier exceeds the plan's ``upper`` bound, so a
document outside tantivy's BM25 top N (whose text score is at most the N-th score ``s_N``) ends at most at
``s_N x upper``. :func:`top_scored` widens N (x4 each round) until the k-th best final score among the N is
above that, or every match has been seen: then the k best are exactly the k best of the whole match set.
Function values come from fast-field columns (numbers, dates as microseconds, lon/lat); tag functions read
the stored documents of the candidates.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from weft.search.engine.tantivy_layout import Layout, values_at
from weft.search.ranking.scoring import ScoringPlan, multipliers_array

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


def top_scored(search, query, k: int) -> list[tuple[float, Any, Any]]:
    """The exact k best (final score, address, None) of ``query`` under the plan's functions; equal final
    scores keep tantivy's order (text score, then index order)."""
    upper = search.q.scoring.upper
    limit = max(k, FIRST_WINDOW)
    while True:
        hits = search.searcher.search(query, limit=limit, count=False).hits
        addresses = [a for _, a in hits]
        bases = np.array([s for s, _ in hits], dtype=float)
        finals = _finals(search, bases, addresses, None)
        order = np.argsort(-finals, kind="stable")[:k]
        if len(hits) < limit:
            break  # every match has been seen
        if len(order) >= k and finals[order[k - 1]] > bases[-1] * upper:
            break  # no unseen document (text score <= the last one's) can reach the k-th place
        limit *= 4
    return [(float(finals[i]), addresses[i], None) for i in order.tolist()]
