"""What autocomplete reads from a tantivy index: every document a query matches, streamed in bounded chunks.

:func:`matching_sources` builds the query exactly as a search does (text, filter, the residual filter weft checks
on the stored document), counts the matches, then yields their stored documents in chunks of ``CHUNK`` (one
chunk's documents are decoded at a time), in tantivy's order; the caller stops when its time budget is spent and
reports how many it read. :func:`filtered_terms` is the term-dictionary walk with a filter query: the completions
of one prefix and their document counts among the documents a filter keeps, exact and without reading documents.
"""
from __future__ import annotations

from typing import Any, Iterator

from weft.search.engine.tantivy_layout import Layout

CHUNK = 1000
MAX_ADDRESSES = 200_000  # matches addressed at most (the time budget ends the reading long before)


class Matches:
    def __init__(self, engine, definition, q):
        from weft.search.engine.tantivy_search import Search

        self.search = Search(engine._handle(definition), q)
        self.query, self.exact = self.search.build()
        self.searcher = self.search.searcher
        self.total = self.searcher.search(self.query, limit=1, count=True).count

    def chunks(self) -> Iterator[list[dict[str, Any]]]:
        if not self.total:
            return
        evaluator = None if self.exact else self.search._evaluator()
        hits = self.searcher.search(self.query, limit=min(self.total, MAX_ADDRESSES), count=False).hits
        for start in range(0, len(hits), CHUNK):
            sources = [Layout.source_of(self.searcher.doc(a), False) for _, a in hits[start:start + CHUNK]]
            if evaluator is not None:
                sources = [s if evaluator(self.search.q.filter, s) else None for s in sources]
            yield sources  # None: matched the text and the translated filter, not the residual one (still "read")


def matching_sources(engine, definition, q) -> Matches | None:
    """None when the engine is not tantivy's (the caller then uses the engine's search)."""
    if not hasattr(engine, "_handle"):
        return None
    return Matches(engine, definition, q)


def filtered_terms(engine, definition, field_path: str, prefix: str, filter_q, limit: int) -> list[tuple[str, int]] | None:
    """Terms of ``field_path`` beginning with ``prefix``, counted over the documents ``filter_q`` (a SearchQuery
    whose filter translates exactly) matches; None when the filter needs weft's residual check."""
    if not hasattr(engine, "_handle"):
        return None
    from weft.search.engine.tantivy_search import Search

    search = Search(engine._handle(definition), filter_q)
    query, exact = search.build()
    if not exact:
        return None
    leaf = search.layout.leaves.get(field_path)
    if leaf is None or leaf.text is None:
        return []
    return [(t, int(n)) for t, n in search.searcher.terms_with_prefix(leaf.text, prefix, filter_query=query, limit=limit)]
