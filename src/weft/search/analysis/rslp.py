"""The RSLP suffix-stripping stemmer (V. Orengo and C. Huyck, "A stemming algorithm for the Portuguese language",
SPIRE 2001), as Lucene runs it for Galician (``GalicianStemmer``, rules adapted by the RSLG work) and Portuguese
(``PortugueseStemmer``, the ``portugueseRslp`` stemmer language).

The rule tables are data: ``rules/<language>.rslp``, the files Lucene ships (each names its source). A table is a
list of steps ``{ "Name", minWordLength, exceptionKind, {endings the word must have}, rules... }``; a rule is
``{"suffix", minStemLength, "replacement", {exceptions}}``; exceptions are whole words when ``exceptionKind`` is 1,
word endings when it is 0. A step applies the first rule whose suffix ends the word, leaves a stem of at least
``minStemLength`` characters and is not excepted. This module parses the tables and runs the steps in the order
the algorithm gives for each language; it was checked word by word against Lucene 8.7
(tests/search/analysis/test_lucene_stemmers.py).
"""
from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

_DIR = Path(__file__).parent / "rules"


@dataclass(frozen=True)
class Rule:
    suffix: str
    min_stem: int
    replacement: str
    exceptions: frozenset[str]
    whole_word_exceptions: bool

    def matches(self, w: str) -> bool:
        if len(w) - len(self.suffix) < self.min_stem or not w.endswith(self.suffix):
            return False
        if self.whole_word_exceptions:
            return w not in self.exceptions
        return not any(w.endswith(e) for e in self.exceptions)


@dataclass(frozen=True)
class Step:
    name: str
    min_len: int
    conditions: tuple[str, ...]
    rules: tuple[Rule, ...]

    def apply(self, w: str) -> str:
        if len(w) < self.min_len:
            return w
        if self.conditions and not w.endswith(self.conditions):
            return w
        for r in self.rules:
            if r.matches(w):
                return w[: len(w) - len(r.suffix)] + r.replacement
        return w


def parse(text: str) -> dict[str, Step]:
    """Parse an .rslp table: drop '#' comments, read the braces as Python lists."""
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    steps: dict[str, Step] = {}
    for chunk in body.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        data = ast.literal_eval(re.sub(r"[{}]", lambda m: "[" if m.group(0) == "{" else "]", chunk))
        name, min_len, kind, conditions, *rules = data
        parsed = []
        for r in rules:
            suffix, min_stem = r[0], r[1]
            replacement = r[2] if len(r) > 2 else ""
            exceptions = frozenset(r[3]) if len(r) > 3 else frozenset()
            parsed.append(Rule(suffix, int(min_stem), replacement, exceptions, kind == 1))
        steps[name] = Step(name, int(min_len), tuple(conditions), tuple(parsed))
    return steps


@functools.lru_cache(maxsize=None)
def table(language: str) -> dict[str, Step]:
    return parse((_DIR / f"{language}.rslp").read_text(encoding="utf-8"))


_GALICIAN_ACCENTS = str.maketrans({"á": "a", "é": "e", "ê": "e", "í": "i", "ó": "o", "ú": "u"})
_PORTUGUESE_ACCENTS = str.maketrans(
    {**{c: "a" for c in "àáâãäå"}, "ç": "c", **{c: "e" for c in "èéêë"}, **{c: "i" for c in "ìíîï"}, "ñ": "n",
     **{c: "o" for c in "òóôõö"}, **{c: "u" for c in "ùúûü"}, "ý": "y", "ÿ": "y"}
)


@functools.lru_cache(maxsize=20000)
def galician(w: str) -> str:
    t = table("galician")
    w = t["Plural"].apply(w)
    w = t["Unification"].apply(w)
    w = t["Adverb"].apply(w)
    while True:  # augmentatives and diminutives stack (cansadísimiño)
        shorter = t["Augmentative"].apply(w)
        if shorter == w:
            break
        w = shorter
    before = w
    w = t["Noun"].apply(w)
    if w == before:
        w = t["Verb"].apply(w)
    w = t["Vowel"].apply(w)
    return w.translate(_GALICIAN_ACCENTS)


@functools.lru_cache(maxsize=20000)
def portuguese(w: str) -> str:
    t = table("portuguese")
    for name in ("Plural", "Adverb", "Feminine", "Augmentative"):
        w = t[name].apply(w)
    before = w
    w = t["Noun"].apply(w)
    if w == before:
        before = w
        w = t["Verb"].apply(w)
        if w == before:
            w = t["Vowel"].apply(w)
    return w.translate(_PORTUGUESE_ACCENTS)


@functools.lru_cache(maxsize=20000)
def galician_minimal(w: str) -> str:
    """Lucene's GalicianMinimalStemmer: the plural step only."""
    return table("galician")["Plural"].apply(w)


@functools.lru_cache(maxsize=20000)
def portuguese_minimal(w: str) -> str:
    """Lucene's PortugueseMinimalStemmer: the plural step only."""
    return table("portuguese")["Plural"].apply(w)
