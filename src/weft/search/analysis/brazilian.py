"""Lucene's Brazilian Portuguese stemmer (BrazilianStemFilter, ``pt-BR.lucene`` and the ``brazilian`` stemmer
language): a Snowball-like suffix stripper with its own regions and steps.

What it does, in Lucene's order: the term is lower-cased, its accents folded (á â ã -> a, é ê -> e, í -> i,
ó ô õ -> o, ú ü -> u, ç -> c, ñ -> n) and one leading and one trailing punctuation mark dropped; terms of fewer
than 3 or more than 29 characters are left alone, terms with a non-letter keep only that folding. Then the
regions R1, R2 and RV are computed once on that folded term and are not recomputed after a step changes it
(Lucene's behaviour, which decides several outcomes); step 1 (standard suffixes, in R2/R1/RV), else step 2 (verb
suffixes in RV); step 3 (``i`` after ``c``) if one of them changed the term, else step 4 (residual ``os a i o``);
step 5 (final ``e``, and the ``u``/``i`` of ``gue``/``cie``). Two of Lucene's rules report a change without making
one (``-logias`` in step 1, ``-ira`` in step 2's third group); that is kept, since it decides between steps 3 and 4.
Checked word by word against Lucene 8.7 (``tests/search/analysis/data/lucene_stems.tsv``).
"""
from __future__ import annotations

import functools

_FOLD = str.maketrans({"á": "a", "â": "a", "ã": "a", "é": "e", "ê": "e", "í": "i", "ó": "o", "ô": "o", "õ": "o",
                       "ú": "u", "ü": "u", "ç": "c", "ñ": "n"})
_LEAD = frozenset("\"'-,;.?!")
_VOWELS = frozenset("aeiou")
_NO_CHANGE = object()

# step 1: (suffix, region it must lie in, replacement); the first that matches applies. "RV+e": in RV and
# preceded by "e". _NO_CHANGE: Lucene reports the rule as applied but leaves the term as it was.
_STEP1 = [
    ("uciones", "R2", "u"), ("imentos", "R2", ""), ("amentos", "R2", ""), ("adores", "R2", ""), ("adoras", "R2", ""),
    ("logias", "R2", _NO_CHANGE), ("encias", "R2", "ente"), ("amente", "R1", ""), ("idades", "R2", ""),
    ("acoes", "R2", ""), ("imento", "R2", ""), ("amento", "R2", ""), ("adora", "R2", ""), ("ismos", "R2", ""),
    ("istas", "R2", ""), ("logia", "R2", "log"), ("ucion", "R2", "u"), ("encia", "R2", "ente"), ("mente", "R2", ""),
    ("idade", "R2", ""), ("acao", "R2", ""), ("ezas", "R2", ""), ("icos", "R2", ""), ("icas", "R2", ""),
    ("ismo", "R2", ""), ("avel", "R2", ""), ("ivel", "R2", ""), ("ista", "R2", ""), ("osos", "R2", ""),
    ("osas", "R2", ""), ("ador", "R2", ""), ("ivas", "R2", ""), ("ivos", "R2", ""), ("iras", "RV+e", "ir"),
    ("eza", "R2", ""), ("ico", "R2", ""), ("ica", "R2", ""), ("oso", "R2", ""), ("osa", "R2", ""), ("iva", "R2", ""),
    ("ivo", "R2", ""), ("ira", "RV+e", "ir"),
]
# step 2: verb endings in RV, in Lucene's order; the first found is removed ("ira" in the 3-letter group: no change)
_STEP2 = (
    "issemos essemos assemos ariamos eriamos iriamos "
    "iremos eremos aremos avamos iramos eramos aramos asseis esseis isseis arieis erieis irieis "
    "irmos iamos armos ermos areis ereis ireis asses esses isses astes assem essem issem ardes erdes irdes ariam "
    "eriam iriam arias erias irias estes istes aveis "
    "aria eria iria asse esse isse aste este iste arei erei irei aram eram iram avam arem erem irem ando endo indo "
    "arao erao irao adas idas aras eras iras avas ares eres ires ados idos amos emos imos ieis "
    "ada ida ara era ira! iam ado ido ias ais eis ear "
    "ia ei am em ar er ir as es is eu iu ou"
).split()


def _r1(v: str | None) -> str | None:
    """The region after the first non-vowel that follows a vowel (None if there is none before the last letter)."""
    if v is None:
        return None
    last = len(v) - 1
    j = 0
    while j < last and v[j] not in _VOWELS:
        j += 1
    if j >= last:
        return None
    while j < last and v[j] in _VOWELS:
        j += 1
    if j >= last:
        return None
    return v[j + 1:]


def _rv(v: str) -> str | None:
    last = len(v) - 1
    if last > 0 and v[1] not in _VOWELS:
        j = 2
        while j < last and v[j] not in _VOWELS:
            j += 1
        if j < last:
            return v[j + 1:]
    if last > 1 and v[0] in _VOWELS and v[1] in _VOWELS:
        j = 2
        while j < last and v[j] in _VOWELS:
            j += 1
        if j < last:
            return v[j + 1:]
    if last > 2:
        return v[3:]
    return None


def _ends(region: str | None, suffix: str) -> bool:
    return region is not None and region.endswith(suffix)


def _drop(term: str, suffix: str) -> str:
    return term[:-len(suffix)] if suffix and term.endswith(suffix) else term


def _folded(term: str) -> str:
    ct = term.lower().translate(_FOLD)
    if len(ct) < 2:
        return ct
    if ct[0] in _LEAD:
        ct = ct[1:]
    if len(ct) < 2:
        return ct
    if ct[-1] in _LEAD:
        ct = ct[:-1]
    return ct


def _step1(ct: str, regions: dict[str, str | None]) -> tuple[str, bool]:
    for suffix, where, replacement in _STEP1:
        if not ct.endswith(suffix):
            continue
        if where == "RV+e":
            ok = _ends(regions["RV"], suffix) and ct[:-len(suffix)].endswith("e")
        else:
            ok = _ends(regions[where], suffix)
        if ok:
            if replacement is _NO_CHANGE:
                return ct, True
            return ct[:-len(suffix)] + replacement, True
    return ct, False


def _step2(ct: str, rv: str | None) -> tuple[str, bool]:
    if rv is None:
        return ct, False
    for suffix in _STEP2:
        if suffix.endswith("!"):
            if rv.endswith(suffix[:-1]):
                return ct, True
        elif rv.endswith(suffix):
            return _drop(ct, suffix), True
    return ct, False


@functools.lru_cache(maxsize=65536)
def stem(term: str) -> str:
    """BrazilianStemFilter on one term: its stem, or the term itself when Lucene leaves it unchanged."""
    ct = _folded(term)
    if not 2 < len(ct) < 30:
        return term
    if not ct.isalpha():
        return ct
    r1 = _r1(ct)
    regions = {"R1": r1, "R2": _r1(r1), "RV": _rv(ct)}
    rv = regions["RV"]
    ct, altered = _step1(ct, regions)
    if not altered:
        ct, altered = _step2(ct, rv)
    if rv is not None:
        if altered:
            if rv.endswith("ci"):
                ct = _drop(ct, "i")
        else:
            for suffix in ("os", "a", "i", "o"):
                if rv.endswith(suffix):
                    ct = _drop(ct, suffix)
                    break
        if rv.endswith("e"):
            ct = _drop(ct, "e")
            if rv.endswith("gue"):
                ct = _drop(ct, "u")
            elif rv.endswith("cie"):
                ct = _drop(ct, "i")
    return ct
