"""Thai word segmentation for ``th.lucene`` / ``th.microsoft`` (Lucene's ThaiTokenizer breaks Thai text into
words with a dictionary; Thai is written without spaces between words).

weft segments runs of Thai script with ICU's dictionary-based word BreakIterator (PyICU); the rest of the text
goes through the standard tokenizer, so Latin words, numbers and punctuation come out as in every other analyzer.
Why ICU and not pythainlp: see docs/analysis.md ("Thai"); in short, it agreed with Lucene's segmentation on more
words and is several times faster per sentence.
"""
from __future__ import annotations

import functools
import threading

import regex

from weft.search.analysis.tokens import Tok

_THAI_RUN = regex.compile(r"\p{Thai}+")
_WORDLIKE = regex.compile(r"[\p{L}\p{N}\p{M}]")
_local = threading.local()


def _break_iterator():
    # BreakIterator objects are not thread-safe: one per thread
    bi = getattr(_local, "bi", None)
    if bi is None:
        import icu

        bi = _local.bi = icu.BreakIterator.createWordInstance(icu.Locale("th"))
    return bi


@functools.lru_cache(maxsize=65536)
def segment(run: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each word of a Thai run, in code points; spans without letters or digits are left out."""
    bi = _break_iterator()
    ustr = __import__("icu").UnicodeString(run)
    bi.setText(ustr)
    spans, start = [], 0
    # ICU reports UTF-16 boundaries; Thai is in the BMP, so they equal code point offsets within a run
    for end in bi:
        if end > start and _WORDLIKE.search(run, start, end):
            spans.append((start, end))
        start = end
    return tuple(spans)


def tokenize(text: str, max_len: int = 255) -> list[Tok]:
    """The standard tokenizer, with each run of Thai characters split into dictionary words."""
    from weft.search.analysis import tokenizers as T

    if not _THAI_RUN.search(text):
        return T.standard(text, max_len)
    out: list[Tok] = []
    last = 0

    def plain(a: int, b: int) -> None:
        if a < b:
            for t in T.standard(text[a:b], max_len):
                out.append(Tok(t.term, t.start + a, t.end + a, len(out)))

    for m in _THAI_RUN.finditer(text):
        plain(last, m.start())
        base = m.start()
        for s, e in segment(m.group(0)):
            out.append(Tok(text[base + s : base + e], base + s, base + e, len(out)))
        last = m.end()
    plain(last, len(text))
    return out
