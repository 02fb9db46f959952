"""Complexity limits of parsed queries: refused exactly when a bound is exceeded, naming it."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.search.query import parse_search
from weft.search.query_limits import MAX_FUZZY_CLAUSES, MAX_PATTERN_CLAUSES, MAX_PATTERN_LENGTH, MAX_PHRASE_SLOP


@given(regex=st.integers(0, 40), wild=st.integers(0, 10), fuzzy=st.integers(0, 70), plain=st.integers(0, 20))
def test_refused_exactly_past_the_limits(regex, wild, fuzzy, plain):
    parts = [f"/r{i}.*/" for i in range(regex)] + [f"w{i}?x" for i in range(wild)] + [f"f{i}~1" for i in range(fuzzy)] + [f"t{i}" for i in range(plain)]
    text = " ".join(parts) or "*"
    over_patterns = regex + wild > MAX_PATTERN_CLAUSES
    over_fuzzy = fuzzy > MAX_FUZZY_CLAUSES
    if over_patterns or over_fuzzy:
        with pytest.raises(InvalidInput) as info:
            parse_search(text, "full")
        assert ("maxPatternClauses" in info.value.message) or ("maxFuzzyClauses" in info.value.message)
    else:
        parse_search(text, "full")


@pytest.mark.parametrize("syntax", ["simple", "full"])
def test_pattern_length(syntax):
    parse_search("a" * MAX_PATTERN_LENGTH + "*", syntax)
    with pytest.raises(InvalidInput, match="maxPatternLength"):
        parse_search("a" * (MAX_PATTERN_LENGTH + 1) + "*", syntax)


def test_phrase_slop():
    parse_search(f'"a b"~{MAX_PHRASE_SLOP}', "full")
    with pytest.raises(InvalidInput, match="maxPhraseSlop"):
        parse_search(f'"a b"~{MAX_PHRASE_SLOP + 1}', "full")
    with pytest.raises(InvalidInput, match="maxPhraseSlop"):
        parse_search('"a b"~99999999999999999999999', "full")
