"""Analyzers: how text becomes terms, for indexing and for querying.

Each Azure analyzer name maps to a tantivy ``TextAnalyzer`` pipeline. The same
objects tokenize documents (registered on the tantivy index) and query text
(through :func:`analyze`), so both sides always agree.
"""
from __future__ import annotations

import functools
import re

import tantivy

# Words, numbers and underscores, joined across an inner apostrophe or period as Lucene's
# StandardTokenizer (UAX #29) does: "one's" and "3.14" stay one token.
_STANDARD_TOKEN = r"[\p{L}\p{N}\p{M}_]+(?:['’.][\p{L}\p{N}\p{M}_]+)*"
_PLAIN_WORD = r"[\p{L}\p{N}\p{M}_]+"
# Python-side equivalent, used to find token offsets for highlighting.
WORD_RE = re.compile(r"[\w]+(?:['’.][\w]+)*")
MAX_TOKEN_CHARS = 255


def _standard() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_STANDARD_TOKEN))
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_CHARS))
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def _english() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_PLAIN_WORD))
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_CHARS))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _ascii_folding() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_STANDARD_TOKEN))
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_CHARS))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _simple() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"\p{L}+")).filter(tantivy.Filter.lowercase()).build()


def _whitespace() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def _keyword() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).build()


_BUILDERS = {
    "standard.lucene": _standard,
    "en.lucene": _english,
    "standardasciifolding.lucene": _ascii_folding,
    "simple": _simple,
    "whitespace": _whitespace,
    "keyword": _keyword,
}


def tokenizer_name(analyzer: str) -> str:
    """The name under which an analyzer is registered on a tantivy index."""
    return "weft_" + re.sub(r"[^a-z0-9]", "_", analyzer.lower())


@functools.lru_cache(maxsize=None)
def text_analyzer(analyzer: str) -> tantivy.TextAnalyzer:
    return _BUILDERS[analyzer]()


def register_all(index: tantivy.Index) -> None:
    for name in _BUILDERS:
        index.register_tokenizer(tokenizer_name(name), _BUILDERS[name]())


def analyze(analyzer: str, text: str) -> list[str]:
    return list(text_analyzer(analyzer).analyze(text))


def analyze_tokens_detailed(analyzer: str, text: str) -> list[dict]:
    """The ``search.analyze`` response: tokens with offsets and positions."""
    tokens = []
    position = 0
    for m in WORD_RE.finditer(text) if analyzer not in ("keyword", "whitespace") else _split_raw(analyzer, text):
        for term in analyze(analyzer, m.group(0)):
            tokens.append({"token": term, "startOffset": m.start(), "endOffset": m.end(), "position": position})
            position += 1
    return tokens


def _split_raw(analyzer: str, text: str):
    if analyzer == "keyword":
        return [re.match(r"(?s).*", text)]
    return list(re.finditer(r"\S+", text))

ANALYZER_NAMES = tuple(_BUILDERS)
