"""The token stream every analysis step works on, and the analyzer that runs the steps."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable


class Tok:
    """One token: its term, character offsets into the original text (code points, end exclusive), and its
    absolute position. Filters that drop tokens leave the positions of the others alone, so a removed stop
    word leaves a gap, as Lucene's position increments do."""

    __slots__ = ("term", "start", "end", "pos", "keyword")

    def __init__(self, term: str, start: int, end: int, pos: int, keyword: bool = False):
        self.term = term
        self.start = start
        self.end = end
        self.pos = pos
        self.keyword = keyword  # protected from stemmers (keyword_marker, stemmer_override)

    def with_term(self, term: str) -> "Tok":
        return Tok(term, self.start, self.end, self.pos, self.keyword)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Tok({self.term!r}, {self.start}, {self.end}, {self.pos})"


CharFilter = Callable[[str], tuple[str, list[tuple[int, int]]]]
Tokenizer = Callable[[str], list[Tok]]
TokenFilter = Callable[[list[Tok]], list[Tok]]


@dataclass
class Analyzer:
    """char filters -> tokenizer -> token filters, as Lucene composes them."""

    name: str
    tokenizer: Tokenizer
    filters: list[TokenFilter] = field(default_factory=list)
    char_filters: list[Callable[[str], tuple[str, Callable[[int], int]]]] = field(default_factory=list)
    # the name of a tantivy-native pipeline (weft.search.analysis.native) that does exactly this, if any:
    # tantivy then tokenizes documents itself, and queries use the same pipeline
    native: str | None = None
    # a cheaper way to the index terms (``[(term, position), ...]``, or None for a text it does not cover) that gives
    # exactly the chain's terms and positions (``cjk_fast``)
    index_terms: Callable[[str], list[tuple[str, int]] | None] | None = None
    # the same as a joined string (``joined``), or None for a text it does not cover
    index_joined: Callable[[str], str | None] | None = None

    def __post_init__(self):
        self._fast, self._expands = (None, False) if self.native else _fast_path(self)
        self._word = _joined_word(self._fast) if self._fast is not None and not self._expands else None
        self._chunks = _JoinedChunks(self._word) if self._word is not None else None

    def _same_offsets(self, text: str) -> str:
        # the fast path's char filters: each keeps every character's offset (``keeps_offsets``)
        for cf in self.char_filters:
            text = cf(text)[0]
        return text

    @property
    def path(self) -> str:
        """native: tantivy runs it; fast: tantivy tokenizes and lower-cases, one cached Python function maps each
        term; python: weft runs every step in Python."""
        return "native" if self.native else "fast" if self._fast else "python"

    def pre_tokenized(self, text: str):
        """The tokens as tantivy's PreTokenizedString, for indexing. Its text is left empty: weft's analyzed fields are
        neither stored nor fast in tantivy (the document's ``_source`` holds the value; tantivy uses only the tokens),
        and copying the value into it cost about 7 µs per 500-character document."""
        import tantivy

        if self._fast is not None and not (self._expands and _long_run(text)):
            # tantivy's standard tokenizer numbers its tokens 0, 1, 2...; the index keeps positions, not offsets
            # (highlighting re-analyzes the stored text), so the cheaper string-only call is enough here
            from weft.search.analysis.latin import standard_terms

            fn, Token = self._fast, tantivy.Token
            terms = standard_terms(self._same_offsets(text))
            if self._expands:
                toks = [Token(term, i, 0, 0) for i, t in enumerate(terms) for term in fn(t)]
            else:
                toks = [Token(term, i, 0, 0) for i, t in enumerate(terms) if (term := fn(t)) is not None]
            return tantivy.PreTokenizedString("", toks)
        if self.index_terms is not None:
            found = self.index_terms(text)
            if found is not None:
                Token = tantivy.Token
                return tantivy.PreTokenizedString("", [Token(term, pos, 0, 0) for term, pos in found])
        return tantivy.PreTokenizedString("", [tantivy.Token(t.term, t.pos, t.start, t.end) for t in self.tokens(text)])

    def joined(self, text: str) -> str | None:
        """The index terms as one string for the ``joined`` tokenizer (``native.JOINED``: split at ASCII whitespace,
        drop ``SKIP``), or None where that cannot express them (two terms at one position, a term with whitespace,
        an empty term): term ``i`` of the string is at position ``i``, and a removed token's position holds ``SKIP``,
        so tantivy numbers the terms exactly as ``pre_tokenized`` gives them. tantivy then tokenizes the string in its
        indexing thread, off the GIL, and Python builds no Token objects: about half the cost of ``pre_tokenized``
        (docs/analysis.md)."""
        if self.native is not None:
            return None
        if self._chunks is not None:
            # per whitespace-separated chunk, cached: a chunk's joined terms (``_JoinedChunks``); a chunk without
            # tokens adds one more space, which the whitespace tokenizer skips without counting a position
            text = self._same_offsets(text)
            chunks = text.split() if "\u202f" not in text else text.split(" ")
            out = " ".join(map(self._chunks.__getitem__, chunks))
            return None if "\x00" in out else out
        if self.index_joined is not None:
            out = self.index_joined(text)
            if out is not None:
                return out
        if self._fast is not None and not (self._expands and _long_run(text)):
            return None  # expanding fast path: several terms at one position
        return join_tokens(self.tokens(text))

    def tokens(self, text: str) -> list[Tok]:
        if self.native is not None:
            from weft.search.analysis.native import analyzer_for

            return [Tok(t.text, t.char_offset_from, t.char_offset_to, t.position) for t in analyzer_for(self.native, text).pre_tokenize(text).tokens]
        if self._fast is not None and not (self._expands and _long_run(text)):
            fn = self._fast
            out = []
            if self._expands:
                for t in _native_tokens(self._same_offsets(text)):
                    s, e, p = t.char_offset_from, t.char_offset_to, t.position
                    for term in fn(t.text):
                        out.append(Tok(term, s, e, p))
                return out
            for t in _native_tokens(self._same_offsets(text)):
                term = fn(t.text)
                if term is not None:
                    out.append(Tok(term, t.char_offset_from, t.char_offset_to, t.position))
            return out
        corrections = []
        for cf in self.char_filters:
            text, correct = cf(text)
            corrections.append(correct)
        toks = self.tokenizer(text)
        for f in self.filters:
            if not toks:
                break
            toks = f(toks)
        if corrections:
            for t in toks:
                s, e = t.start, t.end
                for correct in reversed(corrections):
                    s, e = correct(s), correct(e)
                t.start, t.end = s, e
        return toks

    def terms(self, text: str) -> list[str]:
        return [t.term for t in self.tokens(text)]


SKIP = "\x01"  # the joined tokenizer's placeholder for a removed token (native.JOINED drops it)
# characters that cannot be in a joined term: tantivy's whitespace tokenizer splits at ASCII whitespace (not \x0b,
# but it is left out too), \x00 marks a term that cannot be joined, \x01 is SKIP
_UNJOINABLE = re.compile("[ \t\n\x0b\x0c\r\x00\x01]")


def _joined_word(fn):
    """``fn`` (a fast-path term map) for ``joined``: SKIP for a removed term, ``"\x00"`` for one it cannot carry."""
    import functools

    @functools.lru_cache(maxsize=65536)
    def word(term: str) -> str:
        out = fn(term)
        if out is None:
            return SKIP
        if not out or _UNJOINABLE.search(out):
            return "\x00"
        return out

    return word


class _JoinedChunks(dict):
    """A fast-path chain's joined terms (``Analyzer.joined``) of one chunk of text between whitespace, cached: most
    chunks of a text repeat (a word, or a word with its punctuation), so a text costs one split and one dictionary
    look-up per chunk instead of tokenizing it (the Latin pattern, 15-20 µs for 60 words) and one look-up per term.

    The standard tokenizer's tokens never contain whitespace (Python's ``str.isspace`` characters; the one exception,
    U+202F, is ExtendNumLet and joins, so a text with it is split at spaces only) and its pattern has no look-around,
    so tokenizing the chunks one by one gives the text's tokens in order (``tests/search/analysis/test_joined_chunks.py``
    checks it against tantivy's tokenizer on the whole text). A chunk without tokens gives ``""``; a term the string
    cannot carry, ``"\x00"`` (``_joined_word``)."""

    __slots__ = ("word",)
    LIMIT = 65536  # chunks kept; the cache starts over past it
    LONGEST = 64  # longer chunks (rarely repeated: URLs, runs of symbols) are not kept

    def __init__(self, word):
        super().__init__()
        self.word = word

    def __missing__(self, chunk: str) -> str:
        from weft.search.analysis.latin import standard_terms

        out = " ".join(map(self.word, standard_terms(chunk)))
        if len(chunk) <= self.LONGEST:
            if len(self) >= self.LIMIT:
                self.clear()
            self[chunk] = out
        return out


def join_tokens(toks: list[Tok]) -> str | None:
    """Tokens as a joined string (``Analyzer.joined``), or None when positions repeat or go back, or a term cannot be
    carried."""
    parts: list[str] = []
    add = parts.append
    nxt = skipped = 0
    for t in toks:
        p = t.pos
        if p != nxt:
            if p < nxt:
                return None
            parts.extend([SKIP] * (p - nxt))
            skipped += p - nxt
        add(t.term)
        nxt = p + 1
    if not parts:
        return ""
    if "" in parts:
        return None
    out = " ".join(parts)
    if out.count(" ") != len(parts) - 1 or out.count(SKIP) != skipped or _UNJOINABLE_ANY.search(out):
        return None
    return out


_UNJOINABLE_ANY = re.compile("[\t\n\x0b\x0c\r\x00]")


def _native_tokens(text: str):
    from weft.search.analysis.native import standard_analyzer_for

    return standard_analyzer_for(text).pre_tokenize(text).tokens


# Lucene's standard tokenizer splits a token longer than 255 characters (``tokenizers.standard``); the fast path's
# tantivy pipeline keeps it whole (or drops it past 1024 bytes), so for an expanding chain (n-grams: the split
# changes the grams) a text with such a run takes the Python path. (Term-map chains keep the documented difference.)
# A token never spans whitespace, so a text without 256 non-space characters in a row has no such token.
_LONG_RUN = re.compile(r"\S{256}")


def _long_run(text: str) -> bool:
    return len(text) > 255 and _LONG_RUN.search(text) is not None


def _fast_path(analyzer: "Analyzer"):
    """One cached function for chains of the form: standard tokenizer, lower case, then only term maps (the
    function gives the term or None) or term maps and term expansions such as edge n-grams (it gives a tuple of
    terms, all at the word's position). Returns (function or None, whether it expands)."""
    import functools

    from weft.search.analysis import filters as F
    from weft.search.analysis import tokenizers as T

    if analyzer.tokenizer is not T.standard or not analyzer.filters or analyzer.filters[0] is not F.lowercase:
        return None, False
    if any(not getattr(cf, "keeps_offsets", False) for cf in analyzer.char_filters):
        return None, False
    rest = analyzer.filters[1:]
    if not all(isinstance(f, (F.TermMap, F.TermExpand)) for f in rest):
        return None, False
    if not any(isinstance(f, F.TermExpand) for f in rest):
        fns = [f.fn for f in rest]

        @functools.lru_cache(maxsize=65536)
        def fn(term: str):
            for f in fns:
                term = f(term)
                if term is None:
                    return None
            return term

        return fn, False
    steps = [(isinstance(f, F.TermExpand), f.fn) for f in rest]

    @functools.lru_cache(maxsize=65536)
    def expand(term: str) -> tuple[str, ...]:
        terms = (term,)
        for expands, f in steps:
            if expands:
                terms = tuple(out for t in terms for out in f(t))
            else:
                terms = tuple(out for t in terms if (out := f(t)) is not None)
            if not terms:
                break
        return terms

    return expand, True
