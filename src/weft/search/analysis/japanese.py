"""Japanese morphological analysis as Lucene's JapaneseAnalyzer (Kuromoji) does it, over MeCab and IPADIC.

Kuromoji is a Viterbi search over the IPADIC dictionary (mecab-ipadic-2.7.0-20070801); MeCab with the same
dictionary (``fugashi`` + ``ipadic``, binary wheels with no system libraries) finds the same segmentation in
Kuromoji's normal mode. JapaneseAnalyzer runs the tokenizer in *search* mode, which adds a cost to long words
(all-kanji words over 2 characters: 3,000 per extra character; others over 7: 1,700) so that compounds split into
their parts (関西国際空港 -> 関西 国際 空港), and also emits the compound itself at the position of its first part.
Here each word of MeCab's best path that carries such a cost is re-segmented: the cheapest of MeCab's n best
segmentations of that word, penalties included, replaces it (``_split``).

Then, as JapaneseAnalyzer: punctuation-only tokens are discarded (no position), each token becomes its dictionary
base form (住ん -> 住む), tokens whose part of speech is in Lucene's stop tags are removed (their positions stay
empty), then CJK width folding, Lucene's Japanese stop words, the Katakana stem (a final ー goes from Katakana
words of 4 or more characters) and lower case (``predefined.py`` puts those filters in the chain).
"""
from __future__ import annotations

import functools
import unicodedata

from weft.search.analysis.stopwords import load as stopwords
from weft.search.analysis.tokens import Tok

_N_BEST = 8
# Character.getType classes Kuromoji counts as punctuation (JapaneseTokenizer.isPunctuation)
_PUNCT = frozenset("Zs Zl Zp Cc Cf Pd Ps Pe Pc Po Sm Sc Sk So Pi Pf".split())


@functools.lru_cache(maxsize=1)
def _taggers():
    try:
        import fugashi
        import ipadic
    except ImportError as e:  # a dependency of weft (pyproject.toml); a clear message if an install lacks it
        raise RuntimeError("ja.lucene needs the fugashi and ipadic packages") from e
    plain = fugashi.GenericTagger(ipadic.MECAB_ARGS)
    # for n-best re-segmentation: surface, word cost, connection cost, part of speech, per node
    costs = fugashi.GenericTagger(ipadic.MECAB_ARGS + r" --node-format=%m\\t%pw\\t%pC\\t%H\\n --eos-format=EOS\\n")
    return plain, costs


def _is_kanji(c: str) -> bool:
    return 0x4E00 <= ord(c) <= 0x9FFF  # Character.UnicodeBlock.CJK_UNIFIED_IDEOGRAPHS


def _penalty(surface: str) -> int:
    n = len(surface)
    if n > 2:
        if all(_is_kanji(c) for c in surface):
            return (n - 2) * 3000
        if n > 7:
            return (n - 7) * 1700
    return 0


@functools.lru_cache(maxsize=65536)
def _split(surface: str) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """The parts (surface, IPADIC features) search mode splits ``surface`` into, or None when it stays whole."""
    out = _taggers()[1].nbest(surface, _N_BEST)
    best, best_cost = None, None
    path, cost = [], 0
    for line in out.split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if fields[0] == "EOS":
            # (MeCab's %pC is not the EOS connection cost; the word's end connects alike in every path, so the
            # paths are compared without it)
            if best_cost is None or cost < best_cost:
                best, best_cost = path, cost
            path, cost = [], 0
            continue
        word, wcost, ccost = fields[0], int(fields[1]), int(fields[2])
        path.append((word, tuple(fields[3].split(",")) if len(fields) > 3 else ()))
        cost += wcost + ccost + _penalty(word)
    if best is None or len(best) < 2 or "".join(w for w, _ in best) != surface:
        return None
    return tuple(best)


def _pos(feature) -> str:
    return "-".join(f for f in tuple(feature)[:4] if f and f != "*")


def _base(surface: str, feature) -> str:
    f = tuple(feature)
    return f[6] if len(f) > 6 and f[6] and f[6] != "*" else surface


def _punctuation(surface: str) -> bool:
    return all(unicodedata.category(c) in _PUNCT for c in surface)


def kuromoji(text: str) -> list[Tok]:
    """Tokens of JapaneseTokenizer (search mode) + JapaneseBaseFormFilter + JapanesePartOfSpeechStopFilter."""
    stop_tags = stopwords("japanese_stoptags")
    out: list[Tok] = []
    offset, pos = 0, -1
    for node in _taggers()[0](text):
        offset += len(node.white_space)
        surface = node.surface
        start, end = offset, offset + len(surface)
        offset = end
        if not surface or _punctuation(surface):
            continue
        parts = _split(surface) if _penalty(surface) else None
        if parts is None:
            pos += 1
            if _pos(node.feature) not in stop_tags:
                out.append(Tok(_base(surface, node.feature), start, end, pos))
            continue
        # the parts, and the compound itself at the first part's position (Lucene's compound token)
        first = pos + 1
        if _pos(node.feature) not in stop_tags:
            out.append(Tok(_base(surface, node.feature), start, end, first))
        s = start
        for part, feature in parts:
            pos += 1
            if not _punctuation(part) and _pos(feature) not in stop_tags:
                out.append(Tok(_base(part, feature), s, s + len(part), pos))
            s += len(part)
    out.sort(key=lambda t: (t.pos, t.end - t.start))
    return out


def katakana_stem(toks: list[Tok]) -> list[Tok]:
    """JapaneseKatakanaStemFilter: a final ー (U+30FC) goes from all-Katakana terms of 4 or more characters."""
    for t in toks:
        w = t.term
        if len(w) >= 4 and w[-1] == "ー" and all(0x30A0 <= ord(c) <= 0x30FF for c in w):
            t.term = w[:-1]
    return toks
