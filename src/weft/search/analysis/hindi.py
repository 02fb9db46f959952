"""Hindi as Lucene's HindiAnalyzer does it: IndicNormalizer (Unicode 5.2 ch. 6 compositions for nine Indic scripts),
HindiNormalizer (Pingali & Varma's spelling normalization with Larkey et al.'s additions: virama, nukta and the
zero-width (non-)joiners removed, chandrabindu and dead NA to anusvara, long vowels to short) and HindiStemmer
(Ramanathan & Rao's light stemmer).

All three work on UTF-16 code units in Lucene; every character they touch is in the Basic Multilingual Plane, so
Python's code points give the same results. Checked word by word against Lucene 8.7
(``tests/search/analysis/data/lucene_stems.tsv``).
"""
from __future__ import annotations

import functools

# script -> (first code point of its block, its bit)
_SCRIPTS = {
    "deva": 0x0900, "beng": 0x0980, "guru": 0x0A00, "gujr": 0x0A80, "orya": 0x0B00, "taml": 0x0B80, "telu": 0x0C00,
    "knda": 0x0C80, "mlym": 0x0D00,
}
_BLOCK_OF = {}
for _script, _base in _SCRIPTS.items():
    for _cp in range(_base, _base + 0x80):
        _BLOCK_OF[chr(_cp)] = _script

# Compositions, as offsets into each script's block: first, second, optional third (-1: none, 0xFF: zero-width
# joiner), the composed character, the scripts it applies to. Order matters: the first match wins.
_COMPOSITIONS = [
    (0x05, 0x3E, 0x45, 0x11, "deva gujr"), (0x05, 0x3E, 0x46, 0x12, "deva"), (0x05, 0x3E, 0x47, 0x13, "deva gujr"),
    (0x05, 0x3E, 0x48, 0x14, "deva gujr"), (0x05, 0x3E, -1, 0x06, "deva beng guru gujr orya"),
    (0x05, 0x45, -1, 0x72, "deva"), (0x05, 0x45, -1, 0x0D, "gujr"), (0x05, 0x46, -1, 0x04, "deva"),
    (0x05, 0x47, -1, 0x0F, "gujr"), (0x05, 0x48, -1, 0x10, "guru gujr"), (0x05, 0x49, -1, 0x11, "deva gujr"),
    (0x05, 0x4A, -1, 0x12, "deva"), (0x05, 0x4B, -1, 0x13, "deva gujr"), (0x05, 0x4C, -1, 0x14, "deva guru gujr"),
    (0x06, 0x45, -1, 0x11, "deva gujr"), (0x06, 0x46, -1, 0x12, "deva"), (0x06, 0x47, -1, 0x13, "deva gujr"),
    (0x06, 0x48, -1, 0x14, "deva gujr"), (0x07, 0x57, -1, 0x08, "mlym"), (0x09, 0x41, -1, 0x0A, "deva"),
    (0x09, 0x57, -1, 0x0A, "taml mlym"), (0x0E, 0x46, -1, 0x10, "mlym"), (0x0F, 0x45, -1, 0x0D, "deva"),
    (0x0F, 0x46, -1, 0x0E, "deva"), (0x0F, 0x47, -1, 0x10, "deva"), (0x0F, 0x57, -1, 0x10, "orya"),
    (0x12, 0x3E, -1, 0x13, "mlym"), (0x12, 0x4C, -1, 0x14, "telu knda"), (0x12, 0x55, -1, 0x13, "telu"),
    (0x12, 0x57, -1, 0x14, "taml mlym"), (0x13, 0x57, -1, 0x14, "orya"), (0x15, 0x3C, -1, 0x58, "deva"),
    (0x16, 0x3C, -1, 0x59, "deva guru"), (0x17, 0x3C, -1, 0x5A, "deva guru"), (0x1C, 0x3C, -1, 0x5B, "deva guru"),
    (0x21, 0x3C, -1, 0x5C, "deva beng orya"), (0x22, 0x3C, -1, 0x5D, "deva beng orya"),
    (0x23, 0x4D, 0xFF, 0x7A, "mlym"), (0x24, 0x4D, 0xFF, 0x4E, "beng"), (0x28, 0x3C, -1, 0x29, "deva"),
    (0x28, 0x4D, 0xFF, 0x7B, "mlym"), (0x2B, 0x3C, -1, 0x5E, "deva guru"), (0x2F, 0x3C, -1, 0x5F, "deva beng"),
    (0x2C, 0x41, 0x41, 0x0B, "telu"), (0x30, 0x3C, -1, 0x31, "deva"), (0x30, 0x4D, 0xFF, 0x7C, "mlym"),
    (0x32, 0x4D, 0xFF, 0x7D, "mlym"), (0x33, 0x3C, -1, 0x34, "deva"), (0x33, 0x4D, 0xFF, 0x7E, "mlym"),
    (0x35, 0x41, -1, 0x2E, "telu"), (0x3E, 0x45, -1, 0x49, "deva gujr"), (0x3E, 0x46, -1, 0x4A, "deva"),
    (0x3E, 0x47, -1, 0x4B, "deva gujr"), (0x3E, 0x48, -1, 0x4C, "deva gujr"), (0x3F, 0x55, -1, 0x40, "knda"),
    (0x41, 0x41, -1, 0x42, "guru"), (0x46, 0x3E, -1, 0x4A, "taml mlym"), (0x46, 0x42, 0x55, 0x4B, "knda"),
    (0x46, 0x42, -1, 0x4A, "knda"), (0x46, 0x46, -1, 0x48, "mlym"), (0x46, 0x55, -1, 0x47, "telu knda"),
    (0x46, 0x56, -1, 0x48, "telu knda"), (0x46, 0x57, -1, 0x4C, "taml mlym"),
    (0x47, 0x3E, -1, 0x4B, "beng orya taml mlym"), (0x47, 0x57, -1, 0x4C, "beng orya"),
    (0x4A, 0x55, -1, 0x4B, "knda"), (0x72, 0x3F, -1, 0x07, "guru"), (0x72, 0x40, -1, 0x08, "guru"),
    (0x72, 0x47, -1, 0x0F, "guru"), (0x73, 0x41, -1, 0x09, "guru"), (0x73, 0x42, -1, 0x0A, "guru"),
    (0x73, 0x4B, -1, 0x13, "guru"),
]
# script -> first offset -> its compositions in table order
_BY_SCRIPT: dict[str, dict[int, list[tuple[int, int, int]]]] = {s: {} for s in _SCRIPTS}
for _a, _b, _c, _res, _scripts in _COMPOSITIONS:
    for _script in _scripts.split():
        _BY_SCRIPT[_script].setdefault(_a, []).append((_b, _c, _res))
_INDIC_CHARS = frozenset(_BLOCK_OF)
_ZWJ = "\u200d"


@functools.lru_cache(maxsize=65536)
def indic_normalize(term: str) -> str:
    """Lucene's IndicNormalizationFilter on one term."""
    if term.isascii() or not any(c in _INDIC_CHARS for c in term):
        return term
    s = list(term)
    i = 0
    while i < len(s):
        script = _BLOCK_OF.get(s[i])
        if script is not None:
            base = _SCRIPTS[script]
            rules = _BY_SCRIPT[script].get(ord(s[i]) - base)
            if rules and i + 1 < len(s) and _BLOCK_OF.get(s[i + 1]) == script:
                second = ord(s[i + 1]) - base
                third = -1
                if i + 2 < len(s):
                    if s[i + 2] == _ZWJ:
                        third = 0xFF
                    elif _BLOCK_OF.get(s[i + 2]) == script:
                        third = ord(s[i + 2]) - base
                for b, c, res in rules:
                    if b == second and (c < 0 or c == third):
                        s[i] = chr(base + res)
                        del s[i + 1:i + (3 if c >= 0 else 2)]
                        break
        i += 1
    return "".join(s)


# HindiNormalizer: one character -> its replacement ("" deletes it)
_HINDI_MAP = {
    "\u0901": "\u0902",  # chandrabindu -> anusvara
    "\u093c": "",  # nukta
    "\u0929": "\u0928", "\u0931": "\u0930", "\u0934": "\u0933", "\u0958": "\u0915", "\u0959": "\u0916",
    "\u095a": "\u0917", "\u095b": "\u091c", "\u095c": "\u0921", "\u095d": "\u0922", "\u095e": "\u092b",
    "\u095f": "\u092f",  # nukta forms -> the plain consonant
    "\u200d": "", "\u200c": "",  # zero-width joiner, non-joiner
    "\u094d": "",  # virama
    "\u0945": "\u0947", "\u0946": "\u0947", "\u0949": "\u094b", "\u094a": "\u094b", "\u090d": "\u090f",
    "\u090e": "\u090f", "\u0911": "\u0913", "\u0912": "\u0913", "\u0972": "\u0905",  # chandra / short vowels
    "\u0906": "\u0905", "\u0908": "\u0907", "\u090a": "\u0909", "\u0960": "\u090b", "\u0961": "\u090c",
    "\u0910": "\u090f", "\u0914": "\u0913",  # long -> short independent vowels
    "\u0940": "\u093f", "\u0942": "\u0941", "\u0944": "\u0943", "\u0963": "\u0962", "\u0948": "\u0947",
    "\u094c": "\u094b",  # long -> short dependent vowels
}


@functools.lru_cache(maxsize=65536)
def hindi_normalize(term: str) -> str:
    """Lucene's HindiNormalizationFilter on one term (NA + virama becomes anusvara before viramas go)."""
    if term.isascii():
        return term
    out: list[str] = []
    s = term
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\u0928" and i + 1 < n and s[i + 1] == "\u094d":
            out.append("\u0902")
            i += 2
            continue
        out.append(_HINDI_MAP.get(c, c))
        i += 1
    return "".join(out)


def normalize(term: str) -> str:
    """IndicNormalizationFilter then HindiNormalizationFilter, as in HindiAnalyzer."""
    return hindi_normalize(indic_normalize(term))


# HindiStemmer: (minimum length exclusive, suffixes); the first group with a match cuts its suffix length
_STEM_GROUPS = [
    (6, "ाएंगी ाएंगे ाऊंगी ाऊंगा ाइयाँ ाइयों ाइयां"),
    (5, "ाएगी ाएगा ाओगी ाओगे एंगी ेंगी एंगे ेंगे ूंगी ूंगा ातीं नाओं नाएं ताओं ताएं ियाँ ियों ियां"),
    (4, "ाकर ाइए ाईं ाया ेगी ेगा ोगी ोगे ाने ाना ाते ाती ाता तीं ाओं ाएं ुओं ुएं ुआं"),
    (3, "कर ाओ िए ाई ाए ने नी ना ते ीं ती ता ाँ ां ों ें"),
    (2, "ो े ू ु ी ि ा"),
]
_STEM_TABLE = [(limit, tuple(suffixes.split())) for limit, suffixes in _STEM_GROUPS]


@functools.lru_cache(maxsize=65536)
def stem(term: str) -> str:
    """Lucene's HindiStemmer (Ramanathan & Rao's light stemmer) on one normalized term."""
    n = len(term)
    for limit, suffixes in _STEM_TABLE:
        if n > limit and term.endswith(suffixes):
            return term[:n - len(suffixes[0])]
    return term


def normalize_and_stem(term: str) -> str:
    return stem(normalize(term))
