"""Lucene's Indonesian stemmer (IndonesianStemFilter, ``id.lucene``): the algorithm of Jelita Asian et al., "Stemming
Indonesian" (2005), in the variant of Fadillah Z. Tala, "A Study of Stemming Effects on Information Retrieval in
Bahasa Indonesia" (2003).

Each step needs the word to have more than two syllables (vowels) left: particles (-kah -lah -pun), possessive
pronouns (-ku -mu -nya), then the derivational part: the first-order prefix (meng- meny- men- mem- me- peng- peny-
pen- pem- di- ter- ke-, with the recoding of meny-/peny-/pen- before a vowel), the suffix (-kan -an -i, each barred
after some prefixes), the second-order prefix (ber- be- per- pe-). If no first-order prefix was found, the
second-order prefix is tried before the suffix. Checked word by word against Lucene 8.7
(``tests/search/analysis/data/lucene_stems.tsv``).
"""
from __future__ import annotations

import functools

_VOWELS = frozenset("aeiou")
KE, PENG, DI, MENG, TER, BER, PE = 1, 2, 4, 8, 16, 32, 64


class _State:
    __slots__ = ("w", "syllables", "flags")

    def __init__(self, word: str):
        self.w = word
        self.syllables = sum(1 for c in word if c in _VOWELS)
        self.flags = 0

    def cut_end(self, n: int) -> None:
        self.w = self.w[:-n]
        self.syllables -= 1

    def cut_start(self, n: int, flag: int = 0, replace: str = "") -> None:
        """Remove n letters from the start; ``replace`` rewrites the letter that then comes first."""
        self.w = replace + self.w[n + len(replace):] if replace else self.w[n:]
        self.flags |= flag
        self.syllables -= 1


def _vowel_at(w: str, i: int) -> bool:
    return len(w) > i and w[i] in _VOWELS


def _first_order_prefix(s: _State) -> bool:
    w = s.w
    if w.startswith("meng"):
        s.cut_start(4, MENG)
    elif w.startswith("meny") and _vowel_at(w, 4):
        s.cut_start(3, MENG, "s")
    elif w.startswith(("men", "mem")):
        s.cut_start(3, MENG)
    elif w.startswith("me"):
        s.cut_start(2, MENG)
    elif w.startswith("peng"):
        s.cut_start(4, PENG)
    elif w.startswith("peny") and _vowel_at(w, 4):
        s.cut_start(3, PENG, "s")
    elif w.startswith("peny"):
        s.cut_start(4, PENG)
    elif w.startswith("pen") and _vowel_at(w, 3):
        s.cut_start(2, PENG, "t")
    elif w.startswith(("pen", "pem")):
        s.cut_start(3, PENG)
    elif w.startswith("di"):
        s.cut_start(2, DI)
    elif w.startswith("ter"):
        s.cut_start(3, TER)
    elif w.startswith("ke"):
        s.cut_start(2, KE)
    else:
        return False
    return True


def _second_order_prefix(s: _State) -> bool:
    w = s.w
    if w.startswith("ber") or w == "belajar":
        s.cut_start(3, BER)
    elif w.startswith("be") and len(w) > 4 and w[2] not in _VOWELS and w[3] == "e" and w[4] == "r":
        s.cut_start(2, BER)
    elif w.startswith("per") or w == "pelajar":
        s.cut_start(3)
    elif w.startswith("pe"):
        s.cut_start(2, PE)
    else:
        return False
    return True


def _suffix(s: _State) -> bool:
    w, f = s.w, s.flags
    if w.endswith("kan") and not f & (KE | PENG | PE):
        s.cut_end(3)
    elif w.endswith("an") and not f & (DI | MENG | TER):
        s.cut_end(2)
    elif w.endswith("i") and not w.endswith("si") and not f & (BER | KE | PENG):
        s.cut_end(1)
    else:
        return False
    return True


@functools.lru_cache(maxsize=65536)
def stem(word: str, derivational: bool = True) -> str:
    """The stem of a lower-case term as Lucene's IndonesianStemmer gives it (``derivational`` false: only the
    particle and possessive steps, Lucene's ``stemDerivational=false``)."""
    s = _State(word)
    if s.syllables > 2 and word.endswith(("kah", "lah", "pun")):
        s.cut_end(3)
    if s.syllables > 2:
        if s.w.endswith(("ku", "mu")):
            s.cut_end(2)
        elif s.w.endswith("nya"):
            s.cut_end(3)
    if not derivational:
        return s.w
    if s.syllables > 2 and _first_order_prefix(s):
        if s.syllables > 2 and _suffix(s) and s.syllables > 2:
            _second_order_prefix(s)
    else:
        if s.syllables > 2:
            _second_order_prefix(s)
        if s.syllables > 2:
            _suffix(s)
    return s.w


def inflectional(word: str) -> str:
    return stem(word, False)
