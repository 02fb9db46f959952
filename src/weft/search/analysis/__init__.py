"""Text analysis as Azure AI Search does it: analyzers, tokenizers, token and char filters, normalizers.

Everything runs in Python (see docs/analysis.md for why and what each analyzer does); the engine indexes the
resulting tokens pre-tokenized and builds queries from the same analysis, so both sides always agree.

* :mod:`.predefined`: every ``LexicalAnalyzerName`` (Lucene language analyzers, ``xx.microsoft`` stand-ins, the
  other built-ins).
* :mod:`.custom`: the index's ``analyzers``, ``tokenizers``, ``tokenFilters``, ``charFilters``, ``normalizers``.
* :mod:`.normalizers`: predefined and custom normalizers (one token per value).
* :mod:`.synonyms`: Solr-format synonym rules and query-time expansion.
"""
from __future__ import annotations

import re
from typing import Any

from weft.search.analysis import predefined
from weft.search.analysis.tokens import Analyzer, Tok

# Python-side word finder used by highlighting to cut text into candidate words.
WORD_RE = re.compile(r"[\w]+(?:['’.][\w]+)*")
ANALYZER_NAMES = predefined.NAMES
DEFAULT_ANALYZER = "standard.lucene"


def get(name: str | Analyzer) -> Analyzer:
    """A predefined analyzer by name (case-insensitive), or the analyzer itself."""
    if isinstance(name, Analyzer):
        return name
    canonical = predefined.canonical(name) or name
    return predefined.get(canonical)


def analyze(analyzer: str | Analyzer, text: str) -> list[str]:
    """The terms ``text`` analyzes to."""
    return get(analyzer).terms(text)


def utf16_offsets(text: str, toks: list[Tok]) -> list[tuple[int, int]]:
    """Offsets in UTF-16 code units, as Lucene (and so Azure) reports them."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return [(t.start, t.end) for t in toks]
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if ord(ch) >= 0x10000 else 1))
    return [(prefix[min(t.start, len(text))], prefix[min(t.end, len(text))]) for t in toks]


def token_json(text: str, toks: list[Tok]) -> list[dict[str, Any]]:
    return [
        {"token": t.term, "startOffset": s, "endOffset": e, "position": t.pos}
        for t, (s, e) in zip(toks, utf16_offsets(text, toks))
    ]


__all__ = ["Analyzer", "Tok", "ANALYZER_NAMES", "WORD_RE", "analyze", "get", "token_json"]


# ---- per-index resolution ----------------------------------------------------------------------------
def components(definition):
    """The index's custom components, checked and built once per definition object."""
    cached = definition.__dict__.get("_analysis_components")
    if cached is None:
        from weft.search.analysis.custom import Components

        cached = definition.__dict__["_analysis_components"] = Components(definition.members)
    return cached


def resolve(definition, name: str) -> Analyzer:
    """An analyzer name as a field or the Analyze API uses it: the index's own analyzers first, then the
    predefined ones (case-insensitive)."""
    custom = components(definition).analyzers.get(name)
    if custom is not None:
        return custom
    canonical = predefined.canonical(name)
    if canonical is None:
        from weft.errors import InvalidInput

        raise InvalidInput(f"The analyzer '{name}' is neither a predefined analyzer nor defined in the index's 'analyzers'.")
    return predefined.get(canonical)


def resolve_normalizer(definition, name: str) -> Analyzer:
    from weft.search.analysis.normalizers import PREDEFINED

    custom = components(definition).normalizers.get(name)
    if custom is not None:
        return custom
    if name in PREDEFINED:
        return PREDEFINED[name]
    from weft.errors import InvalidInput

    raise InvalidInput(f"The normalizer '{name}' is neither a predefined normalizer nor defined in the index's 'normalizers'.")
