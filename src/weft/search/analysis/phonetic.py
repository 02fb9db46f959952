"""Phonetic encoders for Azure's PhoneticTokenFilter (Lucene's PhoneticFilter over Apache commons-codec's
encoders), written from the published algorithms and checked code by code against commons-codec 1.15
(tests/search/analysis/data/phonetic_codes.tsv):

* Soundex (the American census rules: H and W do not separate equal codes), Refined Soundex;
* Metaphone (L. Philips, 1990; commons-codec's reading of it, codes of at most 4 characters);
* Caverphone 1.0 and 2.0 (D. Hood, Caversham Project, 2002 and 2004);
* Cologne phonetics (Kölner Phonetik, H. J. Postel, 1969).

NYSIIS and Elasticsearch's ``koelnerPhonetik`` / ``haasePhonetik`` are in ``phonetic_extra``, Double Metaphone (with
Lucene's DoubleMetaphoneFilter) in ``double_metaphone``. Beider-Morse is not implemented (a 400 names it).
"""
from __future__ import annotations

import functools
import re

from weft.search.analysis import double_metaphone, phonetic_extra
from weft.search.analysis.tokens import Tok, TokenFilter


class NotEncodable(ValueError):
    """The encoder cannot encode this term (commons-codec throws; Lucene then keeps the term)."""


# ---- Soundex ----------------------------------------------------------------------------------------------
_SOUNDEX = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "01230120022455012623010202"))
_SOUNDEX.update({"H": "-", "W": "-"})


def _letters_upper(term: str) -> str:
    return "".join(ch for ch in term if ch.isalpha()).upper()


def soundex(term: str) -> str:
    s = _letters_upper(term)
    if not s:
        return s
    codes = []
    for ch in s:
        if ch not in _SOUNDEX:
            raise NotEncodable(ch)
        codes.append(_SOUNDEX[ch])
    out = [s[0]]
    last = codes[0]
    for code in codes[1:]:
        if code == "-":
            continue
        if code != "0" and code != last:
            out.append(code)
            if len(out) == 4:
                break
        last = code
    return "".join(out).ljust(4, "0")


_REFINED = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "01360240043788015936020505"))


def refined_soundex(term: str) -> str:
    s = _letters_upper(term)
    if not s:
        return s
    out = [s[0]]
    last = None
    for ch in s:
        code = _REFINED.get(ch)
        if code is None:
            raise NotEncodable(ch)
        if code != last:
            out.append(code)
        last = code
    return "".join(out)


# ---- Metaphone --------------------------------------------------------------------------------------------
_FRONT_VOWELS = "EIY"
_VOWELS = "AEIOU"
_VARSON = "CSPTG"


def metaphone(term: str, max_len: int = 4) -> str:
    if not term:
        return ""
    if len(term) == 1:
        return term.upper()
    w = term.upper()
    first, second = w[0], w[1]
    if first in "KGP" and second == "N":
        w = w[1:]
    elif first == "A" and second == "E":
        w = w[1:]
    elif first == "W" and second == "R":
        w = w[1:]
    elif first == "W" and second == "H":
        w = "W" + w[2:]
    elif first == "X":
        w = "S" + w[1:]
    n_chars = len(w)

    def at(i: int) -> str:
        return w[i] if 0 <= i < n_chars else ""

    def vowel(i: int) -> bool:
        return at(i) != "" and at(i) in _VOWELS

    def region(i: int, s: str) -> bool:
        return w.startswith(s, i)

    code: list[str] = []
    n = 0
    while len(code) < max_len and n < n_chars:
        c = w[n]
        last = n + 1 == n_chars
        if c != "C" and n > 0 and w[n - 1] == c:
            n += 1
            continue
        nxt = at(n + 1)
        if c in _VOWELS:
            if n == 0:
                code.append(c)
        elif c == "B":
            if not (n > 0 and w[n - 1] == "M" and last):
                code.append("B")
        elif c == "C":
            if n > 0 and w[n - 1] == "S" and not last and nxt in _FRONT_VOWELS:
                pass
            elif region(n, "CIA"):
                code.append("X")
            elif not last and nxt in _FRONT_VOWELS:
                code.append("S")
            elif n > 0 and w[n - 1] == "S" and nxt == "H":
                code.append("K")
            elif nxt == "H":
                code.append("K" if n == 0 and n_chars >= 3 and vowel(2) else "X")
            else:
                code.append("K")
        elif c == "D":
            if n + 2 < n_chars and nxt == "G" and w[n + 2] in _FRONT_VOWELS:
                code.append("J")
                n += 2
            else:
                code.append("T")
        elif c == "G":
            if n + 2 == n_chars and nxt == "H":
                pass
            elif n + 2 < n_chars and nxt == "H" and not vowel(n + 2):
                pass
            elif n > 0 and (region(n, "GN") or region(n, "GNED")):
                pass
            else:
                hard = n > 0 and w[n - 1] == "G"
                code.append("J" if not last and nxt in _FRONT_VOWELS and not hard else "K")
        elif c == "H":
            if not last and not (n > 0 and w[n - 1] in _VARSON) and vowel(n + 1):
                code.append("H")
        elif c in "FJLMNR":
            code.append(c)
        elif c == "K":
            if not (n > 0 and w[n - 1] == "C"):
                code.append("K")
        elif c == "P":
            code.append("F" if nxt == "H" else "P")
        elif c == "Q":
            code.append("K")
        elif c == "S":
            code.append("X" if region(n, "SH") or region(n, "SIO") or region(n, "SIA") else "S")
        elif c == "T":
            if region(n, "TIA") or region(n, "TIO"):
                code.append("X")
            elif region(n, "TCH"):
                pass
            elif region(n, "TH"):
                code.append("0")
            else:
                code.append("T")
        elif c == "V":
            code.append("F")
        elif c in "WY":
            if not last and vowel(n + 1):
                code.append(c)
        elif c == "X":
            code.append("K")
            code.append("S")
        elif c == "Z":
            code.append("S")
        n += 1
    return "".join(code[:max_len])


# ---- Caverphone -------------------------------------------------------------------------------------------
def _caverphone_common_start(s: str) -> str:
    s = re.sub(r"[^a-z]", "", s.lower())
    return s


def caverphone2(term: str) -> str:
    s = _caverphone_common_start(term)
    s = re.sub(r"e$", "", s)
    for a, b in (("^cough", "cou2f"), ("^rough", "rou2f"), ("^tough", "tou2f"), ("^enough", "enou2f"),
                 ("^trough", "trou2f"), ("^gn", "2n"), ("mb$", "m2")):
        s = re.sub(a, b, s)
    for a, b in (("cq", "2q"), ("ci", "si"), ("ce", "se"), ("cy", "sy"), ("tch", "2ch"), ("c", "k"), ("q", "k"),
                 ("x", "k"), ("v", "f"), ("dg", "2g"), ("tio", "sio"), ("tia", "sia"), ("d", "t"), ("ph", "fh"),
                 ("b", "p"), ("sh", "s2"), ("z", "s")):
        s = s.replace(a, b)
    s = re.sub(r"^[aeiou]", "A", s)
    s = re.sub(r"[aeiou]", "3", s)
    s = s.replace("j", "y")
    s = re.sub(r"^y3", "Y3", s)
    s = re.sub(r"^y", "A", s)
    s = s.replace("y", "3")
    for a, b in (("3gh3", "3kh3"), ("gh", "22"), ("g", "k")):
        s = s.replace(a, b)
    for ch in "stpkfmn":
        s = re.sub(ch + "+", ch.upper(), s)
    s = s.replace("w3", "W3").replace("wh3", "Wh3")
    s = re.sub(r"w$", "3", s)
    s = s.replace("w", "2")
    s = re.sub(r"^h", "A", s)
    s = s.replace("h", "2")
    s = s.replace("r3", "R3")
    s = re.sub(r"r$", "3", s)
    s = s.replace("r", "2")
    s = s.replace("l3", "L3")
    s = re.sub(r"l$", "3", s)
    s = s.replace("l", "2")
    s = s.replace("2", "")
    s = re.sub(r"3$", "A", s)
    s = s.replace("3", "")
    return (s + "1111111111")[:10]


def caverphone1(term: str) -> str:
    s = _caverphone_common_start(term)
    for a, b in (("^cough", "cou2f"), ("^rough", "rou2f"), ("^tough", "tou2f"), ("^enough", "enou2f"),
                 ("^gn", "2n"), ("mb$", "m2")):
        s = re.sub(a, b, s)
    for a, b in (("cq", "2q"), ("ci", "si"), ("ce", "se"), ("cy", "sy"), ("tch", "2ch"), ("c", "k"), ("q", "k"),
                 ("x", "k"), ("v", "f"), ("dg", "2g"), ("tio", "sio"), ("tia", "sia"), ("d", "t"), ("ph", "fh"),
                 ("b", "p"), ("sh", "s2"), ("z", "s")):
        s = s.replace(a, b)
    s = re.sub(r"^[aeiou]", "A", s)
    s = re.sub(r"[aeiou]", "3", s)
    s = s.replace("3gh3", "3kh3").replace("gh", "22").replace("g", "k")
    for ch in "stpkfmn":
        s = re.sub(ch + "+", ch.upper(), s)
    s = s.replace("w3", "W3").replace("wy", "Wy").replace("wh3", "Wh3").replace("why", "Why")
    s = s.replace("w", "2")
    s = re.sub(r"^h", "A", s)
    s = s.replace("h", "2")
    s = s.replace("r3", "R3").replace("ry", "Ry").replace("r", "2")
    s = s.replace("l3", "L3").replace("ly", "Ly").replace("l", "2")
    s = s.replace("j", "y").replace("y3", "Y3").replace("y", "2")
    s = s.replace("2", "").replace("3", "")
    return (s + "111111")[:6]


# ---- Cologne ----------------------------------------------------------------------------------------------
_COLOGNE_UMLAUTS = str.maketrans({"Ä": "A", "Ü": "U", "Ö": "O"})


def cologne(term: str) -> str:
    if term is None:
        return ""
    s = term.upper().translate(_COLOGNE_UMLAUTS).replace("ß", "S")
    chars = [ch for ch in s if "A" <= ch <= "Z"]
    out: list[str] = []
    last = "/"
    prev = "-"
    for i, ch in enumerate(chars):
        nxt = chars[i + 1] if i + 1 < len(chars) else "-"
        if ch in "AEIJOUY":
            code = "0"
        elif ch == "B" or (ch == "P" and nxt != "H"):
            code = "1"
        elif ch in "DT" and nxt not in "CSZ":
            code = "2"
        elif ch in "FVW" or ch == "P":
            code = "3"
        elif ch in "GKQ":
            code = "4"
        elif ch == "X" and prev not in "CKQ":
            code = "4"
            _cologne_add(out, "4", last)
            last = "4"
            code = "8"
        elif ch in "SZ":
            code = "8"
        elif ch == "C":
            if not out and last == "/":
                code = "4" if nxt in "AHKLOQRUX" else "8"
            elif prev in "SZ" or nxt not in "AHOUKQX":
                code = "8"
            else:
                code = "4"
        elif ch in "DTX":
            code = "8"
        elif ch == "R":
            code = "7"
        elif ch == "L":
            code = "5"
        elif ch in "MN":
            code = "6"
        elif ch == "H":
            code = "-"
        else:
            code = ""
        if code and code != "-":
            _cologne_add(out, code, last)
        if code:
            last = code
        prev = ch
    return "".join(out)


def _cologne_add(out: list[str], code: str, last: str) -> None:
    # equal neighbouring codes collapse; a "0" only counts at the start
    if code == last:
        return
    if code == "0" and out:
        return
    out.append(code)


ENCODERS = {
    "soundex": soundex, "refinedSoundex": refined_soundex, "metaphone": metaphone, "caverphone1": caverphone1,
    "caverphone2": caverphone2, "cologne": cologne, **phonetic_extra.ENCODERS,
}
NAMES = tuple(ENCODERS) + ("doubleMetaphone",)  # every encoder the filter takes
NOT_IMPLEMENTED = ("beiderMorse",)


def encode(encoder: str, term: str) -> str | None:
    """The phonetic code, or None when Lucene keeps the term as it is (empty code, same as the term, or an
    encoder error)."""
    try:
        code = _cached(encoder, term)
    except NotEncodable:
        return None
    return code if code and code != term else None


@functools.lru_cache(maxsize=65536)
def _cached(encoder: str, term: str) -> str:
    return ENCODERS[encoder](term)


def phonetic_filter(encoder: str = "metaphone", replace: bool = True) -> TokenFilter:
    """Lucene's PhoneticFilter: each term's code replaces it, or (``replace`` false) is added at its position
    before it. ``doubleMetaphone`` is Lucene's DoubleMetaphoneFilter (primary and alternate codes)."""
    if encoder == "doubleMetaphone":
        return double_metaphone.double_metaphone_filter(replace)

    def run(toks: list[Tok]) -> list[Tok]:
        out: list[Tok] = []
        for t in toks:
            code = encode(encoder, t.term) if t.term else None
            if code is None:
                out.append(t)
            elif replace:
                t.term = code
                out.append(t)
            else:
                out.append(t.with_term(code))
                out.append(t)
        return out

    return run
