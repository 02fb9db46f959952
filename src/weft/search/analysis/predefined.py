"""The predefined analyzers: every name of the SDK's ``LexicalAnalyzerName``.

The Lucene language analyzers follow the chains of Lucene's analyzer classes (see docs/analysis.md for each
language and where weft differs). The ``xx.microsoft`` analyzers are Microsoft's proprietary lemmatizers; weft
serves each with the closest analyzer it has (``MICROSOFT_STAND_INS``).
"""
from __future__ import annotations

import functools

from weft.search.analysis import brazilian
from weft.search.analysis import filters as F
from weft.search.analysis import greek
from weft.search.analysis import hindi
from weft.search.analysis import indonesian
from weft.search.analysis import portuguese
from weft.search.analysis import rslp
from weft.search.analysis import japanese as J
from weft.search.analysis import korean as K
from weft.search.analysis import snowball_lucene as SL
from weft.search.analysis import stempel
from weft.search.analysis import stemmers as S
from weft.search.analysis import stemmers_extra as X
from weft.search.analysis import thai
from weft.search.analysis import tokenizers as T
from weft.search.analysis.native import BUILDERS as NATIVE
from weft.search.analysis.stopwords import load as stopwords
from weft.search.analysis.tokens import Analyzer

FRENCH_ARTICLES = frozenset("l m t qu n s j d c jusqu quoiqu lorsqu puisqu".split())
CATALAN_ARTICLES = frozenset("d l m n s t".split())
ITALIAN_ARTICLES = frozenset("c l all dall dell nell sull coll pell gl agl dagl degl negl sugl un m t s v d".split())
IRISH_ARTICLES = frozenset("d m b".split())
DUTCH_STEM_OVERRIDES = {"fiets": "fiets", "bromfiets": "bromfiets", "ei": "eier", "kind": "kinder"}


def _map(fn):
    return F.term_map(fn)


def _dutch(term: str) -> str:
    # Lucene's DutchAnalyzer: a small stem override dictionary, then Snowball (original Dutch algorithm)
    return DUTCH_STEM_OVERRIDES.get(term) or F._stemmer("dutch_porter").stemWord(term)


def _stop(name: str | None):
    return F.stop(stopwords(name)) if name else None


# name -> (tokenizer, filters, char_filters)
def _build(name: str) -> Analyzer:
    lc = F.lowercase
    st = T.standard
    table = {
        "standard.lucene": (st, [lc]),
        "standardasciifolding.lucene": (st, [lc, F.asciifolding()]),
        "keyword": (T.keyword_whole, []),
        "simple": (T.letter, [lc]),
        "stop": (T.letter, [lc, _stop("english")]),
        "whitespace": (T.whitespace, []),
        "pattern": (T.pattern(__import__("regex").compile(r"\W+", __import__("regex").ASCII)), [lc]),
        # Lucene language analyzers
        "ar.lucene": (st, [lc, F.decimal_digit, _stop("arabic"), _map(S.arabic_normalize), F.stem_with(S.arabic_light)]),
        "hy.lucene": (st, [lc, _stop("armenian"), F.snowball("armenian")]),
        "eu.lucene": (st, [lc, _stop("basque"), F.snowball("basque")]),
        "bg.lucene": (st, [lc, _stop("bulgarian"), F.stem_with(X.bulgarian)]),
        "ca.lucene": (st, [lc, F.elision(CATALAN_ARTICLES), _stop("catalan"), F.snowball("catalan")]),
        "cs.lucene": (st, [lc, _stop("czech"), F.stem_with(X.czech)]),
        "da.lucene": (st, [lc, _stop("danish"), F.stem_with(SL.danish)]),
        "nl.lucene": (st, [lc, _stop("dutch"), F.stem_with(_dutch)]),
        # (Lucene runs the possessive filter and elision before lower-casing; both ignore case, so the order
        # lower case first gives the same terms and lets the chain take the fast path)
        "en.lucene": (st, [lc, F.english_possessive, _stop("english"), F.stem_with(SL.porter)]),
        "fi.lucene": (st, [lc, _stop("finnish"), F.stem_with(SL.finnish)]),
        "fr.lucene": (st, [lc, F.elision(FRENCH_ARTICLES), _stop("french"), F.stem_with(S.french_light)]),
        "gl.lucene": (st, [lc, _stop("galician"), F.stem_with(rslp.galician)]),
        "de.lucene": (st, [lc, _stop("german"), _map(S.german_normalize), F.stem_with(S.german_light)]),
        "el.lucene": (st, [lc, _map(greek.lower), _stop("greek"), F.stem_with(greek.stem)]),
        "hi.lucene": (st, [lc, F.decimal_digit, _map(hindi.normalize), _stop("hindi"), F.stem_with(hindi.stem)]),
        "hu.lucene": (st, [lc, _stop("hungarian"), F.stem_with(SL.hungarian)]),
        "id.lucene": (st, [lc, _stop("indonesian"), F.stem_with(indonesian.stem)]),
        "ga.lucene": (st, [F.stop(frozenset("h n t".split())), F.elision(IRISH_ARTICLES), _map(S.irish_lower), _stop("irish"), F.snowball("irish")]),
        "it.lucene": (st, [lc, F.elision(ITALIAN_ARTICLES), _stop("italian"), F.stem_with(S.italian_light)]),
        "lv.lucene": (st, [lc, _stop("latvian"), F.stem_with(X.latvian)]),
        "no.lucene": (st, [lc, _stop("norwegian"), F.stem_with(SL.norwegian)]),
        "fa.lucene": (st, [lc, F.decimal_digit, _map(S.arabic_normalize), _map(S.persian_normalize), _stop("persian")]),
        "pl.lucene": (st, [lc, _stop("polish"), F.stem_with(stempel.stem)]),
        "pt-BR.lucene": (st, [lc, _stop("brazilian"), F.stem_with(brazilian.stem)]),
        "pt-PT.lucene": (st, [lc, _stop("portuguese"), F.stem_with(portuguese.light)]),
        "ro.lucene": (st, [lc, _stop("romanian"), F.stem_with(SL.romanian)]),
        "ru.lucene": (st, [lc, _stop("russian"), F.stem_with(SL.russian)]),
        "es.lucene": (st, [lc, _stop("spanish"), F.stem_with(S.spanish_light)]),
        "sv.lucene": (st, [lc, _stop("swedish"), F.stem_with(SL.swedish)]),
        "th.lucene": (thai.tokenize, [lc, F.decimal_digit, _stop("thai")]),
        "tr.lucene": (st, [F.apostrophe, _map(S.turkish_lower), _stop("turkish"), F.stem_with(SL.turkish)]),
        "zh-Hans.lucene": (T.cjk_aware_standard, [F.cjk_width, lc, F.cjk_bigram(), _stop("cjk")]),
        "zh-Hant.lucene": (T.cjk_aware_standard, [F.cjk_width, lc, F.cjk_bigram(), _stop("cjk")]),
        # JapaneseAnalyzer (Kuromoji, search mode) over MeCab + IPADIC (japanese.py)
        "ja.lucene": (J.kuromoji, [F.cjk_width, _stop("japanese"), J.katakana_stem, lc]),
        # KoreanAnalyzer (Nori) over MeCab + mecab-ko-dic (korean.py)
        "ko.lucene": (K.nori, [lc]),
    }
    if name in table:
        tok, filters = table[name]
        chars = [_persian_char_filter] if name == "fa.lucene" else []
        fast = None
        if name in ("zh-Hans.lucene", "zh-Hant.lucene"):
            from weft.search.analysis.cjk_fast import bigram_index_terms

            fast = bigram_index_terms(stopwords("cjk"))
        return Analyzer(name, tok, [f for f in filters if f is not None], chars, native=name if name in NATIVE else None,
                        index_terms=fast, index_joined=getattr(fast, "joined", None))
    target = MICROSOFT_STAND_INS[name]
    if target in table:
        a = _build(target)
        return Analyzer(name, a.tokenizer, a.filters, a.char_filters, native=a.native, index_terms=a.index_terms,
                        index_joined=a.index_joined)
    algorithm = target.split(":", 1)[1] if target.startswith("snowball:") else None
    return Analyzer(name, st, [lc] + ([F.snowball(algorithm)] if algorithm else []))


def _persian_char_filter(text: str):
    # Lucene's PersianCharFilter: the zero-width non-joiner becomes a space (offsets unchanged).
    return text.replace("\u200c", " "), lambda i: i


_persian_char_filter.keeps_offsets = True  # the fast path runs it before tantivy's tokenizer


# xx.microsoft -> the weft analyzer that serves it: an xx.lucene name, "standard.lucene", or
# "snowball:<algorithm>" (standard tokenizer, lower case, that Snowball stemmer).
MICROSOFT_STAND_INS = {
    "ar.microsoft": "ar.lucene", "bn.microsoft": "standard.lucene", "bg.microsoft": "bg.lucene",
    "ca.microsoft": "ca.lucene", "zh-Hans.microsoft": "zh-Hans.lucene", "zh-Hant.microsoft": "zh-Hant.lucene",
    "hr.microsoft": "snowball:serbian", "cs.microsoft": "cs.lucene", "da.microsoft": "da.lucene",
    "nl.microsoft": "nl.lucene", "en.microsoft": "en.lucene", "et.microsoft": "snowball:estonian",
    "fi.microsoft": "fi.lucene", "fr.microsoft": "fr.lucene", "de.microsoft": "de.lucene",
    "el.microsoft": "el.lucene", "gu.microsoft": "standard.lucene", "he.microsoft": "standard.lucene",
    "hi.microsoft": "hi.lucene", "hu.microsoft": "hu.lucene", "is.microsoft": "standard.lucene",
    "id.microsoft": "id.lucene", "it.microsoft": "it.lucene", "ja.microsoft": "ja.lucene",
    "kn.microsoft": "standard.lucene", "ko.microsoft": "ko.lucene", "lv.microsoft": "lv.lucene",
    "lt.microsoft": "snowball:lithuanian", "ml.microsoft": "standard.lucene", "ms.microsoft": "snowball:indonesian",
    "mr.microsoft": "standard.lucene", "nb.microsoft": "no.lucene", "pl.microsoft": "pl.lucene",
    "pt-BR.microsoft": "pt-BR.lucene", "pt-PT.microsoft": "pt-PT.lucene", "pa.microsoft": "standard.lucene",
    "ro.microsoft": "ro.lucene", "ru.microsoft": "ru.lucene", "sr-cyrillic.microsoft": "snowball:serbian",
    "sr-latin.microsoft": "snowball:serbian", "sk.microsoft": "standard.lucene", "sl.microsoft": "standard.lucene",
    "es.microsoft": "es.lucene", "sv.microsoft": "sv.lucene", "ta.microsoft": "snowball:tamil",
    "te.microsoft": "standard.lucene", "th.microsoft": "th.lucene", "tr.microsoft": "tr.lucene",
    "uk.microsoft": "standard.lucene", "ur.microsoft": "standard.lucene", "vi.microsoft": "standard.lucene",
}

LUCENE_LANGUAGES = (
    "ar hy eu bg ca zh-Hans zh-Hant cs da nl en fi fr gl de el hi hu id ga it ja ko lv no fa pl pt-BR pt-PT ro ru es sv th tr"
).split()
OTHER = ("standard.lucene", "standardasciifolding.lucene", "keyword", "pattern", "simple", "stop", "whitespace")
NAMES = tuple([f"{l}.lucene" for l in LUCENE_LANGUAGES] + list(MICROSOFT_STAND_INS) + list(OTHER))
LANGUAGE_ANALYZERS = frozenset(n for n in NAMES if n not in OTHER)
_CANONICAL = {n.lower(): n for n in NAMES}


def canonical(name: str) -> str | None:
    """The canonical spelling of a predefined analyzer name (matched case-insensitively), or None."""
    return _CANONICAL.get(name.lower()) if isinstance(name, str) else None


@functools.lru_cache(maxsize=None)
def get(name: str) -> Analyzer:
    return _build(name)

