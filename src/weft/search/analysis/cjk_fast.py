"""Index terms of the CJK bigram analyzers (``zh-Hans.lucene``, ``zh-Hant.lucene``) without per-token objects.

Their chain (``cjk_aware_standard``, CJK width, lower case, CJK bigrams, stop) costs about 180 µs per 80-character
document in Python; for text whose CJK characters are all ideographs of the two basic blocks (U+4E00-U+9FFF,
U+3400-U+4DBF: WB=Other, each its own token in Lucene's grammar, so a hard boundary on both sides) and that has no
kana, Hangul, half-width forms, Extend/Format/ZWJ characters or Hebrew letters, the same terms and positions come
from slicing: each maximal run of those ideographs gives its overlapping bigrams (a lone one stays a unigram), and
the text between runs is split by the standard tokenizer (``latin.standard_terms``) and mapped per term (width,
lower case, stop; cached). Positions are numbered in order, and a removed stop word leaves its gap, as in the
Python chain (``tests/search/analysis/test_cjk_fast.py`` compares both). Other text returns None (Python chain).
"""
from __future__ import annotations

import functools
import re

import regex

_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff"
_RUN = re.compile(f"[{_IDEOGRAPHS}]+")
# characters after which slicing would differ: other Han (some are WB=ALetter), kana, Hangul, the prolonged sound
# mark, half-width Katakana, Extend/Format/ZWJ (they attach to the character before) and Hebrew letters
_FALLBACK = regex.compile(
    rf"(?V1)[[\p{{Han}}--[{_IDEOGRAPHS}]]\p{{Hiragana}}\p{{Katakana}}\p{{Hangul}}ー\uFF65-\uFF9F"
    r"\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}\p{WB=Hebrew_Letter}]"
)
_LONG_RUN = re.compile(r"\S{256}")
# the slices of a run of n ideographs that are its bigrams, for the common lengths (slicing with ready slice objects
# is the cheapest way to the bigrams in Python)
_PAIRS = [()] * 2 + [tuple(slice(i, i + 2) for i in range(n - 1)) for n in range(2, 128)]
# characters none of which alone or together makes a token (no letter, digit, kana or ExtendNumLet; joiners such as
# ， need a letter or digit on both sides, and the runs around a segment are ideographs, which join nothing): ASCII
# whitespace and punctuation, CJK and full-width punctuation
_PUNCTUATION = " \t\n\r!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~\u3000\u3001\u3002\u300c\u300d\u300e\u300f\u3008\u3009\u300a\u300b\u3010\u3011\u3014\u3015\uff0c\uff1f\uff01\uff1b\uff1a\uff08\uff09\u2026\u2014\u201c\u201d\u2018"
# text that is only runs of two or more ideographs and such punctuation (Chinese prose without digits or Latin
# words): its joined terms are the runs' bigrams, nothing else (possessive quantifiers: no backtracking, so text that
# is not of this kind fails at once)
_ONLY_PAIRS = re.compile(f"(?:[{_IDEOGRAPHS}]{{2,}}+|[{re.escape(_PUNCTUATION)}]++)*+")


def _bigrams(run: str) -> str:
    """The bigrams of a run of two or more ideographs, joined by spaces."""
    if len(run) < len(_PAIRS):
        return " ".join(map(run.__getitem__, _PAIRS[len(run)]))
    return " ".join(map(str.__add__, run[:-1], run[1:]))


def bigram_index_terms(stop: frozenset[str]):
    """The function giving ``[(term, position), ...]`` for a text, or None where the Python chain must run; its
    ``joined`` attribute gives the same terms as one string (``Analyzer.index_joined``)."""
    from weft.search.analysis import filters as F
    from weft.search.analysis.latin import standard_terms
    from weft.search.analysis.tokens import _joined_word

    if any(_RUN.search(w) for w in stop):  # an ideograph stop word would need the stop check on every gram
        return None

    @functools.lru_cache(maxsize=65536)
    def fold(term: str) -> str | None:
        term = F.cjk_width_term(term).lower()
        return None if term in stop else term

    def terms(text: str) -> list[tuple[str, int]] | None:
        if _FALLBACK.search(text) is not None:
            return None
        out: list[tuple[str, int]] = []
        add = out.append
        pos = last = 0
        for m in _RUN.finditer(text):
            start = m.start()
            if start > last:
                pos = _between(text[last:start], pos, add)
                if pos < 0:
                    return None
            run = m.group()
            if len(run) == 1:
                add((run, pos))
                pos += 1
            else:
                for k in range(len(run) - 1):
                    add((run[k:k + 2], pos + k))
                pos += len(run) - 1
            last = m.end()
        if last < len(text):
            if _between(text[last:], pos, add) < 0:
                return None
        return out

    def _between(segment: str, pos: int, add) -> int:
        # tantivy drops tokens over 1024 bytes (the Python chain too, with its positions): leave such text to it
        if len(segment) > 255 and _LONG_RUN.search(segment):
            return -1
        for t in standard_terms(segment):
            term = fold(t)
            if term is not None:
                add((term, pos))
            pos += 1
        return pos

    def joined(text: str) -> str | None:
        if _ONLY_PAIRS.fullmatch(text) is not None:  # the runs' bigrams and nothing else: a third cheaper than the loop
            return " ".join(map(_bigrams, _RUN.findall(text)))
        # the same terms as one string for the joined tokenizer (``Analyzer.joined``): a run's bigrams are
        # consecutive positions, and a stopped term between runs holds its position as SKIP. The runs hold no
        # ``_FALLBACK`` character, and neither does the punctuation between them, so only the other text between runs
        # is searched for one (``_between_joined``): the same answer as searching the whole text, at a fraction
        parts: list[str] = []
        add = parts.append
        last = 0
        for m in _RUN.finditer(text):
            start = m.start()
            if start > last and not _between_joined(text[last:start], add):
                return None
            run = m.group()
            add(run if len(run) == 1 else _bigrams(run))
            last = m.end()
        if last < len(text) and not _between_joined(text[last:], add):
            return None
        out = " ".join(parts)
        return None if "\x00" in out else out

    word = _joined_word(fold)

    def _between_joined(segment: str, add) -> bool:
        if not segment.strip(_PUNCTUATION):
            return True  # only separators: no token, no position (most of the text between runs of ideographs)
        if _FALLBACK.search(segment) is not None:
            return False
        if len(segment) > 255 and _LONG_RUN.search(segment):
            return False
        terms = standard_terms(segment)
        if terms:
            add(" ".join(map(word, terms)))
        return True

    terms.joined = joined
    return terms
