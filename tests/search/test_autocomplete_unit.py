"""The pure parts of weft.search.autocomplete: parameters, fuzzy prefix matching, counting, rendering."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.search.autocomplete import count_candidates, parse_request, prefix_within_one_edit, ranked, render

FIELDS = ["title", "city"]


def _req(**body):
    return parse_request({"search": "washington medic", "suggesterName": "sg", **body}, FIELDS)


def test_defaults():
    r = _req()
    assert (r.mode, r.fields, r.fuzzy, r.top, r.pre_tag, r.coverage, r.filter) == ("oneTerm", ("title", "city"), False, 5, None, None, None)
    assert r.partial == "medic" and r.context is None
    assert _req(autocompleteMode="oneTermWithContext").context == "washington"
    assert _req(searchFields="city").fields == ("city",)
    assert _req(searchFields=["title"], top=100, minimumCoverage=0).top == 100


@pytest.mark.parametrize("body", [{"top": 0}, {"top": 101}, {"top": True}, {"autocompleteMode": "oneterm"}, {"searchFields": ["rating"]},
                                  {"searchFields": 3}, {"fuzzy": 1}, {"highlightPreTag": "<b>"}, {"highlightPreTag": 1, "highlightPostTag": "x"},
                                  {"minimumCoverage": -1}, {"minimumCoverage": float("nan")}, {"filter": 3}, {"search": ""},
                                  {"search": None}, {"orderby": "x"}])
def test_refused(body):
    with pytest.raises(InvalidInput):
        _req(**body)


@given(st.dictionaries(st.sampled_from(["search", "top", "fuzzy", "autocompleteMode", "searchFields", "highlightPreTag",
                                        "highlightPostTag", "minimumCoverage", "filter", "other"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.lists(st.text(max_size=4)))))
def test_random_bodies_are_parsed_or_refused(body):
    try:
        parse_request(body, FIELDS)
    except InvalidInput:
        pass


@pytest.mark.parametrize("term,prefix,ok", [("medicare", "medic", True), ("medicare", "medc", True), ("medicare", "mdeic", True),
                                             ("medicare", "xedic", True), ("medicare", "mxxic", False), ("motel", "moel", True),
                                             ("mo", "mot", True), ("m", "mot", False), ("cat", "dog", False), ("abc", "", True)])
def test_prefix_within_one_edit(term, prefix, ok):
    assert prefix_within_one_edit(term, prefix) is ok


@given(st.text("abc", max_size=8), st.text("abc", max_size=5))
def test_prefix_within_one_edit_agrees_with_brute_force(term, prefix):
    def osa(a, b):
        d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(len(a) + 1):
            d[i][0] = i
        for j in range(len(b) + 1):
            d[0][j] = j
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
                if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
        return d[len(a)][len(b)]

    expected = any(osa(term[:k], prefix) <= 1 for k in range(len(term) + 1))
    assert prefix_within_one_edit(term, prefix) is expected


def _doc(*texts):
    return [[(w, i) for i, w in enumerate(t.split())] for t in texts]


DOCS = [_doc("washington medicaid office"), _doc("washington medical center", "medical"), _doc("medicare coverage"),
        _doc("medicine cabinet washington")]


def test_counting_per_mode():
    assert count_candidates(DOCS, "oneTerm", "medic", False, None) == {"medicaid": 1, "medical": 1, "medicare": 1, "medicine": 1}
    assert count_candidates(DOCS, "twoTerms", "medic", False, None) == {"medicaid office": 1, "medical center": 1, "medicare coverage": 1,
                                                                        "medicine cabinet": 1}
    assert count_candidates(DOCS, "oneTermWithContext", "medic", False, "washington") == {"washington medicaid": 1, "washington medical": 1}
    assert count_candidates(DOCS, "oneTerm", "medc", True, None)["medical"] == 1  # one document, however many times
    gap = [[("washington", 0), ("medical", 2)]]  # a removed stop word between them
    assert count_candidates([gap], "oneTermWithContext", "medic", False, "washington") == {}
    assert ranked(count_candidates(DOCS + [_doc("medicare")], "oneTerm", "medic", False, None), 2) == ["medicare", "medicaid"]


def test_rendering():
    r = _req(highlightPreTag="<b>", highlightPostTag="</b>")
    assert render(r, ["medicaid"]) == [{"text": "medicaid", "queryPlusText": "washington <b>medicaid</b>"}]
    r = parse_request({"search": "new washington medic", "autocompleteMode": "oneTermWithContext"}, FIELDS)
    assert render(r, ["washington medicaid"]) == [{"text": "washington medicaid", "queryPlusText": "new washington medicaid"}]
    r = parse_request({"search": "medic", "autocompleteMode": "twoTerms"}, FIELDS)
    assert render(r, ["medicare coverage"]) == [{"text": "medicare coverage", "queryPlusText": "medicare coverage"}]
