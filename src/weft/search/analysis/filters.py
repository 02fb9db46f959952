"""Token filters: each takes the token list and returns the new one (Lucene's TokenFilters, in Python).

Stemming uses PyStemmer (the Snowball C library, the algorithms Lucene's SnowballFilter runs) and the light
stemmers in :mod:`weft.search.analysis.stemmers`; ASCII folding uses tantivy's port of Lucene's
ASCIIFoldingFilter.
"""
from __future__ import annotations

import functools
import unicodedata

import regex
import Stemmer
import tantivy

from typing import Callable

from weft.search.analysis.tokens import Tok, TokenFilter
from weft.search.analysis.tokenizers import script_of


class TermMap:
    """A filter that maps each token's term on its own (to a new term, or to None to drop the token) and never
    moves positions. Chains of them compose into one cached function (the analyzers' fast path)."""

    __slots__ = ("fn",)
    stems = False  # stemmers leave keyword-marked tokens alone

    def __init__(self, fn: Callable[[str], str | None]):
        self.fn = fn

    def __call__(self, toks: list[Tok]) -> list[Tok]:
        fn, stems = self.fn, self.stems
        out = []
        for t in toks:
            if stems and t.keyword:
                out.append(t)
                continue
            term = fn(t.term)
            if term is not None:
                t.term = term
                out.append(t)
        return out


class Stemmer_(TermMap):
    """A stemming term map: tokens marked as keywords pass unchanged."""

    __slots__ = ()
    stems = True


def _lower(term: str) -> str:
    """Lower case per code point, as Lucene's LowerCaseFilter and tantivy's LowerCaser give it: Python's ``str.lower``
    alone turns a word-final capital sigma into the final form ``ς`` (a context rule), theirs into ``σ``."""
    return term.lower() if "\u03a3" not in term else term.replace("\u03a3", "\u03c3").lower()


lowercase = TermMap(_lower)
uppercase = TermMap(str.upper)


def stop(words: frozenset[str], ignore_case: bool = False) -> TokenFilter:
    if ignore_case:
        lowered = frozenset(w.lower() for w in words)
        return TermMap(lambda t: None if t.lower() in lowered else t)
    return TermMap(lambda t: None if t in words else t)


@functools.lru_cache(maxsize=8192)
def _fold(term: str) -> str:
    out = _FOLDER.analyze(term)
    return out[0] if out else term


_FOLDER = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.ascii_fold()).build()


def fold_text(text: str) -> str:
    return "".join(_fold(ch) if ord(ch) > 127 else ch for ch in text)


def asciifolding(preserve_original: bool = False) -> TokenFilter:
    if not preserve_original:
        return TermMap(lambda t: t if t.isascii() else fold_text(t))

    def run(toks: list[Tok]) -> list[Tok]:
        out = []
        for t in toks:
            folded = fold_text(t.term) if not t.term.isascii() else t.term
            if preserve_original and folded != t.term:
                out.append(t.with_term(folded))
                out.append(t)
            else:
                t.term = folded
                out.append(t)
        return out

    return run


_APOSTROPHES = ("'", "\u2019")


def elision(articles: frozenset[str]) -> TokenFilter:
    """Lucene's ElisionFilter: ``l'avion`` -> ``avion`` when ``l`` is an article (compared case-insensitively)."""

    def fn(term: str) -> str:
        for i, ch in enumerate(term):
            if ch in _APOSTROPHES:
                if term[:i].lower() in articles:
                    return term[i + 1 :]
                break
        return term

    return TermMap(fn)


def _possessive(term: str) -> str:
    if len(term) >= 2 and term[-1] in "sS" and term[-2] in ("'", "\u2019", "\uff07"):
        return term[:-2]
    return term


english_possessive = TermMap(_possessive)


def _apostrophe(term: str) -> str:
    for a in _APOSTROPHES:
        i = term.find(a)
        if i >= 0:
            term = term[:i]
    return term


# Lucene's ApostropheFilter (Turkish): drop everything from the first apostrophe on.
apostrophe = TermMap(_apostrophe)


@functools.lru_cache(maxsize=None)
def _stemmer(algorithm: str) -> Stemmer.Stemmer:
    s = Stemmer.Stemmer(algorithm)
    s.maxCacheSize = 20000
    return s


def snowball(algorithm: str) -> TokenFilter:
    return Stemmer_(_stemmer(algorithm).stemWord)


def stem_with(function) -> TokenFilter:
    return Stemmer_(function)


def term_map(function) -> TokenFilter:
    """A per-term normalization that applies to keyword-marked tokens too."""
    return TermMap(function)


def keyword_marker(words: frozenset[str], ignore_case: bool = False) -> TokenFilter:
    lowered = frozenset(w.lower() for w in words) if ignore_case else words

    def run(toks: list[Tok]) -> list[Tok]:
        for t in toks:
            if (t.term.lower() if ignore_case else t.term) in lowered:
                t.keyword = True
        return toks

    return run


def stemmer_override(rules: dict[str, str]) -> TokenFilter:
    def run(toks: list[Tok]) -> list[Tok]:
        for t in toks:
            if not t.keyword and t.term in rules:
                t.term = rules[t.term]
                t.keyword = True
        return toks

    return run


def _decimal(term: str) -> str:
    if not term.isascii() and any(ch.isdecimal() for ch in term):
        return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in term)
    return term


# Any Unicode decimal digit to 0-9 (Lucene's DecimalDigitFilter).
decimal_digit = TermMap(_decimal)


def cjk_width_term(term: str) -> str:
    """Full-width ASCII to Basic Latin, half-width Katakana to full-width (Lucene's CJKWidthFilter), on one term."""
    if any(0xFF01 <= ord(c) <= 0xFF5E or 0xFF65 <= ord(c) <= 0xFF9F for c in term):
        return unicodedata.normalize("NFKC", term) if any(0xFF65 <= ord(c) <= 0xFF9F for c in term) else "".join(
            chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in term
        )
    return term


def cjk_width(toks: list[Tok]) -> list[Tok]:
    """Lucene's CJKWidthFilter (``cjk_width_term`` on each token)."""
    for t in toks:
        t.term = cjk_width_term(t.term)
    return toks


def cjk_bigram(ignore_scripts: frozenset[str] = frozenset(), output_unigrams: bool = False) -> TokenFilter:
    """Lucene's CJKBigramFilter over single-character CJK tokens: adjacent characters (contiguous offsets) of
    the covered scripts form overlapping bigrams; a lone character stays a unigram."""

    def covered(t: Tok) -> bool:
        if len(t.term) != 1:
            return False
        s = script_of(t.term)
        return s is not None and s not in ignore_scripts

    def run(toks: list[Tok]) -> list[Tok]:
        out: list[Tok] = []
        i, n = 0, len(toks)
        while i < n:
            if not covered(toks[i]):
                out.append(toks[i])
                i += 1
                continue
            j = i + 1
            while j < n and covered(toks[j]) and toks[j].start == toks[j - 1].end:
                j += 1
            run_ = toks[i:j]
            if len(run_) == 1:
                out.append(run_[0])
            else:
                for k in range(len(run_) - 1):
                    a, b = run_[k], run_[k + 1]
                    if output_unigrams:
                        out.append(a)
                    out.append(Tok(a.term + b.term, a.start, b.end, a.pos))
                if output_unigrams:
                    out.append(run_[-1])
            i = j
        return renumber(out) if not output_unigrams else out

    return run


def renumber(toks: list[Tok]) -> list[Tok]:
    """Positions 0, 1, 2... in order, keeping tokens that shared a position together."""
    last_old, pos = None, -1
    for t in toks:
        if t.pos != last_old:
            pos += 1
            last_old = t.pos
        t.pos = pos
    return toks


def length(min_len: int = 0, max_len: int = 300) -> TokenFilter:
    return lambda toks: [t for t in toks if min_len <= len(t.term) <= max_len]


def limit(max_count: int = 1) -> TokenFilter:
    return lambda toks: toks[:max_count]


def truncate(n: int = 300) -> TokenFilter:
    return TermMap(lambda t: t[:n])


trim = TermMap(str.strip)
reverse = TermMap(lambda t: t[::-1])


def unique(only_on_same_position: bool = False) -> TokenFilter:
    def run(toks: list[Tok]) -> list[Tok]:
        seen: set = set()
        out = []
        for t in toks:
            k = (t.pos, t.term) if only_on_same_position else t.term
            if k not in seen:
                seen.add(k)
                out.append(t)
        return out

    return run


class TermExpand:
    """A filter that replaces each token by the terms one function gives for its term (a tuple, maybe empty), all at
    that token's position and offsets (Lucene's (Edge)NGramTokenFilter). Like TermMaps, chains of them compose into
    the analyzers' fast path, cached per distinct term."""

    __slots__ = ("fn", "grams")

    def __init__(self, fn: Callable[[str], tuple[str, ...]], grams: tuple[int, int, bool] | None = None):
        self.fn = fn
        # (min, max, prefix only) when ``fn`` gives exactly the grams of tantivy's NgramTokenizer with those
        # parameters, in code points (``gram_values``: tantivy then makes them itself)
        self.grams = grams

    def __call__(self, toks: list[Tok]) -> list[Tok]:
        fn = self.fn
        out = []
        for t in toks:
            for term in fn(t.term):
                out.append(t.with_term(term))
        return out


def ngram_filter(min_gram: int = 1, max_gram: int = 2, edge: bool = False, back: bool = False) -> TermExpand:
    """Lucene's NGramTokenFilter / EdgeNGramTokenFilter: each token's grams at that token's position."""
    if edge:
        if back:
            def grams(term: str) -> tuple[str, ...]:
                n = len(term)
                return tuple(term[n - k:] for k in range(min_gram, min(max_gram, n) + 1))
        else:
            def grams(term: str) -> tuple[str, ...]:
                return tuple(term[:k] for k in range(min_gram, min(max_gram, len(term)) + 1))
    else:
        def grams(term: str) -> tuple[str, ...]:
            n = len(term)
            return tuple(term[s:s + k] for s in range(n) for k in range(min_gram, min(max_gram, n - s) + 1))
    return TermExpand(grams, None if back else (min_gram, max_gram, edge))


def shingle(min_size: int = 2, max_size: int = 2, output_unigrams: bool = True, unigrams_if_none: bool = False,
            separator: str = " ", filler: str = "_") -> TokenFilter:
    """Lucene's ShingleFilter: word n-grams at the position of their first word; gaps (removed stop words) are
    filled with ``filler``."""

    def run(toks: list[Tok]) -> list[Tok]:
        if not toks:
            return toks
        # lay tokens out by position, filling gaps
        slots: list[Tok | None] = []
        first_at: dict[int, Tok] = {}
        for t in toks:
            first_at.setdefault(t.pos, t)
        lo, hi = min(first_at), max(first_at)
        for p in range(lo, hi + 1):
            slots.append(first_at.get(p))
        out: list[Tok] = []
        made = False
        for i, t in enumerate(slots):
            if t is None:
                continue
            if output_unigrams:
                out.append(t)
            for size in range(min_size, max_size + 1):
                if i + size > len(slots):
                    break
                window = slots[i : i + size]
                if window[-1] is None:
                    continue
                text = separator.join(w.term if w is not None else filler for w in window)
                out.append(Tok(text, t.start, window[-1].end, t.pos))
                made = True
        if not made and not output_unigrams and unigrams_if_none:
            return [s for s in slots if s is not None]
        return out

    return run


def pattern_replace(compiled: regex.Pattern, replacement: str) -> TokenFilter:
    repl = _java_replacement(replacement)

    def run(toks: list[Tok]) -> list[Tok]:
        for t in toks:
            t.term = compiled.sub(repl, t.term)
        return [t for t in toks if t.term]

    return run


def pattern_capture(patterns: list[regex.Pattern], preserve_original: bool = True) -> TokenFilter:
    def run(toks: list[Tok]) -> list[Tok]:
        out = []
        for t in toks:
            seen = set()
            captured = []
            for p in patterns:
                for m in p.finditer(t.term):
                    groups = m.groups() or (m.group(0),)
                    for g in groups:
                        if g and g not in seen:
                            seen.add(g)
                            captured.append(g)
            if preserve_original or not captured:
                out.append(t)
                seen.add(t.term)
            for g in captured:
                if g != t.term or not preserve_original:
                    out.append(t.with_term(g))
        return out

    return run


def _java_replacement(replacement: str) -> str:
    """Java's ``$1`` group references to Python's ``\\g<1>``."""
    out, i = [], 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "\\" and i + 1 < len(replacement):
            out.append(replacement[i + 1].replace("\\", "\\\\"))
            i += 2
            continue
        if ch == "$" and i + 1 < len(replacement) and replacement[i + 1].isdigit():
            j = i + 1
            while j < len(replacement) and replacement[j].isdigit():
                j += 1
            out.append(f"\\g<{replacement[i + 1:j]}>")
            i = j
            continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


def java_replacement(replacement: str) -> str:
    return _java_replacement(replacement)


def word_delimiter(generate_word_parts=True, generate_number_parts=True, catenate_words=False, catenate_numbers=False,
                   catenate_all=False, split_on_case_change=True, preserve_original=False, split_on_numerics=True,
                   stem_english_possessive=True, protected: frozenset[str] = frozenset()) -> TokenFilter:
    """Lucene's WordDelimiterFilter: split on intra-word delimiters, case changes and letter/digit changes."""
    part_re = regex.compile(r"\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+|\p{Lu}+|\p{L}+|\p{N}+" if split_on_case_change else r"\p{L}+|\p{N}+")
    nosplit_num = regex.compile(r"[\p{L}\p{N}]+")

    def parts_of(term: str) -> list[tuple[str, int, int]]:
        if stem_english_possessive and term.lower().endswith("'s"):
            term = term[:-2]
        rx = part_re if split_on_numerics else nosplit_num
        out = []
        for m in rx.finditer(term):
            out.append((m.group(0), m.start(), m.end()))
        return out

    def run(toks: list[Tok]) -> list[Tok]:
        out: list[Tok] = []
        for t in toks:
            if t.term in protected:
                out.append(t)
                continue
            parts = parts_of(t.term)
            if len(parts) == 1 and parts[0][0] == t.term:
                out.append(t)
                continue
            emitted = []
            if preserve_original:
                emitted.append(t.term)
            for p, s, e in parts:
                is_num = p[0].isdigit()
                if (is_num and generate_number_parts) or (not is_num and generate_word_parts):
                    emitted.append(p)
            words = [p for p, _, _ in parts if not p[0].isdigit()]
            nums = [p for p, _, _ in parts if p[0].isdigit()]
            if catenate_words and len(words) > 1:
                emitted.append("".join(words))
            if catenate_numbers and len(nums) > 1:
                emitted.append("".join(nums))
            if catenate_all and len(parts) > 1:
                emitted.append("".join(p for p, _, _ in parts))
            for k, term in enumerate(dict.fromkeys(emitted)):
                out.append(Tok(term, t.start, t.end, t.pos))
        return _spread(out)

    return run


def _spread(toks: list[Tok]) -> list[Tok]:
    """Give split parts their own positions (Lucene increments per part), keeping catenations on the first."""
    out, pos, last_src = [], -1, None
    for t in toks:
        src = (t.start, t.end, t.pos)
        pos += 1
        t.pos = pos
        out.append(t)
        last_src = src
    del last_src
    return out
