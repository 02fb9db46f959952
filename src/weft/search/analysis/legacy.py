"""The tantivy tokenizer pipelines weft used before analysis moved to Python (kept so that indexes written
then still open). New indexes use pre-tokenized fields; see weft.search.analysis."""
from __future__ import annotations

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
    return "weft_" + re.sub(r"[^a-z0-9]", "_", analyzer.lower())


def register_legacy(index: tantivy.Index) -> None:
    """Indexes created before analysis ran in Python name these tantivy tokenizers in their schema; tantivy
    refuses to open a writer or searcher on them unless the names are registered."""
    for name, build in _BUILDERS.items():
        index.register_tokenizer(tokenizer_name(name), build())
