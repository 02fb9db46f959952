"""Korean morphological analysis as Lucene's KoreanAnalyzer (Nori) does it, over MeCab and mecab-ko-dic.

Nori is a Viterbi search over mecab-ko-dic; ``python-mecab-ko`` (binary wheels, MeCab inside) runs MeCab over
``python-mecab-ko-dic`` (a newer mecab-ko-dic than Nori's 2.0.3, so a few words segment differently). As
KoreanAnalyzer's defaults: compounds and inflected forms are split into their morphemes and the whole is discarded
(DecompoundMode.DISCARD; an inflected form's morphemes keep the whole form's offsets), punctuation is discarded,
morphemes whose part of speech is a default stop tag (endings, particles, affixes, adverbs, determiners, symbols...)
are removed leaving their positions empty, Hanja take their Hangul reading (KoreanReadingFormFilter), and
``predefined.py`` lower-cases.
"""
from __future__ import annotations

import functools

from weft.search.analysis.tokens import Tok

# KoreanPartOfSpeechStopFilter.DEFAULT_STOP_TAGS (E and J cover every ending and particle tag)
_STOP_PREFIXES = ("E", "J")
_STOP_TAGS = frozenset("IC MAG MAJ MM SP SSC SSO SC SE XPN XSA XSN XSV UNA NA VSV".split())
# KoreanTokenizer discards punctuation (its default discardPunctuation)
_PUNCTUATION = frozenset("SF SE SSO SSC SC SY".split())


@functools.lru_cache(maxsize=1)
def _tagger():
    try:
        import mecab
    except ImportError as e:  # a dependency of weft (pyproject.toml); a clear message if an install lacks it
        raise RuntimeError("ko.lucene needs the python-mecab-ko and python-mecab-ko-dic packages") from e
    return mecab.MeCab()


def _stopped(tag: str) -> bool:
    return tag.startswith(_STOP_PREFIXES) or tag in _STOP_TAGS


def nori(text: str) -> list[Tok]:
    """Tokens of KoreanTokenizer (DISCARD) + KoreanPartOfSpeechStopFilter + KoreanReadingFormFilter."""
    out: list[Tok] = []
    pos = -1
    for m in _tagger().parse(text):
        f = m.feature
        start, end = m.span.start, m.span.end
        tag = f.pos.split("+", 1)[0]
        if tag in _PUNCTUATION:
            continue
        if f.type in ("Compound", "Inflect") and f.expression:
            offset = start
            for part in f.expression.split("+"):
                surface, _, rest = part.partition("/")
                ptag = rest.split("/", 1)[0]
                pos += 1
                if f.type == "Compound" and text.startswith(surface, offset):
                    s, e = offset, offset + len(surface)
                    offset = e
                else:
                    s, e = start, end
                if not _stopped(ptag) and ptag not in _PUNCTUATION:
                    out.append(Tok(surface, s, e, pos))
            continue
        pos += 1
        if _stopped(tag):
            continue
        term = m.surface
        if tag == "SH" and f.reading:  # Hanja: the Hangul reading
            term = f.reading
        out.append(Tok(term, start, end, pos))
    return out
