"""The standard tokenizer + lower case for Latin-script text, in Python's ``re`` (the fast path's indexing terms).

tantivy's regex tokenizer costs about 1 µs per token (``bench/analysis/tokenizer_cost.py``); text that is ASCII without
joins already takes tantivy's simple tokenizer (``native.simple_suffices``). The rest of Latin-script text (French
with ``l'hôtel``, German, Spanish, English with ``fox's`` or ``3.14``) is split here, three to five times cheaper:
on such text Lucene's grammar (``native.STANDARD_PATTERN``) reduces to runs of letters and digits, joined across
``. : '`` between two letters (WB6/7) and across ``. , ; '`` between two digits (WB11/12); every other character
separates. "Latin" is checked per text: ASCII and the letters of U+00C0-U+024F whose lower case is one letter of
that set (so lower-casing the whole text first equals tantivy's per-token lower case, which
``tests/search/analysis/test_latin_tokens.py`` checks character by character), the ``SEPARATORS``, and no ``_``
(ExtendNumLet). Anything else (other scripts, combining marks, ``’``, ``·``) keeps tantivy's tokenizer.
"""
from __future__ import annotations

import re
import unicodedata


def _latin_letters() -> str:
    out = []
    for cp in range(0xC0, 0x250):
        c = chr(cp)
        low = c.lower()
        if unicodedata.category(c)[0] == "L" and len(low) == 1 and 0xC0 <= ord(low) < 0x250 and unicodedata.category(low)[0] == "L":
            out.append(c)
    return "".join(out)


LETTERS = _latin_letters()
# non-ASCII characters the grammar treats as separators (WB=Other): Latin-1 punctuation and symbols (not the
# letters ª µ º, the soft hyphen (Format), the middle dot (MidLetter), and © ® ‼, emoji tokens), × ÷, dashes, quotes (not ‘ ’ ․ ‧: MidNumLet,
# MidLetter), daggers, bullets, ellipsis, per mille, primes, guillemets
SEPARATORS = ("\u00a0\u00a1\u00a2\u00a3\u00a4\u00a5\u00a6\u00a7\u00a8\u00ab\u00ac\u00af\u00b0\u00b1\u00b2\u00b3"
              "\u00b4\u00b6\u00b8\u00b9\u00bb\u00bc\u00bd\u00be\u00bf\u00d7\u00f7"
              "\u2010\u2011\u2012\u2013\u2014\u2015\u2016\u2017\u201a\u201b\u201c\u201d\u201e\u201f\u2020\u2021\u2022\u2023"
              "\u2025\u2026\u2030\u2031\u2032\u2033\u2034\u2035\u2036\u2037\u2038\u2039\u203a\u203b\u203d\u203e")
_CLASS = "A-Za-z" + re.escape(LETTERS)
# a character that is neither ASCII nor one of LETTERS or SEPARATORS, or an underscore
_OUTSIDE = re.compile(rf"[^\x00-\x7f{re.escape(LETTERS + SEPARATORS)}]|_")
_TOKEN = re.compile(rf"[0-9{_CLASS}]+(?:(?:(?<=[{_CLASS}])[.:'](?=[{_CLASS}])|(?<=[0-9])[.,;'](?=[0-9]))[0-9{_CLASS}]+)*")
# tokens this long may pass tantivy's 1024-byte limit (two bytes per letter at most): leave such text to tantivy
_LONGEST = 512


def latin_terms(text: str) -> list[str] | None:
    """The standard tokenizer's lower-cased terms for ``text`` when it is Latin-script text (see above), else None."""
    if _OUTSIDE.search(text) is not None:
        return None
    terms = _TOKEN.findall(text.lower())
    if terms and len(max(terms, key=len)) > _LONGEST:
        return None
    return terms


def standard_terms(text: str) -> list[str]:
    """``native.standard_analyzer_for(text).analyze(text)``, the cheapest way: tantivy's simple tokenizer for plain
    ASCII, ``latin_terms`` for other Latin-script text, tantivy's standard pattern for the rest."""
    from weft.search.analysis.native import simple_suffices, standard_analyzer_for, text_analyzer

    if simple_suffices(text):
        return text_analyzer("standard_ascii").analyze(text)
    terms = latin_terms(text)
    return standard_analyzer_for(text).analyze(text) if terms is None else terms
