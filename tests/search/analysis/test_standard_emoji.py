"""Emoji in the standard tokenizer, as Lucene 8.7's StandardTokenizer gives them (its <EMOJI> tokens).

The table (data/lucene_emoji_tokens.jsonl) is Lucene's own output for 6 written lines and 3,000 random strings of
emoji, ZWJ, presentation selectors, skin-tone modifiers, regional indicators, keycap parts, tags, letters, digits
and punctuation (the same generator with other seeds gave 4 differences in 20,000 strings, all with an emoji that is
also a letter joined to letters, or tags after a ZWJ sequence: docs/analysis.md)."""
from __future__ import annotations

import json
from pathlib import Path

from weft.search import analysis
from weft.search.analysis import native, tokenizers
from weft.search.analysis.tokens import Analyzer

ROWS = [json.loads(line) for line in (Path(__file__).parent / "data" / "lucene_emoji_tokens.jsonl").read_text(encoding="utf-8").splitlines()[1:]]


def _weft(text):
    return [[t.term, t.start, t.end] for t in tokenizers.standard(text)]


def test_the_table_is_there():
    assert len(ROWS) > 3000


def test_written_lines_tokenize_as_lucene():
    for row in ROWS[:6]:
        assert _weft(row["text"]) == row["tokens"], row["text"]


def test_random_emoji_strings_tokenize_as_lucene():
    bad = [r["text"] for r in ROWS[6:] if _weft(r["text"]) != r["tokens"]]
    assert bad == []


def test_the_lean_pattern_agrees_where_it_is_used():
    lean = native.text_analyzer("standard_lean_tokenizer")
    used = 0
    for r in ROWS:
        if native.lean_suffices(r["text"]):
            used += 1
            assert [[t.text, t.char_offset_from, t.char_offset_to] for t in lean.pre_tokenize(r["text"]).tokens] == r["tokens"], r["text"]
    assert used > 100


def test_emoji_are_tokens_in_analyzers_and_match():
    assert analysis.get("standard.lucene").terms("I ❤️ NY 👍🏽 🇫🇷 👨‍👩‍👧") == ["i", "❤️", "ny", "👍🏽", "🇫🇷", "👨‍👩‍👧"]
    assert analysis.get("en.lucene").terms("loving 🙂") == ["love", "🙂"]
    assert "🙂" in analysis.get("fr.lucene").terms("l'été 🙂")
    assert "🙂" in analysis.get("zh-Hans.lucene").terms("中国🙂")
    # the standard analyzers' simple-tokenizer shortcut never takes text with emoji (not ASCII)
    assert not native.simple_suffices("ok 🙂")


def test_python_chains_and_fast_paths_agree_on_emoji():
    text = "Fox 🙂 l'été ❤️‍🔥 #️⃣ 🏴󠁧󠁢󠁳󠁣󠁴󠁿"
    for name in ("en.lucene", "fr.lucene", "zh-Hans.lucene"):
        a = analysis.get(name)
        chain = Analyzer(a.name, a.tokenizer, a.filters, a.char_filters)
        assert [(t.text, t.position) for t in a.pre_tokenized(text).tokens] == [(t.term, t.pos) for t in chain.tokens(text)]
