"""The Python tokenizer for Latin-script text (``analysis.latin``) gives exactly tantivy's standard pipeline's terms
(``native.standard_analyzer_for``: Lucene's grammar, lower case) wherever it answers, and answers for the text it
is meant for."""
from __future__ import annotations

import random

import pytest

from weft.search.analysis import latin, native


def _tantivy(text: str) -> list[str]:
    return native.standard_analyzer_for(text).analyze(text)


def test_each_letter_lowercases_as_tantivy_does():
    for c in latin.LETTERS:
        assert _tantivy(f"a{c}b {c}") == latin.latin_terms(f"a{c}b {c}") == [f"a{c.lower()}b", c.lower()], c


def test_each_separator_separates_as_in_tantivy():
    for c in latin.SEPARATORS:
        for text in (f"a{c}b", f"1{c}2", c, f"{c}é", f"é{c}", f"l'{c}a"):
            assert latin.latin_terms(text) == _tantivy(text), (hex(ord(c)), text)


@pytest.mark.parametrize("text", [
    "l'hôtel d'été qu'il jusqu'à", "fox's den 3.14 1,000.5 1;2 1'2 a.b a:b a,b a;b", "a.1 1.a ab1.2 a1.b 1a.b a.b1",
    "a..b a.'b 'a' .a. end. Next: x", "Straße Ærøskøbing Łódź ŒUVRE ǅemal", "ÉCOLE-ÉLÈVE (très) «bien» 12h30", "",
])
def test_examples(text):
    assert latin.latin_terms(text) == _tantivy(text)


def test_each_separator_separates_as_in_tantivy():
    for c in latin.SEPARATORS:
        for text in (f"a{c}b", f"1{c}2", c, f"{c}é", f"é{c}", f"l'{c}a"):
            assert latin.latin_terms(text) == _tantivy(text), (hex(ord(c)), text)


@pytest.mark.parametrize("text", ["a_b", "東京 x", "naïve\u0301", "it’s", "l·l", "İstanbul", "Σοφία", "x" * 600])
def test_leaves_other_text_to_tantivy(text):
    assert latin.latin_terms(text) is None
    assert latin.standard_terms(text) == _tantivy(text)


def test_random_latin_text_agrees():
    rng = random.Random(3)
    pieces = ["a", "Z", "é", "Ö", "ß", "ł", "Ĳ", "ſ", "0", "7", ".", ",", ";", ":", "'", " ", " ", "-", "!", "(", "\n", "«", "»",
              "\u00a0", "×", "ª", "µ", "¿", "\t", "\"", "/", "@", "—", "…", "“", "’"]
    answered = 0
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        got = latin.latin_terms(text)
        if got is not None:
            answered += 1
            assert got == _tantivy(text), repr(text)
        assert latin.standard_terms(text) == _tantivy(text), repr(text)
    assert answered > 1000
