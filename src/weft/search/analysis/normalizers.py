"""Normalizers: a whole filterable/sortable/facetable string value to one normalized value."""
from __future__ import annotations

from weft.search.analysis import filters as F
from weft.search.analysis import predefined
from weft.search.analysis import tokenizers as T
from weft.search.analysis.tokens import Analyzer

PREDEFINED = {
    "standard": Analyzer("standard", T.keyword_whole, [F.lowercase, F.asciifolding()]),
    "lowercase": Analyzer("lowercase", T.keyword_whole, [F.lowercase]),
    "uppercase": Analyzer("uppercase", T.keyword_whole, [F.uppercase]),
    "asciifolding": Analyzer("asciifolding", T.keyword_whole, [F.asciifolding()]),
    "elision": Analyzer("elision", T.keyword_whole, [F.elision(predefined.FRENCH_ARTICLES)]),
}


def normalize(normalizer: Analyzer, value: str) -> str:
    """The one normalized value (an empty string stays empty)."""
    toks = normalizer.tokens(value)
    return toks[0].term if toks else value


def tokens(normalizer: Analyzer, value: str) -> list[dict]:
    """The Analyze API's answer for a normalizer: one token spanning the input."""
    return [{"token": normalize(normalizer, value), "startOffset": 0, "endOffset": len(value.encode("utf-16-le")) // 2, "position": 0}]
