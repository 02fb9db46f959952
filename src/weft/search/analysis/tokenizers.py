"""Tokenizers: text to tokens with offsets and positions.

``standard`` follows Lucene's StandardTokenizer (Unicode UAX #29 word boundaries, as the ``regex`` module's
``(?w)\\b`` implements them): words keep inner apostrophes and periods (``fox's``, ``3.14``, ``bar.com``), every
Han and Hiragana character is its own token, Katakana and Hangul runs stay whole, and runs of Southeast Asian
scripts (Thai, Lao, Khmer, Myanmar) stay one token as Lucene's ``<SOUTHEAST_ASIAN>`` type does. Tokens longer
than ``max_len`` are split into pieces of ``max_len`` characters.
"""
from __future__ import annotations

import functools

import regex

from weft.search.analysis.tokens import Tok

_BOUNDARY = regex.compile(r"(?w)\b")
# a segment is a token when it has a character Lucene's grammar makes tokens of (not, e.g., a lone "_" or "₃")
_WORDISH = regex.compile(
    r"[\p{WB=ALetter}\p{WB=Hebrew_Letter}\p{WB=Numeric}\p{WB=Katakana}\p{Han}\p{Hiragana}\uFF10-\uFF19"
    r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]"
)
_SEA = regex.compile(r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]+")
_CJK_CHAR = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}ー]")
_URL_EMAIL = regex.compile(
    r"(?i)\b(?:(?:https?|ftp|file)://[^\s<>\"]+[^\s<>\".,;:!?)\]]"
    r"|[\w.%+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|www\.[\w-]+(?:\.[\w-]+)+(?:/[^\s<>\"]*[^\s<>\".,;:!?)\]])?)"
)
_EMOJI = regex.compile(r"\p{Extended_Pictographic}")


def _emit(out: list[Tok], text: str, start: int, end: int, max_len: int) -> None:
    while end - start > max_len:
        out.append(Tok(text[start : start + max_len], start, start + max_len, len(out)))
        start += max_len
    out.append(Tok(text[start:end], start, end, len(out)))


def _standard_span(text: str, base: int, end_at: int, max_len: int, out: list[Tok]) -> None:
    chunk = text[base:end_at]
    offset = base
    for piece in _BOUNDARY.split(chunk):
        n = len(piece)
        if n and _WORDISH.search(piece):
            _emit(out, text, offset, offset + n, max_len)
        offset += n


def standard(text: str, max_len: int = 255) -> list[Tok]:
    """The standard tokenizer, run by tantivy (``native.STANDARD_PATTERN``, which agrees with
    :func:`standard_uax29` on the tested cases and is about twice as fast); tokens over ``max_len`` characters are
    split as Lucene does."""
    from weft.search.analysis.native import standard_tokenizer_for

    out: list[Tok] = []
    for t in standard_tokenizer_for(text).pre_tokenize(text).tokens:
        s, e = t.char_offset_from, t.char_offset_to
        if e - s > max_len:
            _emit(out, text, s, e, max_len)
        else:
            out.append(Tok(t.text, s, e, len(out)))
    return out


def standard_uax29(text: str, max_len: int = 255) -> list[Tok]:
    """The standard tokenizer by the ``regex`` module's Unicode word boundaries (UAX #29): the reference the
    tantivy pattern is tested against."""
    out: list[Tok] = []
    if not text:
        return out
    if not _SEA.search(text):
        _standard_span(text, 0, len(text), max_len, out)
        return out
    pos = 0
    for m in _SEA.finditer(text):
        _standard_span(text, pos, m.start(), max_len, out)
        _emit(out, text, m.start(), m.end(), max_len)
        pos = m.end()
    _standard_span(text, pos, len(text), max_len, out)
    return out


def uax_url_email(text: str, max_len: int = 255) -> list[Tok]:
    """``standard``, keeping URLs and e-mail addresses whole (Lucene's UAX29URLEmailTokenizer)."""
    out: list[Tok] = []
    pos = 0
    for m in _URL_EMAIL.finditer(text):
        _standard_between(text, pos, m.start(), max_len, out)
        _emit(out, text, m.start(), m.end(), max_len)
        pos = m.end()
    _standard_between(text, pos, len(text), max_len, out)
    return out


def _standard_between(text: str, start: int, end: int, max_len: int, out: list[Tok]) -> None:
    for t in standard(text[start:end], max_len):
        out.append(Tok(t.term, t.start + start, t.end + start, len(out)))


_CLASSIC = regex.compile(
    r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|(?:\p{L}\.){2,}"  # acronym U.S.A.
    r"|\p{L}+(?:[&@]\p{L}+)+"  # company AT&T
    r"|[\p{L}\p{N}]+(?:'[\p{L}]+)+"  # apostrophe O'Reilly, you're
    r"|[\p{L}\p{N}]+(?:[-_/.,][\p{L}\p{N}]+)*(?<=\p{N}[\p{L}\p{N}]*)(?:[-_/.,][\p{L}\p{N}]+)*"  # numbers, part no.
    r"|\p{L}+(?:\.\p{L}+)+"  # host names
    r"|[\p{L}\p{N}]+"
)


def classic(text: str, max_len: int = 255) -> list[Tok]:
    """Lucene's ClassicTokenizer grammar (pre-UAX#29 StandardTokenizer): e-mails, host names, acronyms, company
    names and apostrophes stay whole; other punctuation splits."""
    out: list[Tok] = []
    for m in _CLASSIC.finditer(text):
        if m.end() - m.start() <= max_len:  # ClassicTokenizer skips over-long tokens
            out.append(Tok(m.group(0), m.start(), m.end(), len(out)))
    return out


_LETTERS = regex.compile(r"\p{L}+")
_NON_SPACE = regex.compile(r"[^\s\u0085\u2028\u2029]+")


def _runs(pattern: regex.Pattern, text: str, max_len: int) -> list[Tok]:
    out: list[Tok] = []
    for m in pattern.finditer(text):
        _emit(out, text, m.start(), m.end(), max_len)
    return out


def letter(text: str, max_len: int = 255) -> list[Tok]:
    return _runs(_LETTERS, text, max_len)


def lowercase(text: str, max_len: int = 255) -> list[Tok]:
    toks = letter(text, max_len)
    for t in toks:
        t.term = t.term.lower()
    return toks


def whitespace(text: str, max_len: int = 255) -> list[Tok]:
    return _runs(_NON_SPACE, text, max_len)


def keyword(text: str, max_len: int = 256) -> list[Tok]:
    if not text:
        return []
    out: list[Tok] = []
    _emit(out, text, 0, len(text), max_len)
    return out


def keyword_whole(text: str) -> list[Tok]:
    """The ``keyword`` analyzer: the whole input as one token, however long."""
    return [Tok(text, 0, len(text), 0)] if text else []


def pattern(compiled: regex.Pattern, group: int = -1):
    def tokenize(text: str) -> list[Tok]:
        out: list[Tok] = []
        if group < 0:
            pos = 0
            for m in compiled.finditer(text):
                if m.start() > pos:
                    out.append(Tok(text[pos : m.start()], pos, m.start(), len(out)))
                pos = max(m.end(), pos)
            if pos < len(text):
                out.append(Tok(text[pos:], pos, len(text), len(out)))
        else:
            for m in compiled.finditer(text):
                s, e = m.span(group)
                if s >= 0 and e > s:
                    out.append(Tok(text[s:e], s, e, len(out)))
        return out

    return tokenize


_CHAR_CLASSES = {
    "letter": lambda c: c.isalpha(),
    "digit": lambda c: c.isdigit(),
    "whitespace": lambda c: c.isspace(),
    "punctuation": lambda c: regex.match(r"\p{P}", c) is not None,
    "symbol": lambda c: regex.match(r"\p{S}", c) is not None,
}


def _token_runs(text: str, token_chars: list[str]) -> list[tuple[int, int]]:
    if not token_chars:
        return [(0, len(text))] if text else []
    tests = [_CHAR_CLASSES[c] for c in token_chars]
    runs, start = [], None
    for i, ch in enumerate(text):
        if any(t(ch) for t in tests):
            if start is None:
                start = i
        elif start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(text)))
    return runs


def ngram(min_gram: int, max_gram: int, token_chars: list[str], edge: bool = False):
    """Lucene's NGramTokenizer / EdgeNGramTokenizer: grams of each run of ``token_chars`` (the whole text when
    empty), by start then length; each gram one position further."""

    def tokenize(text: str) -> list[Tok]:
        out: list[Tok] = []
        for rs, re_ in _token_runs(text, token_chars):
            starts = [rs] if edge else range(rs, re_)
            for s in starts:
                for n in range(min_gram, max_gram + 1):
                    if s + n > re_:
                        break
                    out.append(Tok(text[s : s + n], s, s + n, len(out)))
        return out

    return tokenize


def path_hierarchy(delimiter: str = "/", replacement: str = "/", max_len: int = 300, reverse: bool = False, skip: int = 0):
    """Lucene's PathHierarchyTokenizer (and its reverse form): ``/a/b/c`` gives ``/a``, ``/a/b``, ``/a/b/c``,
    all at position 0."""

    def tokenize(text: str) -> list[Tok]:
        if not text:
            return []
        parts = text.split(delimiter)
        out: list[Tok] = []
        if not reverse:
            # boundaries: each delimiter after the first character
            ends = [i for i, ch in enumerate(text) if ch == delimiter and i > 0] + [len(text)]
            starts_at = 0
            if skip:
                idx = [i for i, ch in enumerate(text) if ch == delimiter]
                lead = 1 if text.startswith(delimiter) else 0
                if skip + lead - 1 >= len(idx):
                    return []
                starts_at = idx[skip + lead - 1] if skip + lead - 1 >= 0 else 0
                ends = [e for e in ends if e > starts_at]
            for e in ends:
                piece = text[starts_at:e]
                if piece:
                    out.append(Tok(piece.replace(delimiter, replacement)[:max_len], starts_at, e, 0))
        else:
            starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == delimiter and i + 1 < len(text)]
            end = len(text)
            if skip:
                idx = [i for i, ch in enumerate(text) if ch == delimiter]
                if skip > len(idx):
                    return []
                end = idx[len(idx) - skip]
                starts = [s for s in starts if s < end]
            for s in starts:
                piece = text[s:end]
                if piece:
                    out.append(Tok(piece.replace(delimiter, replacement)[:max_len], s, end, 0))
        del parts
        return out

    return tokenize


def cjk_aware_standard(text: str, max_len: int = 255) -> list[Tok]:
    """``standard`` whose CJK characters come one per token (Katakana and Hangul runs too), so that
    ``cjk_bigram`` can pair neighbours, as Lucene's CJKBigramFilter does with StandardTokenizer's CJK types."""
    from weft.search.analysis.native import standard_analyzer_for

    # tantivy's standard tokenizer (it also lower-cases, which the CJK chains do next anyway)
    toks = [Tok(t.text, t.char_offset_from, t.char_offset_to, t.position) for t in standard_analyzer_for(text).pre_tokenize(text).tokens]
    if not any(_CJK_CHAR.search(t.term) for t in toks):
        return toks
    out: list[Tok] = []
    for t in toks:
        if _CJK_CHAR.search(t.term) and len(t.term) > 1 and all(_CJK_CHAR.match(c) for c in t.term):
            for i, ch in enumerate(t.term):
                out.append(Tok(ch, t.start + i, t.start + i + 1, len(out)))
        else:
            t.pos = len(out)
            out.append(t)
    return out


def is_cjk(term: str) -> bool:
    return len(term) == 1 and _CJK_CHAR.match(term) is not None


@functools.lru_cache(maxsize=65536)
def script_of(ch: str) -> str | None:
    if regex.match(r"\p{Han}", ch):
        return "han"
    if regex.match(r"\p{Hiragana}", ch):
        return "hiragana"
    if regex.match(r"[\p{Katakana}ー]", ch):
        return "katakana"
    if regex.match(r"\p{Hangul}", ch):
        return "hangul"
    return None
