"""Snowball stemmers as Lucene 8.7's bundled (2007-era) Snowball classes behave, over PyStemmer's current ones.

Lucene 8.7's ``SnowballFilter`` runs Java classes generated from old versions of the Snowball algorithms. Measured
against them (docs/analysis.md), the differences that decide results on real words are letters the old versions
did not know and suffixes added since:

* Russian: the old algorithm does not know ``ё`` (current Snowball first turns it into ``е``); to the old one it is
  a non-vowel that no suffix contains, so words keep it and suffixes containing it are not removed.
* Romanian: the old algorithm knows only the cedilla letters ``ş ţ``; the comma-below ``ș ț`` (the correct and
  now usual spelling) are unknown letters to it.
* Hungarian: the old algorithm knows ``ő ű`` under other code points, so to it these are unknown letters too.
* Swedish: the old algorithm has no ``-et``/``-ets`` suffixes (only ``-het``, ``-andet``, and ``-s``).
* Danish, Norwegian, Turkish: current Snowball treats an apostrophe specially (``pc's`` -> ``pc``); to the old
  algorithms it is an unknown letter (``pc's`` stays). Norwegian's ``ê ò ó ô`` are vowels only to the new one.
* Danish: the old algorithm also undoubles a final ``cc hh jj qq vv ww xx zz`` (``quizze`` -> ``quiz``).
* Norwegian: the old algorithm removes ``-ers`` in R1 (``galoppers`` -> ``galopp``).
* Swedish: the old algorithm turns ``-löst`` (not ``-öst``) into ``-lös``.
* Finnish: the old algorithm knows no ``-hun``/``-hyn`` illative, and when an ``-hVn`` ending's vowel is not the one
  before it the case step fails (the new one falls back to ``-n``).

An unknown letter is passed to PyStemmer as a private-use character (a non-vowel no suffix contains) and put back
afterwards, which is exactly how the old algorithm treats it.
"""
from __future__ import annotations

import functools

from weft.search.analysis.filters import _stemmer

_PUA = 0xE000


def _hide(letters: str):
    hide = {ord(c): chr(_PUA + i) for i, c in enumerate(letters)}
    show = {ord(chr(_PUA + i)): c for i, c in enumerate(letters)}
    return hide, show


def _with_unknown_letters(algorithm: str, letters: str):
    stem = _stemmer(algorithm).stemWord
    hide, show = _hide(letters)

    @functools.lru_cache(maxsize=65536)
    def run(word: str) -> str:
        if not any(c in word for c in letters):
            return stem(word)
        return stem(word.translate(hide)).translate(show)

    return run


russian = _with_unknown_letters("russian", "ё")
romanian = _with_unknown_letters("romanian", "șț")
hungarian = _with_unknown_letters("hungarian", "őű")
_danish = _with_unknown_letters("danish", "'")
_norwegian = _with_unknown_letters("norwegian", "'êòóô")
turkish = _with_unknown_letters("turkish", "'")
_swedish = _stemmer("swedish").stemWord


@functools.lru_cache(maxsize=65536)
def swedish(word: str) -> str:
    stem = _swedish(word)
    if stem != word and not word.endswith(("het", "andet", "hets", "andets")):
        if word.endswith("et"):
            return word
        if word.endswith("ets"):
            return word[:-1]
    return _swedish_old_lost(word, stem)


def _r1(word: str, vowels: str, least: int = 0) -> int:
    """Where Snowball's R1 begins: after the first non-vowel that follows a vowel (at least ``least``)."""
    for i in range(1, len(word)):
        if word[i] not in vowels and word[i - 1] in vowels:
            return max(i + 1, least)
    return len(word)


@functools.lru_cache(maxsize=65536)
def danish(word: str) -> str:
    stem = _danish(word)
    if len(stem) > 1 and stem[-1] == stem[-2] and stem[-1] in "chjqvwxz" and len(stem) - 1 >= _r1(word, "aeiouyæåø", 3):
        return stem[:-1]
    return stem


@functools.lru_cache(maxsize=65536)
def norwegian(word: str) -> str:
    stem = _norwegian(word)
    if stem == word and word.endswith("ers"):
        r1 = _r1(word, "aeiouyæåø", 3)
        if len(word) - 3 >= r1:
            return word[:-3]
        if len(word) - 1 >= r1:
            return word[:-1]  # 's' after 'r' (an s-ending letter)
    return stem


def _swedish_old_lost(word: str, stem: str) -> str:
    n = len(stem)
    if stem.endswith("ös") and word[n - 2:n + 1] == "öst" and not (n >= 3 and stem[-3] == "l" and n - 3 >= _r1(word, "aeiouyäåö", 3)):
        return stem + "t"
    return stem


_FI_VOWELS = "aeiouyäö"
_FI_POSSESSIVES = ("nsa", "nsä", "mme", "nne", "ni", "si")
_FI_PARTICLES = ("kaan", "kään", "kin", "han", "hän", "ko", "kö", "pa", "pä")
_finnish = _stemmer("finnish").stemWord


@functools.lru_cache(maxsize=65536)
def finnish(word: str) -> str:
    stem = _finnish(word)
    r1 = _r1(word, _FI_VOWELS)
    base = word  # the word as the case step sees it: the particle, then the possessive, removed as both do
    part = next((x for x in _FI_PARTICLES if base.endswith(x)), "")
    i = len(base) - len(part)
    if not part or (i >= r1 and i > 0 and base[i - 1] in _FI_VOWELS + "nt"):  # else the particle stays
        base = base[:i]
        poss = next((x for x in _FI_POSSESSIVES if base.endswith(x)), "")
        if poss and len(base) - len(poss) >= r1:
            base = base[: len(base) - len(poss)]
    if len(base) >= 4 and base[-1] == "n" and base[-3] == "h" and base[-2] in _FI_VOWELS and len(base) - 3 >= r1:
        v = base[-2]
        if v in "uy" and base[-4] == v:
            return base[:-1]  # no -hun/-hyn ending: only the -n goes
        if v not in "uy" and base[-4] != v and stem.startswith(base[:-3]):
            return base  # the -hVn ending matched and its condition failed: no case ending is removed
    return stem


ALGORITHMS = {"russian": russian, "romanian": romanian, "hungarian": hungarian, "swedish": swedish, "danish": danish,
              "norwegian": norwegian, "turkish": turkish, "finnish": finnish}


# ---- Lucene's PorterStemmer (en.lucene) ------------------------------------------------------------------
# Lucene's PorterStemFilter runs Martin Porter's own published code, which departs from the 1980 paper (the
# Snowball ``porter`` PyStemmer runs) in four places: step 1b undoubles kk, vv, cc... too, words of one or two letters are not stemmed, step 2 maps
# ``-logi`` to ``-log`` and ``-bli`` (not only ``-abli``) to ``-ble``. Those steps are re-applied to PyStemmer's
# result where the paper's algorithm left such an ending.
_porter = _stemmer("porter").stemWord


def _consonant(w: str, i: int) -> bool:
    c = w[i]
    if c in "aeiou":
        return False
    if c == "y":
        return i == 0 or not _consonant(w, i - 1)
    return True


def _measure(w: str) -> int:
    m, prev_vowel = 0, False
    for i in range(len(w)):
        vowel = not _consonant(w, i)
        if prev_vowel and not vowel:
            m += 1
        prev_vowel = vowel
    return m


@functools.lru_cache(maxsize=65536)
def porter(word: str) -> str:
    if len(word) <= 2:
        return word
    stem = _porter(word)
    if (len(stem) > 1 and stem[-1] == stem[-2] and stem[-1] not in "lsz" and _consonant(stem, len(stem) - 1)
            and word.endswith(("ed", "ing")) and stem in (word[:-2], word[:-3])):
        return stem[:-1]  # step 1b undoubles every double consonant but l, s, z (the paper lists nine)
    if word in (stem + "ness", stem + "ful"):
        return stem  # step 3 made that ending, after step 2
    if stem.endswith("logi") and _measure(stem[:-4]) > 0:
        return stem[:-1]
    if stem.endswith("bli") and not stem.endswith("abli") and _measure(stem[:-3]) > 0:
        return _porter(stem[:-1] + "e")
    return stem


ALGORITHMS["porter"] = porter
