"""The engine's native filter translation and multi-key ordering agree with the reference semantics.

Random documents, random filters and orderings: the set of keys the engine returns must equal the set
the pure evaluator (filter_eval) accepts on the same documents, and ordered pages must equal a Python
sort by Azure's rules (nulls first ascending, last descending; ties by score, then key).
"""
from __future__ import annotations

import functools
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from weft.search.filter_eval import FilterEvaluator
from weft.search.odata import parse_filter
from weft.search.service import SearchService

INDEX = {
    "name": "props",
    "fields": [
        {"name": "id", "type": "Edm.String", "key": True, "sortable": True},
        {"name": "n", "type": "Edm.Int32", "filterable": True, "sortable": True},
        {"name": "x", "type": "Edm.Double", "filterable": True, "sortable": True},
        {"name": "s", "type": "Edm.String", "filterable": True, "sortable": True, "searchable": False},
        {"name": "ok", "type": "Edm.Boolean", "filterable": True, "sortable": True},
        {"name": "d", "type": "Edm.DateTimeOffset", "filterable": True, "sortable": True},
        {"name": "tags", "type": "Collection(Edm.String)", "filterable": True, "searchable": False},
        {"name": "nums", "type": "Collection(Edm.Int32)", "filterable": True},
        {"name": "rooms", "type": "Collection(Edm.ComplexType)", "fields": [
            {"name": "kind", "type": "Edm.String", "filterable": True},
            {"name": "rate", "type": "Edm.Int32", "filterable": True},
        ]},
    ],
}
WORDS = ["a", "b", "c", "d"]


def _docs(seed: int, count: int = 60) -> list[dict]:
    rng = random.Random(seed)

    def maybe(v):
        return None if rng.random() < 0.2 else v

    docs = []
    for i in range(count):
        docs.append({
            "id": f"k{i:03d}",
            "n": maybe(rng.randint(-3, 3)),
            "x": maybe(rng.choice([-1.5, 0.0, 0.5, 2.25, 3.0])),
            "s": maybe(rng.choice(WORDS)),
            "ok": maybe(rng.random() < 0.5),
            "d": maybe(f"2024-01-0{rng.randint(1, 4)}T00:00:00Z"),
            "tags": rng.sample(WORDS, rng.randint(0, 3)),
            "nums": [rng.randint(0, 4) for _ in range(rng.randint(0, 3))],
            "rooms": [{"kind": rng.choice(WORDS), "rate": rng.randint(0, 4)} for _ in range(rng.randint(0, 3))],
        })
    return docs


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = SearchService(tmp_path_factory.mktemp("props"))
    svc.create_index(INDEX)
    docs = _docs(1)
    svc.apply_batch("props", {"value": docs})
    yield svc, {d["id"]: svc.lookup("props", d["id"]) for d in docs}
    svc.close()


ops = st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"])
atoms = st.one_of(
    st.builds(lambda op, v: f"n {op} {v}", ops, st.sampled_from(["-1", "0", "2", "1.5"])),
    st.builds(lambda op, v: f"x {op} {v}", ops, st.sampled_from(["0", "0.5", "-2", "3.0"])),
    st.builds(lambda op, v: f"s {op} {v}", ops, st.sampled_from(["'a'", "'b'", "'c'"])),
    st.builds(lambda op, v: f"d {op} {v}", ops, st.sampled_from(["2024-01-02T00:00:00Z"])),
    st.builds(lambda f, op: f"{f} {op} null", st.sampled_from(["n", "x", "s", "d"]), st.sampled_from(["eq", "ne"])),
    st.sampled_from(["ok", "not ok", "ok eq false", "ok ne true", "ok eq null"]),
    st.builds(lambda v: f"search.in(s, '{v}')", st.sampled_from(["a,b", "c", "a b d"])),
    st.builds(lambda v: f"tags/any(t: t eq '{v}')", st.sampled_from(WORDS)),
    st.builds(lambda a, b: f"tags/any(t: t eq '{a}' or t eq '{b}')", st.sampled_from(WORDS), st.sampled_from(WORDS)),
    st.builds(lambda v: f"tags/all(t: t ne '{v}')", st.sampled_from(WORDS)),
    st.builds(lambda v: f"tags/any(t: t ne '{v}')", st.sampled_from(WORDS)),
    st.sampled_from(["tags/any()", "nums/any()", "rooms/any()"]),
    st.builds(lambda op, v: f"nums/any(m: m {op} {v})", ops, st.sampled_from(["0", "2", "4"])),
    st.builds(lambda op, v: f"nums/all(m: m {op} {v})", ops, st.sampled_from(["0", "2", "4"])),
    st.builds(lambda k, r: f"rooms/any(r: r/kind eq '{k}' and r/rate ge {r})", st.sampled_from(WORDS), st.integers(0, 4)),
    st.builds(lambda k: f"rooms/all(r: r/kind ne '{k}')", st.sampled_from(WORDS)),
)
filters = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expr=filters)
def test_filter_results_match_reference(service, expr):
    svc, stored = service
    definition = svc._definition("props")
    types = {leaf.path: leaf.type for leaf in definition.leaves()}
    evaluator = FilterEvaluator(types)
    tree = parse_filter(expr)
    expected = {k for k, doc in stored.items() if evaluator(tree, doc)}
    result = svc.search("props", {"search": "*", "filter": expr, "top": 1000, "count": True})
    got = {d["id"] for d in result["value"]}
    assert got == expected, expr
    assert result["@odata.count"] == len(expected)


sort_fields = st.sampled_from(["n", "x", "s", "ok", "d", "id"])
orderings = st.lists(st.tuples(sort_fields, st.booleans()), min_size=1, max_size=3, unique_by=lambda t: t[0])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=orderings, skip=st.integers(0, 30), top=st.integers(1, 25), flt=st.one_of(st.none(), atoms))
def test_multi_key_orderby_matches_reference(service, order, skip, top, flt):
    svc, stored = service
    orderby = ",".join(f"{f} {'desc' if desc else 'asc'}" for f, desc in order)
    body = {"search": "*", "orderby": orderby, "skip": skip, "top": top, "select": "id"}
    docs = list(stored.values())
    if flt:
        body["filter"] = flt
        definition = svc._definition("props")
        evaluator = FilterEvaluator({leaf.path: leaf.type for leaf in definition.leaves()})
        tree = parse_filter(flt)
        docs = [d for d in docs if evaluator(tree, d)]

    def compare(a, b):
        for f, desc in order:
            va, vb = a[f], b[f]
            if va == vb:
                continue
            c = -1 if va is None else 1 if vb is None else (-1 if va < vb else 1)
            return -c if desc else c
        return (a["id"] > b["id"]) - (a["id"] < b["id"])

    expected = sorted(docs, key=functools.cmp_to_key(compare))[skip : skip + top]
    got = [stored[d["id"]] for d in svc.search("props", body)["value"]]

    def keys_of(rows):  # documents tied on every key may come in any order
        return [tuple(r[f] for f, _ in order) for r in rows]

    assert keys_of(got) == keys_of(expected), orderby
    assert len({d["id"] for d in got}) == len(got)
