"""Language-specific normalizers and the light stemmers Lucene's language analyzers use.

Written from the descriptions of the algorithms (J. Savoy's light stemmers for French, German, Spanish and
Italian; Lucene's Arabic, Persian and German normalization rules), not from their code.
"""
from __future__ import annotations

import functools

_FR_NORM = str.maketrans({"à": "a", "á": "a", "â": "a", "ô": "o", "è": "e", "é": "e", "ê": "e", "ù": "u", "û": "u", "î": "i", "ç": "c"})


def _fr_norm(s: str) -> str:
    if len(s) > 4:
        s = s.translate(_FR_NORM)
        out = [s[0]]
        for ch in s[1:]:
            if ch == out[-1] and ch.isalpha():
                continue  # collapse doubled letters
            out.append(ch)
        s = "".join(out)
    if len(s) > 4 and s.endswith("ie"):
        s = s[:-2]
    if len(s) > 4:
        if s[-1] == "r":
            s = s[:-1]
        if s[-1] == "e":
            s = s[:-1]
        if s[-1] == "e":
            s = s[:-1]
        if len(s) > 1 and s[-1] == s[-2] and s[-1].isalpha():
            s = s[:-1]
    return s


@functools.lru_cache(maxsize=50000)
def french_light(s: str) -> str:
    """Savoy's light French stemmer (as Lucene's FrenchLightStemFilter applies it)."""
    n = len(s)
    if n > 5 and s[-1] == "x":
        if s[-3] == "a" and s[-2] == "u" and s[-4] != "e":
            s = s[:-2] + "l" + s[-1]
        s = s[:-1]
    if len(s) > 3 and s[-1] == "x":
        s = s[:-1]
    if len(s) > 3 and s[-1] == "s":
        s = s[:-1]
    n = len(s)
    if n > 9 and s.endswith("issement"):
        return _fr_norm(s[:-6][:-1] + "r")
    if n > 8 and s.endswith("issant"):
        return _fr_norm(s[:-4][:-1] + "r")
    if n > 6 and s.endswith("ement"):
        s = s[:-4]
        if len(s) > 3 and s.endswith("ive"):
            s = s[:-2] + "f"
        return _fr_norm(s)
    if n > 11 and s.endswith("ficatrice"):
        return _fr_norm(s[:-5][:-2] + "er")
    if n > 10 and s.endswith("ficateur"):
        return _fr_norm(s[:-4][:-2] + "er")
    if n > 9 and s.endswith("catrice"):
        return _fr_norm(s[:-7] + "quer")
    if n > 8 and s.endswith("cateur"):
        return _fr_norm(s[:-6] + "quer")
    if n > 8 and s.endswith("atrice"):
        return _fr_norm(s[:-4][:-2] + "er")
    if n > 7 and s.endswith("ateur"):
        return _fr_norm(s[:-3][:-2] + "er")
    if n > 6 and s.endswith("trice"):
        s = s[:-5] + "teur"
        n = len(s)
    if n > 5 and s.endswith("ième"):
        return _fr_norm(s[:-4])
    if n > 7 and s.endswith("teuse"):
        return _fr_norm(s[:-2][:-1] + "r")
    if n > 6 and s.endswith("teur"):
        return _fr_norm(s[:-1][:-1] + "r")
    if n > 5 and s.endswith("euse"):
        return _fr_norm(s[:-2])
    if n > 8 and s.endswith("ère"):
        return _fr_norm(s[:-3] + "er")
    if n > 7 and s.endswith("ive"):
        return _fr_norm(s[:-2] + "f")
    if n > 4 and (s.endswith("folle") or s.endswith("molle")):
        return _fr_norm(s[:-3] + "u")
    if n > 9 and s.endswith("nnelle"):
        return _fr_norm(s[:-5])
    if n > 9 and s.endswith("nnel"):
        return _fr_norm(s[:-3])
    if n > 4 and s.endswith("ète"):
        s = s[:-3] + "et"
        n = len(s)
    if n > 8 and s.endswith("ique"):
        s = s[:-4]
        n = len(s)
    if n > 8 and s.endswith("esse"):
        return _fr_norm(s[:-3])
    if n > 7 and s.endswith("inage"):
        return _fr_norm(s[:-3])
    if n > 9 and s.endswith("isation"):
        s = s[:-7]
        if len(s) > 5 and s.endswith("ual"):
            s = s[:-2] + "e" + s[-1]
        return _fr_norm(s)
    if n > 9 and s.endswith("isateur"):
        return _fr_norm(s[:-7])
    if n > 8 and s.endswith("ation"):
        return _fr_norm(s[:-5])
    if n > 8 and s.endswith("ition"):
        return _fr_norm(s[:-5])
    return _fr_norm(s)


_DE_UMLAUT = str.maketrans({"ä": "a", "à": "a", "á": "a", "â": "a", "ö": "o", "ò": "o", "ó": "o", "ô": "o",
                            "ï": "i", "ì": "i", "í": "i", "î": "i", "ü": "u", "ù": "u", "ú": "u", "û": "u"})
_ST_ENDING = frozenset("bdfghklmnt")


@functools.lru_cache(maxsize=50000)
def german_light(s: str) -> str:
    """Savoy's light German stemmer (Lucene's GermanLightStemFilter)."""
    s = s.translate(_DE_UMLAUT)
    n = len(s)
    if n > 5 and s.endswith("ern"):
        s = s[:-3]
    elif n > 4 and s[-2] == "e" and s[-1] in "mnrs":
        s = s[:-2]
    elif n > 3 and s[-1] == "e":
        s = s[:-1]
    elif n > 3 and s[-1] == "s" and s[-2] in _ST_ENDING:
        s = s[:-1]
    n = len(s)
    if n > 5 and s.endswith("est"):
        s = s[:-3]
    elif n > 4 and s[-2] == "e" and s[-1] in "rn":
        s = s[:-2]
    elif n > 4 and s.endswith("st") and s[-3] in _ST_ENDING:
        s = s[:-2]
    return s


def german_normalize(s: str) -> str:
    """Lucene's GermanNormalizationFilter: umlauts folded, ß to ss, and 'ae', 'oe', 'ue' to a, o, u (not after a
    vowel pair such as 'aue', nor 'que')."""
    if s.isascii() and "e" not in s:
        return s
    N, V, U = 0, 1, 2
    state = N
    out = []
    for ch in s:
        if ch in "ao":
            state = U
        elif ch == "u":
            state = U if state == N else V
        elif ch == "e":
            if state == U:
                state = V
                continue
            state = V
        elif ch in "iqy":
            state = V
        elif ch in "äöü":
            ch = {"ä": "a", "ö": "o", "ü": "u"}[ch]
            state = V
        elif ch == "ß":
            out.append("ss")
            state = N
            continue
        else:
            state = N
        out.append(ch)
    return "".join(out)


_ES_NORM = str.maketrans({"à": "a", "á": "a", "â": "a", "ä": "a", "ò": "o", "ó": "o", "ô": "o", "ö": "o",
                          "è": "e", "é": "e", "ê": "e", "ë": "e", "ù": "u", "ú": "u", "û": "u", "ü": "u",
                          "ì": "i", "í": "i", "î": "i", "ï": "i"})


@functools.lru_cache(maxsize=50000)
def spanish_light(s: str) -> str:
    """Savoy's light Spanish stemmer (Lucene's SpanishLightStemFilter)."""
    if len(s) < 5:
        return s
    s = s.translate(_ES_NORM)
    last = s[-1]
    if last in "oae":
        return s[:-1]
    if last == "s":
        if s.endswith("eses"):
            return s[:-2]
        if s.endswith("ces"):
            return s[:-3] + "z"
        if s[-2] in "oae":
            return s[:-2]
    return s


@functools.lru_cache(maxsize=50000)
def italian_light(s: str) -> str:
    """Savoy's light Italian stemmer (Lucene's ItalianLightStemFilter)."""
    if len(s) < 6:
        return s
    s = s.translate(_ES_NORM)
    last, prev = s[-1], s[-2]
    if last == "e":
        return s[:-2] if prev in "ih" else s[:-1]
    if last == "i":
        return s[:-2] if prev in "hi" else s[:-1]
    if last in "ao":
        return s[:-2] if prev == "i" else s[:-1]
    return s


# ---- Arabic and Persian ---------------------------------------------------------------------------
_AR_DIACRITICS = {c: None for c in range(0x064B, 0x0653)}
_AR_DIACRITICS[0x0640] = None  # tatweel
_AR_NORM = {0x0623: 0x0627, 0x0625: 0x0627, 0x0622: 0x0627, 0x0629: 0x0647, 0x0649: 0x064A, **_AR_DIACRITICS}


def arabic_normalize(s: str) -> str:
    """Lucene's ArabicNormalizationFilter: alef forms to bare alef, teh marbuta to heh, alef maksura to yeh,
    tatweel and harakat removed."""
    return s.translate(_AR_NORM)


_AR_PREFIXES = ("ال", "وال", "بال", "كال", "فال", "لل", "و")
_AR_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")


@functools.lru_cache(maxsize=50000)
def arabic_light(s: str) -> str:
    """Lucene's light Arabic stemmer (Larkey et al.): one prefix, then each suffix in turn, keeping two letters."""
    for p in _AR_PREFIXES:
        if len(p) == 1 and len(s) < 4:
            continue
        if len(s) >= len(p) + 2 and s.startswith(p):
            s = s[len(p):]
            break
    for suf in _AR_SUFFIXES:
        if len(s) >= len(suf) + 2 and s.endswith(suf):
            s = s[: -len(suf)]
    return s


_FA_NORM = {0x06CC: 0x064A, 0x06D2: 0x064A, 0x06A9: 0x0643, 0x06C0: 0x0647, 0x06C1: 0x0647, 0x0654: None}


def persian_normalize(s: str) -> str:
    """Lucene's PersianNormalizationFilter: Farsi yeh and yeh barree to yeh, keheh to kaf, heh forms to heh,
    hamza above removed."""
    return s.translate(_FA_NORM)


# ---- Greek, Irish, Turkish, Scandinavian ------------------------------------------------------------
_IRISH_VOWELS_UPPER = set("AEIOUÁÉÍÓÚ")


def irish_lower(s: str) -> str:
    """Lucene's IrishLowerCaseFilter: ``nAthair`` -> ``n-athair``, ``tUisce`` -> ``t-uisce``, else lower case."""
    if len(s) > 1 and s[0] in "nt" and s[1] in _IRISH_VOWELS_UPPER:
        return s[0] + "-" + s[1:].lower()
    return s.lower()


def turkish_lower(s: str) -> str:
    """Lucene's TurkishLowerCaseFilter: I -> ı, İ -> i (and I + combining dot -> i), then lower case."""
    s = s.replace("I\u0307", "i").replace("İ", "i").replace("I", "ı")
    return s.lower()


_SCAND_NORM = str.maketrans({"æ": "ä", "Æ": "Ä", "ø": "ö", "Ø": "Ö"})


def scandinavian_normalize(s: str) -> str:
    """Lucene's ScandinavianNormalizationFilter: æ/ä, ø/ö interchangeable (to ä, ö); aa, ao to å; ae to ä;
    oe, oo to ö."""
    s = s.translate(_SCAND_NORM)
    for a, b in (("aa", "å"), ("ao", "å"), ("ae", "ä"), ("oe", "ö"), ("oo", "ö"), ("AA", "Å"), ("AO", "Å"), ("AE", "Ä"), ("OE", "Ö"), ("OO", "Ö")):
        s = s.replace(a, b)
    return s


_SCAND_FOLD = str.maketrans({"å": "a", "Å": "A", "ä": "a", "æ": "a", "Ä": "A", "Æ": "A", "ö": "o", "Ö": "O", "ø": "o", "Ø": "O"})


def scandinavian_fold(s: str) -> str:
    """Lucene's ScandinavianFoldingFilter: åäæ to a, öø to o; aa ae ao oe oo collapsed."""
    s = s.translate(_SCAND_FOLD)
    for a, b in (("aa", "a"), ("ae", "a"), ("ao", "a"), ("oe", "o"), ("oo", "o")):
        s = s.replace(a, b)
    return s
