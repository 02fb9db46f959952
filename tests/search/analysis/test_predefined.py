"""Predefined analyzers: every SDK LexicalAnalyzerName exists, and the Lucene chains give Lucene's tokens."""
from __future__ import annotations

import pytest
from azure.search.documents.indexes.models import LexicalAnalyzerName

from weft.search import analysis
from weft.search.analysis import predefined
from weft.search.analysis.stemmers import french_light, german_light, italian_light, spanish_light


def sdk_names() -> list[str]:
    return [m.value for m in LexicalAnalyzerName]


def test_every_sdk_analyzer_name_is_predefined():
    names = sdk_names()
    assert len(names) == 93
    assert set(names) == set(predefined.NAMES)


@pytest.mark.parametrize("name", sdk_names())
def test_every_analyzer_analyzes(name):
    terms = analysis.analyze(name, "Hello World 123")
    assert terms, name
    # names match case-insensitively
    assert analysis.get(name.upper()).terms("Hello") == analysis.get(name).terms("Hello")


def tokens(name, text):
    return analysis.analyze(name, text)


# Expected tokens follow Lucene's own analyzers (outputs documented in the reference notes, run on Lucene 8.7,
# and Lucene's analyzer test cases).
@pytest.mark.parametrize(
    "name,text,expected",
    [
        ("en.lucene", "The dog's owners were generously running fairly dying ponies",
         ["dog", "owner", "were", "gener", "run", "fairli", "dy", "poni"]),
        ("standard.lucene", "The Quick-Brown fox's e-mail foo@bar.com 3.14 我是 日本語",
         ["the", "quick", "brown", "fox's", "e", "mail", "foo", "bar.com", "3.14", "我", "是", "日", "本", "語"]),
        ("standard.lucene", "l'avion U.S.A. 1,000.5 wi-fi", ["l'avion", "u.s.a", "1,000.5", "wi", "fi"]),
        ("standardasciifolding.lucene", "Ærø Straße café", ["aero", "strasse", "cafe"]),
        ("simple", "fox's 42 Dogs", ["fox", "s", "dogs"]),
        ("stop", "The fox and the dog", ["fox", "dog"]),
        ("whitespace", "Hello World-Wide", ["Hello", "World-Wide"]),
        ("keyword", "Hello World", ["Hello World"]),
        ("pattern", "Foo-Bar baz", ["foo", "bar", "baz"]),
        ("fr.lucene", "L'avion qu'il a pris", ["avion", "a", "pri"]),
        ("fr.lucene", "les chevaux et les hiboux chantés", ["cheval", "hibou", "chant"]),
        ("de.lucene", "Die Häuser und die Bücher", ["haus", "buch"]),
        ("es.lucene", "las chicas y las canciones", ["chic", "cancion"]),
        ("it.lucene", "dell'albero e gli alberi", ["alber", "alber"]),
        ("ca.lucene", "l'home", ["hom"]),
        ("zh-Hans.lucene", "我是中国人", ["我是", "是中", "中国", "国人"]),
        ("ja.lucene", "日本語テスト", ["日本語", "テスト"]),  # Lucene 8.7 JapaneseAnalyzer (Kuromoji)
        ("ko.lucene", "한국어", ["한국", "어"]),  # Lucene 8.7 KoreanAnalyzer (Nori)
        ("zh-Hant.lucene", "Ｆｕｌｌ 中", ["full", "中"]),
        ("ar.lucene", "الحسن", ["حسن"]),
        ("tr.lucene", "İSTANBUL'da", ["istanbul"]),
        ("nl.lucene", "de fietsen", ["fiets"]),
        ("ru.lucene", "и красивые книги", ["красив", "книг"]),
        ("pt-BR.lucene", "os meninos", ["menin"]),
        ("sv.lucene", "och flickorna", ["flick"]),
        ("ga.lucene", "n-athair", ["athair"]),
    ],
)
def test_lucene_tokens(name, text, expected):
    assert tokens(name, text) == expected


def test_positions_keep_gaps_of_removed_words():
    toks = analysis.get("fr.lucene").tokens("L'avion qu'il a pris")
    assert [(t.term, t.pos) for t in toks] == [("avion", 0), ("a", 2), ("pri", 3)]
    toks = analysis.get("en.lucene").tokens("the quick fox")
    assert [(t.term, t.pos) for t in toks] == [("quick", 1), ("fox", 2)]


def test_offsets_are_utf16_code_units_in_analyze_output():
    a = analysis.get("standard.lucene")
    text = "😀 abc"
    out = analysis.token_json(text, a.tokens(text))
    # the emoji is a token (Lucene 8.7's <EMOJI>) two UTF-16 code units long
    assert out == [{"token": "😀", "startOffset": 0, "endOffset": 2, "position": 0},
                   {"token": "abc", "startOffset": 3, "endOffset": 6, "position": 1}]


def test_french_light_stemmer_cases():
    # Lucene's TestFrenchLightStemFilter pairs
    for word, stem in [("chevaux", "cheval"), ("hiboux", "hibou"), ("chantés", "chant"), ("chanter", "chant"),
                       ("chante", "chant"), ("baronnes", "baron"), ("barons", "baron"), ("baron", "baron")]:
        assert french_light(word) == stem, word


def test_other_light_stemmers():
    assert german_light("hauser") == "haus"
    assert spanish_light("chicas") == "chic"
    assert italian_light("ragazzi") == "ragazz"


def test_microsoft_analyzers_have_stand_ins():
    for name in predefined.MICROSOFT_STAND_INS:
        target = predefined.MICROSOFT_STAND_INS[name]
        if target.endswith(".lucene"):
            assert analysis.analyze(name, "Running dogs") == analysis.analyze(target, "Running dogs"), name
    assert analysis.analyze("lt.microsoft", "namai") != ["namai"]  # Snowball Lithuanian stems
