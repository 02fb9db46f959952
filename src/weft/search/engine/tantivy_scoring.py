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

FIRST_WINDOW = 64


def _columns(search, plan: ScoringPlan, addresses: list, sources: list | None) -> list:
    searcher, layout = search.searcher, search.layout
    columns = []
    for function in plan.functions:
        leaf = layout.leaf(function.field)
        if function.type in ("magnitude", "freshness"):
            values = searcher.fast_field_values(leaf.value, addresses) if addresses else []
            columns.append(np.array([np.nan if v is None else v for v in values], dtype=float))
        elif function.type == "distance":
            lons = searcher.fast_field_values(leaf.lon, addresses) if addresses else []
            lats = searcher.fast_field_values(leaf.lat, addresses) if addresses else []
            columns.append(np.array([(np.nan, np.nan) if a is None or b is None else (a, b) for a, b in zip(lons, lats)],
                                    dtype=float).reshape(-1, 2))
        else:
            if sources is None:
                sources = [Layout.source_of(searcher.doc(a), vectors=False) for a in addresses]
            wanted = {leaf.normalized(t) for t in plan.tags[function.tags_parameter]}
            parts = function.field.split("/")
            columns.append(np.array([
                any(isinstance(v, str) and leaf.normalized(v) in wanted for v in values_at(src, parts)) for src in sources
            ], dtype=bool))
    return columns


def rescore(search, scored: list[tuple[float, Any, Any]]) -> list[tuple[float, Any, Any]]:
    """(text score, address, source or None) -> (final score, address, source), same order."""
    if not scored:
        return []
    plan = search.q.scoring
    addresses = [a for _, a, _ in scored]
    sources = [s for _, _, s in scored]
    have_sources = all(s is not None for s in sources)
    m = multipliers_array(plan, _columns(search, plan, addresses, sources if have_sources else None))
    return [(float(base) * float(mult), a, s) for (base, a, s), mult in zip(scored, m)]


def _order(finals: list[tuple[float, Any, Any]], bases: list[float]) -> list[int]:
    # final score descending, then text score descending, then index order (stable between requests)
    return sorted(range(len(finals)), key=lambda i: (-finals[i][0], -bases[i], finals[i][1].segment_ord, finals[i][1].doc))


def top_scored(search, query, k: int) -> list[tuple[float, Any, Any]]:
    """The exact k best (final score, address, None) of ``query`` under the plan's functions."""
    plan = search.q.scoring
    upper = plan.upper
    limit = max(k, FIRST_WINDOW)
    while True:
        hits = search.searcher.search(query, limit=limit, count=False).hits
        scored = [(s, a, None) for s, a in hits]
        finals = rescore(search, scored)
        bases = [s for s, _ in hits]
        order = _order(finals, bases)
        if len(hits) < limit:
            break  # every match has been seen
        if len(order) >= k and finals[order[k - 1]][0] > hits[-1][0] * upper:
            break  # no unseen document can reach the k-th place
        limit *= 4
    return [finals[i] for i in order[:k]]
