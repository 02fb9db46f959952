"""Double Metaphone (Lawrence Philips, "The Double Metaphone Search Algorithm", C/C++ Users Journal, 2000) as
Apache commons-codec's ``DoubleMetaphone`` encodes it, with Elasticsearch's default code length of 4, and Lucene's
DoubleMetaphoneFilter (primary and alternate codes at the same position).

commons-codec's reading of the rules is followed where it differs from other ports: for example a final ``J``
gives the alternate code a space (``AKS ``), ``ß`` is upper-cased to ``SS`` first, and a word of whitespace only
has no code. Checked code by code against commons-codec 1.15 through Lucene 8.7's filter
(``tests/search/analysis/data/double_metaphone_codes.tsv``).
"""
from __future__ import annotations

import functools

from weft.search.analysis.tokens import Tok, TokenFilter

MAX_CODE_LENGTH = 4
_VOWELS = "AEIOUY"
_SILENT_START = ("GN", "KN", "PN", "WR", "PS")
_JAVA_TRIM = "".join(chr(c) for c in range(33))  # String.trim(): every character up to the space


class _Code:
    __slots__ = ("primary", "alternate", "max")

    def __init__(self, max_length: int):
        self.primary = ""
        self.alternate = ""
        self.max = max_length

    def add(self, primary: str, alternate: str | None = None) -> None:
        self.add_primary(primary)
        self.add_alternate(primary if alternate is None else alternate)

    def add_primary(self, s: str) -> None:
        self.primary += s[:max(0, self.max - len(self.primary))]

    def add_alternate(self, s: str) -> None:
        self.alternate += s[:max(0, self.max - len(self.alternate))]

    def complete(self) -> bool:
        return len(self.primary) >= self.max and len(self.alternate) >= self.max


class _Word:
    __slots__ = ("v", "n", "slavo_germanic")

    def __init__(self, v: str):
        self.v = v
        self.n = len(v)
        self.slavo_germanic = "W" in v or "K" in v or "CZ" in v

    def at(self, i: int) -> str:
        return self.v[i] if 0 <= i < self.n else "\0"

    def has(self, start: int, length: int, *options: str) -> bool:
        if start < 0 or start + length > self.n:
            return False
        return self.v[start:start + length] in options

    def vowel(self, i: int) -> bool:
        return self.at(i) in _VOWELS


def _c0(w: _Word, i: int) -> bool:
    if w.has(i, 4, "CHIA"):
        return True
    if i <= 1 or w.vowel(i - 2) or not w.has(i - 1, 3, "ACH"):
        return False
    c = w.at(i + 2)
    return (c != "I" and c != "E") or w.has(i - 2, 6, "BACHER", "MACHER")


def _ch(w: _Word, r: _Code, i: int) -> int:
    if i > 0 and w.has(i, 4, "CHAE"):
        r.add("K", "X")
    elif i == 0 and (w.has(i + 1, 5, "HARAC", "HARIS") or w.has(i + 1, 3, "HOR", "HYM", "HIA", "HEM")) \
            and not w.has(0, 5, "CHORE"):
        r.add("K")
    elif (w.has(0, 4, "VAN ", "VON ") or w.has(0, 3, "SCH") or w.has(i - 2, 6, "ORCHES", "ARCHIT", "ORCHID")
          or w.has(i + 2, 1, "T", "S")
          or ((w.has(i - 1, 1, "A", "O", "U", "E") or i == 0)
              and (w.has(i + 2, 1, "L", "R", "N", "M", "B", "H", "F", "V", "W", " ") or i + 1 == w.n - 1))):
        r.add("K")
    elif i > 0:
        r.add("K") if w.has(0, 2, "MC") else r.add("X", "K")
    else:
        r.add("X")
    return i + 2


def _c(w: _Word, r: _Code, i: int) -> int:
    if _c0(w, i):
        r.add("K")
        return i + 2
    if i == 0 and w.has(i, 6, "CAESAR"):
        r.add("S")
        return i + 2
    if w.has(i, 2, "CH"):
        return _ch(w, r, i)
    if w.has(i, 2, "CZ") and not w.has(i - 2, 4, "WICZ"):
        r.add("S", "X")
        return i + 2
    if w.has(i + 1, 3, "CIA"):
        r.add("X")
        return i + 3
    if w.has(i, 2, "CC") and not (i == 1 and w.at(0) == "M"):
        if w.has(i + 2, 1, "I", "E", "H") and not w.has(i + 2, 2, "HU"):
            if (i == 1 and w.at(i - 1) == "A") or w.has(i - 1, 5, "UCCEE", "UCCES"):
                r.add("KS")
            else:
                r.add("X")
            return i + 3
        r.add("K")
        return i + 2
    if w.has(i, 2, "CK", "CG", "CQ"):
        r.add("K")
        return i + 2
    if w.has(i, 2, "CI", "CE", "CY"):
        r.add("S", "X") if w.has(i, 3, "CIO", "CIE", "CIA") else r.add("S")
        return i + 2
    r.add("K")
    if w.has(i + 1, 2, " C", " Q", " G"):
        return i + 3
    if w.has(i + 1, 1, "C", "K", "Q") and not w.has(i + 1, 2, "CE", "CI"):
        return i + 2
    return i + 1


def _d(w: _Word, r: _Code, i: int) -> int:
    if w.has(i, 2, "DG"):
        if w.has(i + 2, 1, "I", "E", "Y"):
            r.add("J")
            return i + 3
        r.add("TK")
        return i + 2
    r.add("T")
    return i + 2 if w.has(i, 2, "DT", "DD") else i + 1


def _gh(w: _Word, r: _Code, i: int) -> int:
    if i > 0 and not w.vowel(i - 1):
        r.add("K")
        return i + 2
    if i == 0:
        r.add("J" if w.at(i + 2) == "I" else "K")
        return i + 2
    if (i > 1 and w.has(i - 2, 1, "B", "H", "D")) or (i > 2 and w.has(i - 3, 1, "B", "H", "D")) \
            or (i > 3 and w.has(i - 4, 1, "B", "H")):
        return i + 2
    if i > 2 and w.at(i - 1) == "U" and w.has(i - 3, 1, "C", "G", "L", "R", "T"):
        r.add("F")
    elif i > 0 and w.at(i - 1) != "I":
        r.add("K")
    return i + 2


def _g(w: _Word, r: _Code, i: int) -> int:
    sg = w.slavo_germanic
    if w.at(i + 1) == "H":
        return _gh(w, r, i)
    if w.at(i + 1) == "N":
        if i == 1 and w.vowel(0) and not sg:
            r.add("KN", "N")
        elif not w.has(i + 2, 2, "EY") and w.at(i + 1) != "Y" and not sg:
            r.add("N", "KN")
        else:
            r.add("KN")
        return i + 2
    if w.has(i + 1, 2, "LI") and not sg:
        r.add("KL", "L")
        return i + 2
    if i == 0 and (w.at(i + 1) == "Y" or w.has(i + 1, 2, "ES", "EP", "EB", "EL", "EY", "IB", "IL", "IN", "IE", "EI", "ER")):
        r.add("K", "J")
        return i + 2
    if (w.has(i + 1, 2, "ER") or w.at(i + 1) == "Y") and not w.has(0, 6, "DANGER", "RANGER", "MANGER") \
            and not w.has(i - 1, 1, "E", "I") and not w.has(i - 1, 3, "RGY", "OGY"):
        r.add("K", "J")
        return i + 2
    if w.has(i + 1, 1, "E", "I", "Y") or w.has(i - 1, 4, "AGGI", "OGGI"):
        if w.has(0, 4, "VAN ", "VON ") or w.has(0, 3, "SCH") or w.has(i + 1, 2, "ET"):
            r.add("K")
        elif w.has(i + 1, 3, "IER"):
            r.add("J")
        else:
            r.add("J", "K")
        return i + 2
    r.add("K")
    return i + 2 if w.at(i + 1) == "G" else i + 1


def _j(w: _Word, r: _Code, i: int) -> int:
    if w.has(i, 4, "JOSE") or w.has(0, 4, "SAN "):
        if (i == 0 and w.at(i + 4) == " ") or w.n == 4 or w.has(0, 4, "SAN "):
            r.add("H")
        else:
            r.add("J", "H")
        return i + 1
    if i == 0 and not w.has(i, 4, "JOSE"):
        r.add("J", "A")
    elif w.vowel(i - 1) and not w.slavo_germanic and w.at(i + 1) in ("A", "O"):
        r.add("J", "H")
    elif i == w.n - 1:
        r.add("J", " ")
    elif not w.has(i + 1, 1, "L", "T", "K", "S", "N", "M", "B", "Z") and not w.has(i - 1, 1, "S", "K", "L"):
        r.add("J")
    return i + 2 if w.at(i + 1) == "J" else i + 1


def _l(w: _Word, r: _Code, i: int) -> int:
    if w.at(i + 1) != "L":
        r.add("L")
        return i + 1
    n = w.n
    silent = (i == n - 3 and w.has(i - 1, 4, "ILLO", "ILLA", "ALLE")) or (
        (w.has(n - 2, 2, "AS", "OS") or w.has(n - 1, 1, "A", "O")) and w.has(i - 1, 4, "ALLE"))
    r.add_primary("L") if silent else r.add("L")
    return i + 2


def _s(w: _Word, r: _Code, i: int) -> int:
    if w.has(i - 1, 3, "ISL", "YSL"):
        return i + 1
    if i == 0 and w.has(i, 5, "SUGAR"):
        r.add("X", "S")
        return i + 1
    if w.has(i, 2, "SH"):
        r.add("S" if w.has(i + 1, 4, "HEIM", "HOEK", "HOLM", "HOLZ") else "X")
        return i + 2
    if w.has(i, 3, "SIO", "SIA") or w.has(i, 4, "SIAN"):
        r.add("S") if w.slavo_germanic else r.add("S", "X")
        return i + 3
    if (i == 0 and w.has(i + 1, 1, "M", "N", "L", "W")) or w.has(i + 1, 1, "Z"):
        r.add("S", "X")
        return i + 2 if w.has(i + 1, 1, "Z") else i + 1
    if w.has(i, 2, "SC"):
        if w.at(i + 2) == "H":
            if w.has(i + 3, 2, "OO", "ER", "EN", "UY", "ED", "EM"):
                r.add("X", "SK") if w.has(i + 3, 2, "ER", "EN") else r.add("SK")
            elif i == 0 and not w.vowel(3) and w.at(3) != "W":
                r.add("X", "S")
            else:
                r.add("X")
        elif w.has(i + 2, 1, "I", "E", "Y"):
            r.add("S")
        else:
            r.add("SK")
        return i + 3
    if i == w.n - 1 and w.has(i - 2, 2, "AI", "OI"):
        r.add_alternate("S")
    else:
        r.add("S")
    return i + 2 if w.has(i + 1, 1, "S", "Z") else i + 1


def _t(w: _Word, r: _Code, i: int) -> int:
    if w.has(i, 4, "TION") or w.has(i, 3, "TIA", "TCH"):
        r.add("X")
        return i + 3
    if w.has(i, 2, "TH") or w.has(i, 3, "TTH"):
        if w.has(i + 2, 2, "OM", "AM") or w.has(0, 4, "VAN ", "VON ") or w.has(0, 3, "SCH"):
            r.add("T")
        else:
            r.add("0", "T")
        return i + 2
    r.add("T")
    return i + 2 if w.has(i + 1, 1, "T", "D") else i + 1


def _w(w: _Word, r: _Code, i: int) -> int:
    if w.has(i, 2, "WR"):
        r.add("R")
        return i + 2
    if i == 0 and (w.vowel(i + 1) or w.has(i, 2, "WH")):
        r.add("A", "F") if w.vowel(i + 1) else r.add("A")
        return i + 1
    if (i == w.n - 1 and w.vowel(i - 1)) or w.has(i - 1, 5, "EWSKI", "EWSKY", "OWSKI", "OWSKY") or w.has(0, 3, "SCH"):
        r.add_alternate("F")
        return i + 1
    if w.has(i, 4, "WICZ", "WITZ"):
        r.add("TS", "FX")
        return i + 4
    return i + 1


def _x(w: _Word, r: _Code, i: int) -> int:
    if i == 0:
        r.add("S")
        return i + 1
    if not (i == w.n - 1 and (w.has(i - 3, 3, "IAU", "EAU") or w.has(i - 2, 2, "AU", "OU"))):
        r.add("KS")
    return i + 2 if w.has(i + 1, 1, "C", "X") else i + 1


def _z(w: _Word, r: _Code, i: int) -> int:
    if w.at(i + 1) == "H":
        r.add("J")
        return i + 2
    if w.has(i + 1, 2, "ZO", "ZI", "ZA") or (w.slavo_germanic and i > 0 and w.at(i - 1) != "T"):
        r.add("S", "TS")
    else:
        r.add("S")
    return i + 2 if w.at(i + 1) == "Z" else i + 1


# letters coded alone, skipping a doubled letter: letter -> (code, the letters that count as its double)
_SIMPLE = {"B": ("P", "B"), "F": ("F", "F"), "K": ("K", "K"), "N": ("N", "N"), "Q": ("K", "Q"), "V": ("F", "V")}
_HANDLERS = {"C": _c, "D": _d, "G": _g, "J": _j, "L": _l, "S": _s, "T": _t, "W": _w, "X": _x, "Z": _z}


@functools.lru_cache(maxsize=65536)
def encode(term: str, max_length: int = MAX_CODE_LENGTH) -> tuple[str, str] | None:
    """(primary, alternate) codes, or None for a term that is empty once trimmed."""
    v = term.strip(_JAVA_TRIM)
    if not v:
        return None
    w = _Word(v.upper())
    r = _Code(max_length)
    i = 1 if w.v.startswith(_SILENT_START) else 0
    while not r.complete() and i <= w.n - 1:
        c = w.v[i]
        if c in "AEIOUY":
            if i == 0:
                r.add("A")
            i += 1
        elif c in _SIMPLE:
            code, double = _SIMPLE[c]
            r.add(code)
            i += 2 if w.at(i + 1) == double else 1
        elif c in ("Ç", "Ñ"):
            r.add("S" if c == "Ç" else "N")
            i += 1
        elif c == "H":
            if (i == 0 or w.vowel(i - 1)) and w.vowel(i + 1):
                r.add("H")
                i += 2
            else:
                i += 1
        elif c == "M":
            r.add("M")
            i += 2 if w.at(i + 1) == "M" or (w.has(i - 1, 3, "UMB") and (i + 1 == w.n - 1 or w.has(i + 2, 2, "ER"))) else 1
        elif c == "P":
            if w.at(i + 1) == "H":
                r.add("F")
                i += 2
            else:
                r.add("P")
                i += 2 if w.has(i + 1, 1, "P", "B") else 1
        elif c == "R":
            if i == w.n - 1 and not w.slavo_germanic and w.has(i - 2, 2, "IE") and not w.has(i - 4, 2, "ME", "MA"):
                r.add_alternate("R")
            else:
                r.add("R")
            i += 2 if w.at(i + 1) == "R" else 1
        elif c in _HANDLERS:
            i = _HANDLERS[c](w, r, i)
        else:
            i += 1
    return r.primary, r.alternate


def double_metaphone_filter(replace: bool = True, max_length: int = MAX_CODE_LENGTH) -> TokenFilter:
    """Lucene's DoubleMetaphoneFilter: the primary code and, when it differs, the alternate code at the term's
    position; with ``replace`` false (Lucene's ``inject``) the term comes first and the codes after it."""

    def run(toks: list[Tok]) -> list[Tok]:
        out: list[Tok] = []
        for t in toks:
            codes = encode(t.term, max_length) if t.term else None
            if codes is None:
                out.append(t)
                continue
            primary, alternate = codes
            found = []
            if primary and primary != t.term:
                found.append(primary)
            if alternate and alternate != primary and primary != t.term:
                found.append(alternate)
            if not found:
                out.append(t)
                continue
            if not replace:
                out.append(t)
            out.extend(t.with_term(code) for code in found)
        return out

    return run
