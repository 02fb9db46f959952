"""One search request against one index snapshot: query building, execution, vector and hybrid
queries, exact multi-key ordering, highlights (facets: ``tantivy_facets``)."""
from __future__ import annotations

import dataclasses
import functools
import heapq
import math
from typing import Any, Callable

import tantivy
from tantivy import Occur, Query

from weft.search import filter_ast as fa
from weft.search import query_ast as qa
from weft.search.analysis.normalize_filter import normalize_filter, normalized_source
from weft.search.documents import datetime_to_micros, double_value, parse_geo_point
from weft.search.engine import tantivy_scoring
from weft.search.engine.base import Hit, SearchQuery, SearchResults
from weft.search.engine.tantivy_facets import facets_aggregated, facets_python
from weft.search.engine.tantivy_layout import KEY, Layout, values_at
from weft.search.engine.tantivy_translate import FilterTranslator, TextTranslator, boolean, const_score
from weft.search.engine.tantivy_writer import IndexHandle, keys_query
from weft.search.engine.vector_columns import originals_reader
from weft.search.filter_eval import FilterEvaluator, haversine_km
from weft.search.highlight import collect_terms, highlight_field
from weft.search.query import parse_search


class Search:
    """One search request against one index snapshot."""

    def __init__(self, handle: IndexHandle, q: SearchQuery):
        self.handle = handle
        self.layout = handle.layout
        self.normalizers = self.layout.normalizers
        if self.normalizers and q.filter is not None:
            # literals compared with normalized fields are normalized too (Azure's normalizers)
            q = dataclasses.replace(q, filter=normalize_filter(q.filter, self.normalizers))
        self.q = q
        self.definition = handle.definition
        self.searcher = handle.searcher()
        targets_paths = q.search_fields or tuple(l.path for l in self.definition.searchable_leaves())
        self.targets = [self.layout.leaf(p) for p in targets_paths]
        self.key_name = self.definition.key_field.name

    @functools.cached_property
    def types(self) -> dict[str, str]:
        """path -> type of every primitive field (for the filter evaluator and geo ordering; most searches need neither)."""
        return {l.path: l.type for l in self.definition.leaves()}

    def _evaluator(self) -> Callable:
        evaluator = FilterEvaluator(self.types, self._ismatch_eval)
        if not self.normalizers:
            return evaluator
        return lambda expr, source: evaluator(expr, normalized_source(source, self.normalizers))

    # ---- query building --------------------------------------------------------------------
    def _text_query(self, node: qa.Node, fields: list | None = None) -> Query | None:
        translator = TextTranslator(self.layout, fields if fields is not None else self.targets, self.q.field_weights, self.q.synonyms)
        return translator.translate(node)

    def _ismatch_query(self, e: fa.IsMatch) -> Query | None:
        node = parse_search(e.query, e.query_type or "simple", e.search_mode or "any")
        fields = [self.layout.leaf(f) for f in e.fields] if e.fields else [self.layout.leaf(l.path) for l in self.definition.searchable_leaves()]
        return TextTranslator(self.layout, fields, synonyms=self.q.synonyms).translate(node)

    def build(self) -> tuple[Query, bool]:
        """The tantivy query and whether it is exact (no residual filter to check)."""
        text = self.q.text
        if isinstance(text, qa.MatchAll):
            text_q: Query = const_score(Query.all_query(), 1.0)
        else:
            translated = self._text_query(text)
            text_q = translated if translated is not None else Query.empty_query()
        if self.q.filter is None:
            return text_q, True
        filter_q, exact = FilterTranslator(self.layout, self._ismatch_query).translate(self.q.filter)
        if filter_q is None:
            return text_q, exact
        if not _has_scoring(self.q.filter):
            filter_q = const_score(filter_q, 0.0)
        return boolean([(Occur.Must, text_q), (Occur.Must, filter_q)]), exact

    # ---- execution ------------------------------------------------------------------------------
    def run(self) -> SearchResults:
        if self.q.vector_queries:
            return self._run_vector()
        query, exact = self.build()
        need = self.q.skip + self.q.top
        count = None
        facets = None
        has_more = False
        if exact:
            # One more than the page tells whether more results follow; counting every match
            # (which defeats tantivy's top-k pruning) happens only when $count asks for it.
            if self.q.scoring is not None:  # the profile's functions (weft.search.engine.tantivy_scoring)
                if self.q.orderby and not _is_default_order(self.q.orderby):
                    ranked = sorted(tantivy_scoring.rescore(self, self._all_matches(query)), key=functools.cmp_to_key(self._comparator()))
                else:
                    ranked = tantivy_scoring.top_scored(self, query, need + 1)
            elif self.q.orderby and not _is_default_order(self.q.orderby):
                ranked = self._ordered(query, need + 1)
            else:
                result = self.searcher.search(query, limit=need + 1, count=False)
                ranked = [(score, addr, None) for score, addr in result.hits]
            has_more = len(ranked) > need
            if self.q.count:
                count = self.searcher.search(query, limit=1, count=True).count
            page = ranked[self.q.skip : need]
            if self.q.facets:
                facets = facets_aggregated(self.searcher, self.layout, query, self.q.facets)
        else:
            candidates = self._all_matches(query)
            evaluator = self._evaluator()
            kept = [(s, a, src) for s, a, src in candidates if evaluator(self.q.filter, src)]
            if self.q.scoring is not None:
                kept = tantivy_scoring.rescore(self, kept)
            count = len(kept)
            has_more = count > need
            if self.q.orderby and not _is_default_order(self.q.orderby):
                kept.sort(key=functools.cmp_to_key(self._comparator()))
            else:
                kept.sort(key=lambda t: -t[0])
            page = kept[self.q.skip : need]
            if self.q.facets:
                facets = facets_python(self.definition, self.q.facets, [normalized_source(src, self.normalizers) for _, _, src in kept])
        hits = []
        terms = collect_terms(self.q.text) if self.q.highlight_fields else None
        for score, address, source in page:
            if source is None:
                source = Layout.source_of(self.searcher.doc(address), self.q.need_vectors)
            highlights = self._highlights(terms, source) if terms is not None else None
            hits.append(Hit(score=float(score), document=source, highlights=highlights))
        return SearchResults(hits=hits, count=count if self.q.count else None, facets=facets, has_more=has_more)

    # ---- vector and hybrid queries -------------------------------------------------------------
    RRF_K = 60

    def _filter_keys(self) -> set[str] | None:
        """Keys of every document passing the filter (None when there is no filter)."""
        if self.q.filter is None:
            return None
        filter_q, exact = FilterTranslator(self.layout, self._ismatch_query).translate(self.q.filter)
        if filter_q is None:
            filter_q = Query.all_query()
        n = max(1, self.searcher.num_docs)
        hits = self.searcher.search(filter_q, limit=n, count=False).hits
        evaluator = None if exact else self._evaluator()
        keys = set()
        for _, address in hits:
            source = Layout.source_of(self.searcher.doc(address), vectors=False)
            if evaluator is None or evaluator(self.q.filter, source):
                keys.add(source[self.key_name])
        return keys

    def _passes_filter(self, sources: dict[str, dict]) -> set[str]:
        evaluator = self._evaluator()
        return {key for key, source in sources.items() if evaluator(self.q.filter, source)}

    def _run_vector(self) -> SearchResults:
        q = self.q
        need = q.skip + q.top
        pre = q.vector_filter_mode == "preFilter"
        allowed = self._filter_keys() if pre else None
        arms: list[tuple[float, list[tuple[str, float]]]] = []
        for vq in q.vector_queries:
            for name in vq.fields:
                vi = self.handle.vectors[name]
                exhaustive = vq.exhaustive or self.definition.vector_settings(name)["kind"] == "exhaustiveKnn"
                found = vi.search(list(vq.vector), vq.k, exact=exhaustive, allowed=allowed, oversampling=vq.oversampling,
                                  originals=originals_reader(self.handle, name))
                if q.filter is not None and not pre:
                    passing = self._passes_filter(self.handle.lookup([key for key, _ in found], vectors=False))
                    found = [(key, sc) for key, sc in found if key in passing]
                arms.append((vq.weight, found))
        text_hits: dict[str, tuple[float, dict]] = {}
        if q.text_given:
            text_q = SearchQuery(text=q.text, search_fields=q.search_fields, filter=q.filter, top=max(50, need),
                                 field_weights=q.field_weights, scoring=q.scoring, need_vectors=False)
            text_results = Search(self.handle, text_q).run()
            ranked_text = []
            for hit in text_results.hits:
                key = hit.document[self.key_name]
                text_hits[key] = (hit.score, hit.document)
                ranked_text.append((key, hit.score))
            arms.append((1.0, ranked_text))
        if len(arms) == 1 and not q.text_given:
            ranked = arms[0][1]
        else:
            fused: dict[str, float] = {}
            for weight, results in arms:
                for rank, (key, _) in enumerate(results, start=1):
                    fused[key] = fused.get(key, 0.0) + weight / (self.RRF_K + rank)
            ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        page = ranked[q.skip : need]
        if q.keys_only and not q.text_given and not q.facets:  # nothing but the key is rendered: no document reads
            sources = {key: {self.key_name: key} for key, _ in page}
        else:
            sources = self.handle.lookup([key for key, _ in page], vectors=q.need_vectors)
        terms = collect_terms(q.text) if (q.highlight_fields and q.text_given) else None
        hits = []
        for key, score in page:
            source = sources.get(key) or (text_hits.get(key, (0, None))[1])
            if source is None:
                continue  # deleted between the vector search and the fetch
            hits.append(Hit(score=float(score), document=source, highlights=self._highlights(terms, source) if terms else ({} if q.highlight_fields else None)))
        facets = None
        if q.facets:
            all_sources = self.handle.lookup([key for key, _ in ranked], vectors=False)
            facets = facets_python(self.definition, q.facets, [normalized_source(src, self.normalizers) for src in all_sources.values()])
        return SearchResults(hits=hits, count=len(ranked) if q.count else None, facets=facets, has_more=len(ranked) > need)

    def _highlights(self, terms, source: dict) -> dict[str, list[str]]:
        out = {}
        for path in self.q.highlight_fields:
            leaf = self.layout.leaf(path)
            values = [v for v in values_at(source, path.split("/")) if isinstance(v, str)]
            frags = highlight_field(path, values, leaf.search_analyzer, terms, self.q.highlight_pre_tag, self.q.highlight_post_tag)
            if frags:
                out[path] = frags
        return out

    def _ismatch_eval(self, e: fa.IsMatch, source: dict) -> bool:
        q = self._ismatch_query(e)
        if q is None:
            return False
        key_q = Query.term_query(self.layout.schema, KEY, source[self.key_name])
        return self.searcher.search(boolean([(Occur.Must, q), (Occur.Must, key_q)]), limit=1).count > 0

    def _all_matches(self, query: Query) -> list[tuple[float, Any, dict]]:
        n = max(1, self.searcher.num_docs)
        result = self.searcher.search(query, limit=n, count=False)
        return [(score, addr, Layout.source_of(self.searcher.doc(addr), self.q.need_vectors)) for score, addr in result.hits]

    # ---- ordering ------------------------------------------------------------------------------
    def _sort_value(self, clause: fa.OrderByClause, source: dict, score: float) -> Any:
        t = clause.target
        if isinstance(t, fa.SearchScore):
            return score
        if isinstance(t, fa.GeoDistance):
            point = parse_geo_point(_get(source, t.target.parts))
            return None if point is None else haversine_km(point, t.point)
        value = _get(source, t.parts)
        kind = self.types.get(t.dotted)
        if value is None:
            return None
        normalize = self.normalizers.get(t.dotted)
        if normalize is not None and isinstance(value, str):
            return normalize(value)
        if kind == "Edm.Double":
            value = double_value(value)
            return None if math.isnan(value) else value
        if kind == "Edm.DateTimeOffset":
            return datetime_to_micros(value)
        return value

    def _comparator(self) -> Callable:
        clauses = self.q.orderby

        def compare(a, b) -> int:
            (sa, _, da), (sb, _, db) = a, b
            for clause in clauses:
                va, vb = self._sort_value(clause, da, sa), self._sort_value(clause, db, sb)
                if va == vb:
                    continue
                # nulls first ascending, last descending (Azure)
                if va is None:
                    c = -1
                elif vb is None:
                    c = 1
                else:
                    c = -1 if va < vb else 1
                return -c if clause.descending else c
            if sa != sb:
                return -1 if sa > sb else 1
            ka, kb = da[self.key_name], db[self.key_name]
            return (ka > kb) - (ka < kb)

        return compare

    def _ordered(self, query: Query, need: int) -> list:
        """Exact multi-key ordering; only the candidates that can reach the first ``need`` are sorted."""
        first = self.q.orderby[0].target
        candidates: dict[tuple[int, int], Any] = {}
        if isinstance(first, fa.FieldPath):
            leaf = self.layout.leaf(first.dotted)
            fast = leaf.raw or leaf.value
            self._field_candidates(query, need, fast, leaf, self.q.orderby[0].descending, candidates)
        elif isinstance(first, fa.SearchScore) and self.q.orderby[0].descending:
            limit = max(need, 1)
            while True:
                hits = self.searcher.search(query, limit=limit, count=False).hits
                if len(hits) < limit or len(hits) < need or hits[-1][0] < hits[need - 1][0]:
                    break
                limit *= 2
            for score, addr in hits:
                candidates[(addr.segment_ord, addr.doc)] = addr
        else:
            total = self.searcher.search(query, limit=1, count=True).count
            hits = self.searcher.search(query, limit=max(1, total), count=False).hits
            if isinstance(first, fa.GeoDistance):
                hits = self._nearest(hits, first, self.q.orderby[0].descending, need)
            for score, addr in hits:
                candidates[(addr.segment_ord, addr.doc)] = addr
        addresses = list(candidates.values())
        columnar = self._columnar_order(addresses)
        if columnar is not None:
            return columnar
        scored = self._with_scores(query, addresses)
        scored.sort(key=functools.cmp_to_key(self._comparator()))
        return scored

    def _nearest(self, hits: list, target: fa.GeoDistance, descending: bool, need: int) -> list:
        """Bounded geo-distance ordering: distances from the lon/lat fast-field columns (no document
        is read), then only the first ``need`` (and every candidate tied with the last of them, and
        the points-less documents that sort first) go on to the exact multi-key sort."""
        leaf = self.layout.leaf(target.target.dotted)
        if leaf.lon is None or len(hits) <= need:
            return hits
        addresses = [addr for _, addr in hits]
        lons = self.searcher.fast_field_values(leaf.lon, addresses)
        lats = self.searcher.fast_field_values(leaf.lat, addresses)
        keyed = []
        nulls = []
        for hit, lon, lat in zip(hits, lons, lats):
            if lon is None or lat is None:
                nulls.append(hit)
            else:
                keyed.append((haversine_km((lon, lat), target.point), hit))
        if not descending:  # nulls first ascending (Azure), last descending
            if len(nulls) >= need:
                return nulls
            want = need - len(nulls)
        else:
            want = need
        chosen = heapq.nlargest(want, keyed, key=lambda t: t[0]) if descending else heapq.nsmallest(want, keyed, key=lambda t: t[0])
        if chosen:
            edge = chosen[-1][0]
            inside = {id(h) for _, h in chosen}
            chosen += [(d, h) for d, h in keyed if d == edge and id(h) not in inside]
        picked = [h for _, h in chosen]
        if descending:
            return picked + (nulls if len(picked) < need else [])
        return nulls + picked

    def _columnar_order(self, addresses: list) -> list | None:
        """Sort candidates on fast-field columns, without reading documents, when every key allows it:
        a filter-only query (all scores 1.0) ordered by numeric, date or boolean fields."""
        if not isinstance(self.q.text, qa.MatchAll) or (self.q.filter is not None and _has_scoring(self.q.filter)):
            return None
        columns = []
        for clause in self.q.orderby:
            if not isinstance(clause.target, fa.FieldPath):
                return None
            leaf = self.layout.leaf(clause.target.dotted)
            if leaf.value is None:
                return None
            columns.append((self.searcher.fast_field_values(leaf.value, addresses), clause.descending))

        def compare(i: int, j: int) -> int:
            for values, descending in columns:
                va, vb = values[i], values[j]
                if va == vb:
                    continue
                c = -1 if va is None else 1 if vb is None else (-1 if va < vb else 1)  # nulls first ascending
                return -c if descending else c
            a, b = addresses[i], addresses[j]
            return -1 if (a.segment_ord, a.doc) < (b.segment_ord, b.doc) else 1

        order = sorted(range(len(addresses)), key=functools.cmp_to_key(compare))
        return [(1.0, addresses[i], None) for i in order]

    def _field_candidates(self, query: Query, need: int, fast: str, leaf, descending: bool, out: dict) -> None:
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc

        def take(q: Query, limit: int) -> list:
            if limit <= 0:
                return []
            return self.searcher.search(q, limit=limit, count=False).hits

        def add(hits) -> None:
            for _, addr in hits:
                out[(addr.segment_ord, addr.doc)] = addr

        def add_ties(base: Query, hits: list, limit: int) -> None:
            # every document tied with the last candidate on the first key may still belong on the page
            if len(hits) == limit and hits and hits[-1][0] is not None:
                tie_q = boolean([(Occur.Must, base), (Occur.Must, self._equals(leaf, hits[-1][0]))])
                add(take(tie_q, self.searcher.search(tie_q, limit=1, count=True).count))

        if self.handle.missing_count(fast) == 0:
            # no document lacks this field: tantivy's own order is the whole story for the first key
            hits = self.searcher.search(query, limit=need, count=False, order_by_field=fast, order=order).hits if need > 0 else []
            add(hits)
            add_ties(query, hits, need)
            return
        exists = Query.exists_query(fast)
        missing_q = boolean([(Occur.Must, query), (Occur.MustNot, exists)])
        present_q = boolean([(Occur.Must, query), (Occur.Must, exists)])
        remaining = need
        if not descending:  # Azure sorts nulls first ascending: all of them are candidates
            n_missing = self.searcher.search(missing_q, limit=1, count=True).count
            add(take(missing_q, n_missing))
            if n_missing >= need:
                return
            remaining = need - n_missing
        hits = self.searcher.search(present_q, limit=remaining, count=False, order_by_field=fast, order=order).hits if remaining > 0 else []
        add(hits)
        add_ties(present_q, hits, remaining)
        if descending and len(hits) < remaining:  # nulls last descending; later keys order them, so all
            add(take(missing_q, self.searcher.search(missing_q, limit=1, count=True).count))

    def _equals(self, leaf, value) -> Query:
        schema = self.layout.schema
        if leaf.raw:
            return Query.term_query(schema, leaf.raw, value)
        if leaf.type == "Edm.Boolean":
            return Query.term_query(schema, leaf.value, bool(value))
        # one exact value: the term dictionary finds it directly, where a fast-field range would scan
        # the whole column
        return Query.range_query(schema, leaf.value, leaf.field_type, value, value, use_inverted_index=True)

    def _with_scores(self, query: Query, addresses: list) -> list[tuple[float, Any, dict]]:
        sources = [Layout.source_of(self.searcher.doc(a), self.q.need_vectors) for a in addresses]
        if isinstance(self.q.text, qa.MatchAll) and (self.q.filter is None or not _has_scoring(self.q.filter)):
            return [(1.0, a, s) for a, s in zip(addresses, sources)]
        keys = [s[self.key_name] for s in sources]
        scores: dict[str, float] = {}
        if keys:
            restricted = boolean([(Occur.Must, query), (Occur.Must, const_score(keys_query(self.layout.schema, keys), 0.0))])
            for score, addr in self.searcher.search(restricted, limit=len(keys), count=False).hits:
                scores[Layout.source_of(self.searcher.doc(addr), vectors=False)[self.key_name]] = score
        return [(scores.get(k, 0.0), a, s) for k, a, s in zip(keys, addresses, sources)]


def _has_scoring(e) -> bool:
    if isinstance(e, fa.IsMatch):
        return e.scoring
    if isinstance(e, (fa.And, fa.Or)):
        return _has_scoring(e.left) or _has_scoring(e.right)
    if isinstance(e, fa.Not):
        return _has_scoring(e.operand)
    return False


def _is_default_order(clauses) -> bool:
    return len(clauses) == 1 and isinstance(clauses[0].target, fa.SearchScore) and clauses[0].descending


def _get(source: dict, parts: tuple[str, ...]) -> Any:
    value: Any = source
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    return value


