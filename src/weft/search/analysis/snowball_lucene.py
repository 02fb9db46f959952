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
  algorithms it is an unknown letter (``pc's`` stays).

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
danish = _with_unknown_letters("danish", "'")
norwegian = _with_unknown_letters("norwegian", "'")
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
    return stem


ALGORITHMS = {"russian": russian, "romanian": romanian, "hungarian": hungarian, "swedish": swedish, "danish": danish,
              "norwegian": norwegian, "turkish": turkish}
