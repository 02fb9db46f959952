"""Translation of parsed text queries and filters into tantivy queries.

Text: each clause runs against every target field and the per-field BM25 scores add
up, as Lucene and Azure do. Filters: every node becomes either an exact tantivy query,
or a superset of its matches marked inexact; the engine then checks inexact filters on
the stored documents with :mod:`weft.search.filter_eval`. ``None`` stands for "all
documents".
"""
from __future__ import annotations

import math
import re
from typing import Any

import tantivy
from tantivy import Occur, Query

from weft.search import filter_ast as fa
from weft.search import query_ast as qa
from weft.search.analysis.synonyms import expansions
from weft.search.documents import datetime_to_micros
from weft.search.engine.tantivy_layout import Layout, LeafLayout
from weft.search.filter_eval import EARTH_RADIUS_KM

_MIRROR = {"eq": "ne", "ne": "eq", "gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}


def const_score(q: Query, score: float) -> Query:
    return Query.const_score_query(q, score)


def boolean(clauses: list[tuple[Occur, Query]]) -> Query:
    return Query.boolean_query(clauses)


def all_docs() -> Query:
    return Query.all_query()


def negate(q: Query) -> Query:
    return boolean([(Occur.Must, all_docs()), (Occur.MustNot, q)])


class TextTranslator:
    def __init__(self, layout: Layout, targets: list[LeafLayout], weights: dict[str, float] | None = None, synonyms: dict | None = None):
        self.layout = layout
        self.schema = layout.schema
        self.targets = targets
        self.weights = weights or {}
        self.synonyms = synonyms or {}

    def _fields_for(self, field: str | None) -> list[LeafLayout]:
        if field is None:
            return self.targets
        leaf = self.layout.leaves.get(field)
        if leaf is None or leaf.text is None:
            from weft.errors import InvalidInput

            raise InvalidInput(f"The field '{field}' is not a searchable field.\r\nParameter name: search")
        return [leaf]

    def _per_field(self, field: str | None, build, constant: bool = False) -> Query | None:
        clauses = []
        for leaf in self._fields_for(field):
            q = build(leaf)
            if q is None:
                continue
            weight = self.weights.get(leaf.path)
            if weight and weight != 1.0 and not constant:
                q = Query.boost_query(q, weight)
            clauses.append((Occur.Should, q))
        if not clauses:
            return None
        q = clauses[0][1] if len(clauses) == 1 else boolean(clauses)
        return const_score(q, 1.0) if constant else q

    def translate(self, node: qa.Node) -> Query | None:
        """None means the clause matches nothing (e.g. only stop words); the caller decides."""
        if isinstance(node, qa.MatchAll):
            return const_score(all_docs(), 1.0)
        if isinstance(node, qa.Term):
            return self._boost(self._per_field(node.field, lambda leaf: self._terms(leaf, node.text, 0)), node.boost)
        if isinstance(node, qa.Phrase):
            return self._boost(self._per_field(node.field, lambda leaf: self._terms(leaf, node.text, node.slop)), node.boost)
        if isinstance(node, qa.Prefix):
            pattern = re.escape(node.text.lower()) + ".*"
            return self._boost(self._per_field(node.field, lambda leaf: Query.regex_query(self.schema, leaf.text, pattern), True), node.boost)
        if isinstance(node, qa.Wildcard):
            pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in node.pattern.lower())
            return self._boost(self._per_field(node.field, lambda leaf: Query.regex_query(self.schema, leaf.text, pattern), True), node.boost)
        if isinstance(node, qa.Regex):
            pattern = node.pattern
            try:
                re.compile(pattern)
            except re.error as exc:
                from weft.errors import InvalidInput

                raise InvalidInput(f"Invalid regular expression '/{pattern}/': {exc}.\r\nParameter name: search")
            return self._boost(self._per_field(node.field, lambda leaf: Query.regex_query(self.schema, leaf.text, pattern), True), node.boost)
        if isinstance(node, qa.Fuzzy):
            return self._boost(
                self._per_field(
                    node.field,
                    lambda leaf: Query.fuzzy_term_query(self.schema, leaf.text, node.text.lower(), distance=min(2, max(0, node.distance)),
                                                       prefix=node.prefix),
                    True,
                ),
                node.boost,
            )
        if isinstance(node, qa.Boolean):
            clauses: list[tuple[Occur, Query]] = []
            for sub in node.must:
                q = self.translate(sub)
                if q is None:
                    # Lucene drops a required clause that analyzes to nothing (a stop word).
                    continue
                clauses.append((Occur.Must, q))
            for sub in node.should:
                q = self.translate(sub)
                if q is not None:
                    clauses.append((Occur.Should, q))
            has_positive = any(o != Occur.MustNot for o, _ in clauses)
            for sub in node.must_not:
                q = self.translate(sub)
                if q is not None:
                    clauses.append((Occur.MustNot, q))
            if not has_positive:
                return None
            return self._boost(boolean(clauses), node.boost)
        raise TypeError(f"unknown query node {node!r}")

    @staticmethod
    def _boost(q: Query | None, boost: float) -> Query | None:
        if q is None or boost == 1.0:
            return q
        return Query.boost_query(q, boost)

    def _terms(self, leaf: LeafLayout, text: str, slop: int) -> Query | None:
        toks = leaf.search_chain.tokens(text)
        if not toks:
            return None
        rules = self.synonyms.get(leaf.path)
        if rules is not None:
            alternatives = expansions(rules, leaf.search_chain, [t.term for t in toks])
            if alternatives:
                queries = [self._sequence(leaf, [(i, w) for i, w in enumerate(alt)], slop) for alt in alternatives]
                return queries[0] if len(queries) == 1 else boolean([(Occur.Should, q) for q in queries])
        base = toks[0].pos
        return self._sequence(leaf, [(t.pos - base, t.term) for t in toks], slop)

    def _sequence(self, leaf: LeafLayout, terms: list[tuple[int, str]], slop: int) -> Query:
        if len(terms) == 1:
            return Query.term_query(self.schema, leaf.text, terms[0][1])
        if len({p for p, _ in terms}) == 1:  # tokens at one position (e.g. n-grams of one word): any of them
            return boolean([(Occur.Should, Query.term_query(self.schema, leaf.text, w)) for _, w in terms])
        stride = leaf.stride  # an n-gram field's terms are STRIDE positions apart in the index (gram_values)
        if stride != 1:
            terms, slop = [(stride * p, w) for p, w in terms], stride * slop
        return Query.phrase_query(self.schema, leaf.text, terms, slop=slop)


class FilterTranslator:
    def __init__(self, layout: Layout, text_for_ismatch):
        self.layout = layout
        self.schema = layout.schema
        self.text_for_ismatch = text_for_ismatch  # IsMatch -> Query | None

    def translate(self, e: fa.Expr) -> tuple[Query | None, bool]:
        return self._t(e, {})

    # (query or None for "all docs", exact)
    def _t(self, e, env: dict[str, str]) -> tuple[Query | None, bool]:
        if isinstance(e, fa.And):
            lq, lx = self._t(e.left, env)
            rq, rx = self._t(e.right, env)
            parts = [q for q in (lq, rq) if q is not None]
            if not parts:
                return None, lx and rx
            q = parts[0] if len(parts) == 1 else boolean([(Occur.Must, p) for p in parts])
            # Inside a lambda over a collection, two conditions may hold for different elements.
            return q, lx and rx and not env
        if isinstance(e, fa.Or):
            lq, lx = self._t(e.left, env)
            rq, rx = self._t(e.right, env)
            if lq is None or rq is None:
                # one side matches everything: exact only if that side is exact
                return None, (lq is None and lx) or (rq is None and rx)
            return boolean([(Occur.Should, lq), (Occur.Should, rq)]), lx and rx
        if isinstance(e, fa.Not):
            q, exact = self._t(e.operand, env)
            if not exact or env:
                return None, False
            if q is None:
                return Query.empty_query(), True
            return negate(q), True
        if isinstance(e, fa.BoolConstant):
            return (None, True) if e.value else (Query.empty_query(), True)
        if isinstance(e, fa.BoolField):
            leaf = self._leaf(e.target, env)
            return Query.term_query(self.schema, leaf.value, True), self._exact_leaf(leaf, e.target)
        if isinstance(e, fa.Comparison):
            return self._comparison(e, env)
        if isinstance(e, fa.SearchIn):
            leaf = self._leaf(e.target, env)
            if not e.values:
                return Query.empty_query(), True
            return Query.term_set_query(self.schema, leaf.raw, list(e.values)), self._exact_leaf(leaf, e.target)
        if isinstance(e, fa.Lambda):
            return self._lambda(e, env)
        if isinstance(e, fa.IsMatch):
            q = self.text_for_ismatch(e)
            if q is None:
                return Query.empty_query(), True
            return (q if e.scoring else const_score(q, 0.0)), True
        if isinstance(e, fa.GeoIntersects):
            leaf = self._leaf(e.target, env)
            lons = [p[0] for p in e.polygon]
            lats = [p[1] for p in e.polygon]
            return self._bbox(leaf, min(lons), max(lons), min(lats), max(lats)), False
        raise TypeError(e)

    def _leaf(self, target, env) -> LeafLayout:
        if isinstance(target, fa.FieldPath):
            return self.layout.leaf(target.dotted)
        base = env[target.name]
        return self.layout.leaf("/".join([base, *target.parts]) if target.parts else base)

    @staticmethod
    def _exact_leaf(leaf: LeafLayout, target) -> bool:
        # A single condition on a (flattened) collection holds for some element exactly when the
        # multi-valued field matches; it is combinations (and, not, ne) that lose correlation.
        return True

    def _lambda(self, e: fa.Lambda, env) -> tuple[Query | None, bool]:
        if isinstance(e.collection, fa.FieldPath):
            base = e.collection.dotted
        else:
            outer = env[e.collection.name]
            base = "/".join([outer, *e.collection.parts]) if e.collection.parts else outer
        inner_env = {**env, (e.variable or "_"): base}
        field = self.layout.definition.field_at(base)
        nested = bool(env)
        if e.predicate is None:
            if field is not None and not field.is_complex:
                leaf = self.layout.leaf(base)
                name = leaf.raw or leaf.value or leaf.lon
                if name:
                    return Query.exists_query(name), not nested
            return None, False
        if e.kind == "any":
            q, exact = self._t(e.predicate, inner_env)
            return q, exact and not nested
        # all(x: P) == not any(x: not P), exact when "not P" translates exactly
        negated = _push_not(e.predicate)
        q, exact = self._t(negated, inner_env)
        if not exact or nested:
            return None, False
        if q is None:
            return Query.empty_query(), True  # not P matches everything: all() holds only for empty collections
        return negate(q), True

    def _comparison(self, e: fa.Comparison, env) -> tuple[Query | None, bool]:
        if isinstance(e.left, fa.GeoDistance):
            leaf = self._leaf(e.left.target, env)
            d = float(e.right.value)
            if e.op in ("lt", "le"):
                lon, lat = e.left.point
                dlat = math.degrees(d / EARTH_RADIUS_KM) * 1.0001 + 1e-9
                coslat = math.cos(math.radians(min(89.9, abs(lat) + dlat)))
                dlon = min(180.0, dlat / max(coslat, 1e-6))
                if lat + dlat >= 90 or lat - dlat <= -90 or dlon >= 180:
                    return Query.exists_query(leaf.lon), False
                return self._bbox(leaf, lon - dlon, lon + dlon, lat - dlat, lat + dlat), False
            return Query.exists_query(leaf.lon), False
        leaf = self._leaf(e.left, env)
        exact = self._exact_leaf(leaf, e.left)
        c = e.right
        op = e.op
        name = leaf.raw or leaf.value or leaf.lon
        if c.kind == "null":
            exists = Query.exists_query(name)
            return (negate(exists) if op == "eq" else exists), exact
        t = leaf.type
        if t == "Edm.String":
            if op == "eq":
                return Query.term_query(self.schema, leaf.raw, c.value), exact
            if op == "ne":
                if env:
                    return None, False
                return negate(Query.term_query(self.schema, leaf.raw, c.value)), exact
            return Query.exists_query(leaf.raw), False  # string ranges are checked on the documents
        if t == "Edm.Boolean":
            if op == "ne" and env:
                return None, False
            q = Query.term_query(self.schema, leaf.value, bool(c.value))
            return (q if op == "eq" else negate(q)), exact
        value: Any = c.value
        if t == "Edm.DateTimeOffset":
            value = datetime_to_micros(value)
        if op == "ne" and env:
            return None, False
        if t == "Edm.Double" and isinstance(value, float) and math.isnan(value):
            return (Query.empty_query() if op != "ne" else None), exact
        return self._range(leaf, t, op, value), exact

    def _range(self, leaf: LeafLayout, t: str, op: str, value: Any) -> Query:
        ft = leaf.field_type
        if t in ("Edm.Int32", "Edm.Int64", "Edm.DateTimeOffset"):
            if isinstance(value, float):
                if math.isinf(value):
                    value = 2**63 - 1 if value > 0 else -(2**63)
                elif not value.is_integer():
                    if op == "eq":
                        return Query.empty_query()
                    if op == "ne":
                        return Query.all_query()  # no integer equals it; null ne 1.5 holds too
                    # x > 2.5 <=> x > 2 ; x >= 2.5 <=> x >= 3 ; x < 2.5 <=> x < 3 ; x <= 2.5 <=> x <= 2
                    value = math.floor(value) if op in ("gt", "le") else math.ceil(value)
            value = max(-(2**63), min(2**63 - 1, int(value)))
        else:
            value = float(value)
        if op in ("eq", "ne"):
            # one exact value: the term dictionary finds it, where a fast-field range scans the column
            exact = Query.range_query(self.schema, leaf.value, ft, value, value, use_inverted_index=True)
            return exact if op == "eq" else negate(exact)
        if op == "gt":
            return Query.range_query(self.schema, leaf.value, ft, value, None, include_lower=False)
        if op == "ge":
            return Query.range_query(self.schema, leaf.value, ft, value, None)
        if op == "lt":
            return Query.range_query(self.schema, leaf.value, ft, None, value, include_upper=False)
        return Query.range_query(self.schema, leaf.value, ft, None, value)

    def _bbox(self, leaf: LeafLayout, min_lon, max_lon, min_lat, max_lat) -> Query:
        f = tantivy.FieldType.Float
        return boolean(
            [
                (Occur.Must, Query.range_query(self.schema, leaf.lon, f, float(min_lon), float(max_lon))),
                (Occur.Must, Query.range_query(self.schema, leaf.lat, f, float(min_lat), float(max_lat))),
            ]
        )


def _push_not(e):
    """The negation of a lambda body, with ``not`` pushed to the leaves (collections hold no nulls)."""
    if isinstance(e, fa.And):
        return fa.Or(_push_not(e.left), _push_not(e.right))
    if isinstance(e, fa.Or):
        return fa.And(_push_not(e.left), _push_not(e.right))
    if isinstance(e, fa.Not):
        return e.operand
    if isinstance(e, fa.Comparison) and not isinstance(e.left, fa.GeoDistance) and e.right.kind != "null":
        return fa.Comparison(_MIRROR[e.op], e.left, e.right)
    return fa.Not(e)
