"""Solr synonym rules: parsing, escaping, errors, and query-time expansion."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.search import analysis
from weft.search.analysis.synonyms import expansions, parse_rules


def test_equivalence_and_explicit_rules():
    r = parse_rules("USA, United States, United States of America\nWashington, Wash. => WA\n\n# comment")
    assert r.mapping[("USA",)] == [("USA",), ("United", "States"), ("United", "States", "of", "America")]
    assert r.mapping[("Wash.",)] == [("WA",)]
    assert r.count == 2


def test_expand_false_maps_to_first():
    r = parse_rules("a, b, c", expand=False)
    assert r.mapping[("b",)] == [("a",)]


def test_explicit_rules_with_same_left_side_merge():
    r = parse_rules("dog => puppy\ndog => canine")
    assert r.mapping[("dog",)] == [("puppy",), ("canine",)]


def test_escaping():
    r = parse_rules(r"WA\, USA, Washington" + "\n" + r"a\=>b => c")
    assert ("WA,", "USA") in r.mapping
    assert r.mapping[("a=>b",)] == [("c",)]


@pytest.mark.parametrize("bad", ["a, b => c, d => e", "foo =>"])
def test_invalid_rules(bad):
    with pytest.raises(InvalidInput):
        parse_rules(bad)


def test_expansions_use_the_field_analyzer():
    r = parse_rules("USA, United States\nWash. => WA")
    std = analysis.get("standard.lucene")
    assert expansions(r, std, ["usa"]) == [("usa",), ("united", "states")]
    assert expansions(r, std, ["united", "states"]) == [("usa",), ("united", "states")]
    assert expansions(r, std, ["wash"]) == [("wa",)]
    assert expansions(r, std, ["seattle"]) is None
    # inside a phrase: every combination of the alternatives
    assert expansions(r, std, ["visit", "usa", "now"]) == [("visit", "usa", "now"), ("visit", "united", "states", "now")]
    assert expansions(r, std, ["visit", "seattle"]) is None


@given(st.text(max_size=200))
def test_parser_never_crashes(text):
    try:
        parse_rules(text)
    except InvalidInput:
        pass
