"""The standard tokenizer against Lucene 8.7's StandardTokenizer (a recorded table) and UAX #29 (an oracle).

The table (data/lucene_standard_tokens.jsonl) is what Lucene's own class gave for written sentences (Catalan
``l·l``, sub- and superscript digits, Hebrew quotes, marks, full-width forms, Southeast Asian runs) and for 2,000
random mixed-script strings. The oracle is the ``regex`` module's UAX #29 word boundaries
(``tokenizers.standard_uax29``), on an alphabet where Lucene's grammar is UAX #29; the deliberate differences
(docs/analysis.md, "The standard tokenizer") are left out of that alphabet and covered by the table.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from weft.search import analysis
from weft.search.analysis import native, tokenizers

ROWS = [json.loads(line) for line in (Path(__file__).parent / "data" / "lucene_standard_tokens.jsonl").read_text(encoding="utf-8").splitlines()[1:]]


def _weft(text):
    return [[t.term, t.start, t.end] for t in tokenizers.standard(text)]


def test_the_table_is_there():
    assert len(ROWS) > 2000


@pytest.mark.parametrize("row", ROWS[:16], ids=[r["text"][:24] for r in ROWS[:16]])
def test_written_sentences_tokenize_as_lucene(row):
    assert _weft(row["text"]) == row["tokens"]


def test_random_mixed_script_strings_tokenize_as_lucene():
    bad = [r["text"] for r in ROWS[16:] if _weft(r["text"]) != r["tokens"]]
    assert bad == []


def test_the_lean_pattern_agrees_where_it_is_used():
    lean = native.text_analyzer("standard_lean_tokenizer")
    used = 0
    for r in ROWS:
        if native.lean_suffices(r["text"]):
            used += 1
            assert [[t.text, t.char_offset_from, t.char_offset_to] for t in lean.pre_tokenize(r["text"]).tokens] == r["tokens"]
    assert used > 500


def test_catalan_middle_dot_and_subscripts():
    assert [t.term for t in tokenizers.standard("col·lecció i il·lustre")] == ["col·lecció", "i", "il·lustre"]
    assert [t.term for t in tokenizers.standard("CH₃OH x²")] == ["CH", "OH", "x"]
    assert analysis.get("ca.lucene").terms("La col·lecció") == [analysis.get("ca.lucene").terms("col·lecció")[0]]
    assert analysis.get("standard.lucene").terms("CO₂ m²") == ["co", "m"]


# Latin, Greek, Cyrillic, Arabic, Devanagari, Han, Hiragana, Katakana, Hangul, digits, marks, the soft hyphen and
# the MidLetter / MidNum / MidNumLet / ExtendNumLet punctuation, sub- and superscripts
_ALPHABET = (
    "abcXYZéøß" "αβΔ" "абв" "مرح" "١٢" "हिन्" "०१" "日本中" "ひら" "カター" "한국" "0123456789" "  \t"
    ".,;:'’‘\"-_!?@/()&%$#+*=" "·‧﹕：․﹒＇．" "₀₃²³" "\u0301\u0308\u00ad" "①½" "٫٬،"
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_agrees_with_uax29_word_boundaries(text):
    assert _weft(text) == [[t.term, t.start, t.end] for t in tokenizers.standard_uax29(text)]


def test_native_analyzer_agrees_with_the_python_tokenizer():
    for r in ROWS[:300]:
        want = [[t.lower(), s, e] for t, s, e in r["tokens"]]
        got = [[t.term, t.start, t.end] for t in analysis.get("standard.lucene").tokens(r["text"])]
        assert got == want, r["text"]
