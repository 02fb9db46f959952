"""Fields whose chain ends in an n-gram or front edge n-gram filter: tantivy makes the grams itself.

Lucene's (Edge)NGramTokenFilter puts every gram of a token at that token's position, which the joined string
(``Analyzer.joined``) cannot express; given pre-tokenized, such a field costs one tantivy ``Token`` per gram (375
per 60-word document with grams of 2-10). Instead the chain before the n-gram filter (the *upstream*: tokenizer and
the filters before it) runs in Python, cheaply on the fast path, and each of its terms goes to tantivy as its own
value of the field, whose tantivy tokenizer is ``NgramTokenizer(min, max, prefix_only)``: the same grams (by code
point), made in tantivy's indexing thread.

tantivy numbers the values of a field one after the other: a value's tokens start one position after the end of
the previous value's (its last token's position + 1), and a value without tokens (an empty string, a word shorter
than the smallest gram) moves the next value on by one. Every gram of a value sits at the value's first position.
So with one word per value, word ``k`` lands at position ``2k``; a removed token (a stop word, a word with no grams)
is two empty values, and after the last word of a value of the field (of a collection) come two more: each term is
then at exactly twice the position the pre-tokenized layout gives it, across a document's values too. Queries
multiply their positions and slops by ``STRIDE`` (``tantivy_translate``); since every position is even, a phrase
matches, and counts its occurrences, exactly as before, so matches and BM25 scores are those of the pre-tokenized
layout (the field lengths are the same number of grams). Text the fast path does not cover the same way (a run of
256 non-space characters, which Lucene's standard tokenizer splits; an upstream chain giving two terms at one
position) goes pre-tokenized, with its tokens' positions doubled.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import tantivy

from weft.search.analysis import filters as F
from weft.search.analysis.tokens import Analyzer, _long_run

STRIDE = 2  # positions of a gram-values field per position of the chain
_SEPARATOR = ("", "")  # after each value: the pre-tokenized layout's gap of one position between values
_GAPS = [("",) * (2 * n) for n in range(64)]


def _gaps(n: int) -> tuple[str, ...]:
    return _GAPS[n] if n < 64 else ("",) * (2 * n)


@dataclass(eq=False)
class GramValues:
    analyzer: Analyzer  # the field's whole index chain
    upstream: Analyzer  # the same without its last filter, the n-gram filter
    min_gram: int
    max_gram: int
    prefix_only: bool
    _word: object = field(default=None, repr=False)
    _same: bool = field(default=False, repr=False)  # the upstream terms are the standard terms (lower case only)

    def __post_init__(self):
        up, low = self.upstream, self.min_gram
        if up._fast is not None and not up._expands:
            fn = up._fast
            self._same = len(up.filters) == 1  # the fast path's tantivy pipeline lower-cases: nothing left to map

            @functools.lru_cache(maxsize=65536)
            def word(term: str) -> str | None:
                out = fn(term)
                return out if out is not None and len(out) >= low else None

            self._word = word

    @property
    def tokenizer(self) -> str:
        """The name of the field's tantivy tokenizer (registered by ``register``)."""
        return f"weft_grams_{self.min_gram}_{self.max_gram}_{'prefix' if self.prefix_only else 'all'}"

    def build(self) -> tantivy.TextAnalyzer:
        return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(self.min_gram, self.max_gram, prefix_only=self.prefix_only)).build()

    def values(self, text: str) -> list[str] | None:
        """The values to give tantivy for ``text`` (one value of the field), or None where they cannot carry its
        terms (the caller then indexes ``doubled``)."""
        word = self._word
        if word is not None:
            filtered = self.upstream._same_offsets(text)
            terms = _standard_terms(filtered)
            if _long(text, filtered, terms):
                return None
            if self._same and (self.min_gram <= 1 or not terms or min(map(len, terms)) >= self.min_gram):
                return terms + list(_SEPARATOR)  # every term makes grams, no gap: no Python loop (the common case)
            words = map(word, terms)
        else:
            words = self._upstream_words(text)
            if words is None:
                return None
        out: list[str] = []
        gap = 0
        for w in words:
            if w is None:
                gap += 1
                continue
            if gap:
                out.extend(_gaps(gap))
                gap = 0
            out.append(w)
        out.extend(_SEPARATOR)
        return out

    def _upstream_words(self, text: str) -> list[str | None] | None:
        """The upstream chain's terms, one per position (None where a position has none or a term makes no gram),
        or None when two terms share a position."""
        out: list[str | None] = []
        low, nxt = self.min_gram, 0
        for t in self.upstream.tokens(text):
            if t.pos < nxt:
                return None
            out.extend([None] * (t.pos - nxt))
            out.append(t.term if len(t.term) >= low else None)
            nxt = t.pos + 1
        return out

    def doubled(self, text: str) -> tantivy.PreTokenizedString | None:
        """The chain's tokens at twice their positions, or None when there are none (then only ``_SEPARATOR``)."""
        toks = self.analyzer.tokens(text)
        if not toks:
            return None
        Token = tantivy.Token
        return tantivy.PreTokenizedString("", [Token(t.term, STRIDE * t.pos, 0, 0) for t in toks])

    def add(self, doc: tantivy.Document, name: str, texts: list[str], schema: tantivy.Schema) -> None:
        """Adds ``texts`` (the values of the field ``name``, which has none in ``doc`` yet) to ``doc``.

        One ``Document.extend`` call where it can (it costs about two thirds of one ``add_text`` per value, but
        replaces the field's values, so only the first write can be one)."""
        out: list[str] = []
        written = False
        for text in texts:
            values = self.values(text)
            if values is not None:
                out += values
                continue
            pre = self.doubled(text)
            if pre is not None:
                if out:
                    written = _write(doc, name, out, schema, written)
                    out = []
                doc.add_pre_tokenized_text(name, pre)
                written = True
            out += _SEPARATOR
        if out:
            _write(doc, name, out, schema, written)


# ASCII letters and digits to themselves in lower case, every other byte to a space
_ASCII_WORDS = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))


def _standard_terms(text: str) -> list[str]:
    """``latin.standard_terms(text)`` (the fast path's terms), for ASCII text the simple tokenizer gets right in
    ``str`` and ``bytes`` calls: its tokens there are the runs of letters and digits, lower-cased, and below 1024
    characters none is long enough for ``remove_long``. About 6 µs for a 500-character text, against 15 for
    tantivy's ``analyze`` (which builds a Python string per term through PyO3)."""
    from weft.search.analysis.native import simple_suffices

    if len(text) < 1024 and simple_suffices(text):
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    from weft.search.analysis.latin import standard_terms

    return standard_terms(text)


def _long(text: str, filtered: str, terms: list[str]) -> bool:
    """Whether ``text`` may have a token the fast path keeps whole (or drops) and Lucene's standard tokenizer splits
    at 255 characters (``tokens._long_run``, as ``Analyzer.tokens`` decides). In ASCII text of at most 1024
    characters (``filtered``: after the char filters) no token is long enough for the fast path's tantivy pipeline
    to drop it (``native.MAX_TOKEN_BYTES``), so such a token is one of ``terms``, and where none is, both paths give
    the same tokens: checking their lengths costs a fifth of the regular expression."""
    if len(text) <= 255 and len(filtered) <= 255:
        return False
    if filtered.isascii() and len(filtered) <= 1024:
        return max(map(len, terms), default=0) > 255
    return _long_run(text)


def _write(doc: tantivy.Document, name: str, values: list[str], schema: tantivy.Schema, written: bool) -> bool:
    if written:
        for v in values:
            doc.add_text(name, v)
    else:
        doc.extend({name: values}, schema)
    return True


def plan(analyzer: Analyzer | None) -> GramValues | None:
    """The gram-values layout for a field indexed by ``analyzer``, or None when it keeps the joined / pre-tokenized
    one: a Python-path chain whose last filter is an n-gram or front edge n-gram filter (``TermExpand.grams``) and
    whose earlier filters expand nothing."""
    if analyzer is None or analyzer.native is not None or not analyzer.filters:
        return None
    last = analyzer.filters[-1]
    if not isinstance(last, F.TermExpand) or last.grams is None:
        return None
    if any(isinstance(f, F.TermExpand) for f in analyzer.filters[:-1]):
        return None
    found = analyzer.__dict__.get("_gram_values")
    if found is None:
        upstream = Analyzer(analyzer.name, analyzer.tokenizer, list(analyzer.filters[:-1]), list(analyzer.char_filters))
        lo, hi, prefix = last.grams
        found = analyzer.__dict__["_gram_values"] = GramValues(analyzer, upstream, lo, hi, prefix)
    return found


def register(index: tantivy.Index, layouts) -> None:
    """Registers the tantivy tokenizers of the gram-values fields among ``layouts`` (``GramValues`` or None)."""
    done: set[str] = set()
    for g in layouts:
        if g is not None and g.tokenizer not in done:
            index.register_tokenizer(g.tokenizer, g.build())
            done.add(g.tokenizer)
