"""The cheap tokenizer the fast path uses for plain ASCII text gives exactly the standard tokenizer's tokens."""
from __future__ import annotations

import random
import string

import pytest

from weft.search import analysis
from weft.search.analysis import native


def _toks(analyzer, text):
    return [(t.text, t.position, t.char_offset_from, t.char_offset_to) for t in analyzer.pre_tokenize(text).tokens]


@pytest.mark.parametrize("text,cheap", [
    ("the quick brown fox", True), ("abc123 def-ghi (x) a.1 1.a", True), ("fox's", False), ("3.14", False),
    ("1,000", False), ("a_b", False), ("bar.com", False), ("a:b", False), ("café", False), ("end. Next", True),
])
def test_cheap_tokenizer_is_used_only_where_it_agrees(text, cheap):
    assert native.simple_suffices(text) is cheap
    assert _toks(native.standard_analyzer_for(text), text) == _toks(native.text_analyzer("standard.lucene"), text)


def test_cheap_tokenizer_agrees_on_random_ascii():
    rng = random.Random(4)
    alphabet = string.ascii_letters + string.digits + " .,;:'_-!?()/@#$%&*+=<>[]{}|\\\"\t\n~^"
    checked = 0
    for _ in range(5000):
        text = "".join(rng.choice(alphabet if rng.random() < 0.5 else "abcXYZ019 .,") for _ in range(rng.randint(0, 40)))
        if native.simple_suffices(text):
            checked += 1
            assert _toks(native.text_analyzer("standard_ascii"), text) == _toks(native.text_analyzer("standard.lucene"), text), text
    assert checked > 1000


def test_fast_path_analyzers_unchanged_by_the_cheap_tokenizer():
    a = analysis.get("en.lucene")
    assert a.path == "fast"
    assert a.terms("The dogs were running") == ["dog", "were", "run"]
    assert a.terms("The dog's owners") == ["dog", "owner"]  # apostrophe: the standard pattern


@pytest.mark.parametrize("name", ["standard.lucene", "standardasciifolding.lucene"])
@pytest.mark.parametrize("text", ["gloo", "The Quick fox's 3.14 U.S.A", "café Ünïcode naïve", "שלום\u05f3 x", "a\u200db e\u0301",
                                  "東京タワー 1,000.5", "", "FOO-bar_baz"])
def test_query_analysis_takes_the_cheapest_equal_pipeline(name, text):
    """Analyzer.tokens (query terms, highlighting) picks the simple or lean pipeline by the same rules as indexing, with
    the full pipeline's tokens, offsets and positions."""
    chain = analysis.get(name)
    assert chain.native == name
    full = [(t.text, t.char_offset_from, t.char_offset_to, t.position) for t in native.text_analyzer(name).pre_tokenize(text).tokens]
    assert [(t.term, t.start, t.end, t.pos) for t in chain.tokens(text)] == full
    cheap = native.analyzer_for(name, text)
    assert (cheap is native.text_analyzer("standard_ascii")) == native.simple_suffices(text)
