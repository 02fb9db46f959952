"""The Engine protocol: what the search service needs from a storage/search engine.

Requests arrive here already parsed and checked against the index definition (see
:mod:`weft.search.service`), so an engine deals only in trees and plain values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from weft.search import filter_ast, query_ast
from weft.search.documents import Action, ItemResult
from weft.search.schema import IndexDefinition


@dataclass(frozen=True)
class FacetSpec:
    field: str
    count: int = 10
    sort: str = "count"  # count | -count | value | -value
    interval: float | str | None = None  # number, or minute/hour/day/week/month/quarter/year
    values: tuple[Any, ...] | None = None  # boundaries for range buckets
    time_offset: int = 0  # minutes east of UTC that calendar intervals start at (the facet's timeoffset)


@dataclass(frozen=True)
class VectorQuerySpec:
    vector: tuple[float, ...]
    fields: tuple[str, ...]
    k: int = 50
    exhaustive: bool = False
    weight: float = 1.0
    oversampling: float | None = None  # candidates per result on a compressed field (implies rescoring)


@dataclass(frozen=True)
class SearchQuery:
    text: query_ast.Node
    search_fields: tuple[str, ...] | None = None
    filter: filter_ast.Expr | None = None
    orderby: tuple[filter_ast.OrderByClause, ...] = ()
    skip: int = 0
    top: int = 50
    count: bool = False
    facets: tuple[FacetSpec, ...] = ()
    highlight_fields: tuple[str, ...] = ()
    highlight_pre_tag: str = "<em>"
    highlight_post_tag: str = "</em>"
    field_weights: dict[str, float] = field(default_factory=dict)
    scoring: Any = None  # weft.search.ranking.scoring.ScoringPlan: the profile's functions, applied to text scores
    vector_queries: tuple[VectorQuerySpec, ...] = ()
    vector_filter_mode: str = "preFilter"  # preFilter | postFilter
    text_given: bool = False  # a hybrid query: the text arm takes part in the fusion
    need_vectors: bool = True  # the page's documents must carry their vector fields (they are rendered)
    # only the key is rendered (select names the key alone): a pure vector query answers from the vector index's
    # keys without reading the documents
    keys_only: bool = False
    # field path -> the Solr rules of its synonym map (weft.search.analysis.synonyms.Rules), expanded at query time
    synonyms: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    score: float
    document: dict[str, Any]  # the full stored document
    highlights: dict[str, list[str]] | None = None


@dataclass
class SearchResults:
    hits: list[Hit]
    count: int | None = None
    facets: dict[str, list[dict[str, Any]]] | None = None
    has_more: bool = False  # more results follow the requested page


@dataclass
class IndexStats:
    document_count: int
    storage_size: int
    vector_index_size: int = 0  # bytes of the ANN indexes (vectors as held there, and the graph)


class Engine(Protocol):
    """One engine holds every index of a service."""

    def open_index(self, definition: IndexDefinition) -> None: ...

    def create_index(self, definition: IndexDefinition) -> None: ...

    def update_index(self, old: IndexDefinition, new: IndexDefinition) -> None: ...

    def delete_index(self, name: str) -> None: ...

    def apply(self, definition: IndexDefinition, actions: list[Action]) -> list[ItemResult]:
        """Apply a batch atomically; returns only once the batch is durable."""

    def get(self, definition: IndexDefinition, key: str) -> dict[str, Any] | None: ...

    def count(self, definition: IndexDefinition) -> int: ...

    def search(self, definition: IndexDefinition, query: SearchQuery) -> SearchResults: ...

    def suggest_terms(self, definition: IndexDefinition, field_path: str, prefix: str, limit: int) -> list[tuple[str, int]]:
        """Index terms of a field beginning with `prefix`, with their document frequencies, most frequent first."""

    def stats(self, definition: IndexDefinition) -> IndexStats: ...

    def close(self) -> None: ...
