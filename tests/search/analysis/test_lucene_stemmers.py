"""Lucene's stemmers as weft writes them, against Lucene 8.7's own output, word by word.

data/lucene_stems.tsv was made by running Lucene's BulgarianStemFilter, LatvianStemFilter, GalicianStemFilter,
GalicianMinimalStemFilter, CzechStemFilter, PortugueseStemFilter, PortugueseMinimalStemFilter, GreekLowerCaseFilter +
GreekStemFilter, IndicNormalizationFilter (+ HindiNormalizationFilter + HindiStemFilter), StempelFilter (Polish),
BrazilianStemFilter (after LowerCaseFilter) and IndonesianStemFilter on real words (hunspell dictionaries) and on
generated words that cover every rule of each stemmer."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from weft.search.analysis import brazilian, greek, hindi, indonesian, portuguese, predefined, rslp, snowball_lucene, stempel, stemmers_extra
from weft.search.analysis.stopwords import load

STEMMERS = {
    "bg": stemmers_extra.bulgarian, "cs": stemmers_extra.czech, "lv": stemmers_extra.latvian, "gl": rslp.galician, "pt": rslp.portuguese,
    "gl-minimal": rslp.galician_minimal, "pt-minimal": rslp.portuguese_minimal,
    "el": greek.lower_and_stem, "hi": hindi.normalize_and_stem, "hi-indic": hindi.indic_normalize,
    "pl": stempel.stem, "pt-BR": brazilian.stem, "id": indonesian.stem, "id-inflectional": indonesian.inflectional,
    "pt-light": portuguese.light,
    "ru-snowball": snowball_lucene.russian, "ro-snowball": snowball_lucene.romanian,
    "hu-snowball": snowball_lucene.hungarian, "sv-snowball": snowball_lucene.swedish,
    "da-snowball": snowball_lucene.danish, "en-porter": snowball_lucene.porter,
    "no-snowball": snowball_lucene.norwegian, "fi-snowball": snowball_lucene.finnish,
}


def _pairs():
    out = defaultdict(list)
    for line in (Path(__file__).parent / "data" / "lucene_stems.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        lang, word, stem = line.split("\t")
        out[lang].append((word, stem))
    return out


PAIRS = _pairs()


@pytest.mark.parametrize("lang", sorted(STEMMERS))
def test_stemmer_gives_lucenes_stems(lang):
    pairs = PAIRS[lang]
    assert len(pairs) >= 800
    wrong = [(w, s, STEMMERS[lang](w)) for w, s in pairs if STEMMERS[lang](w) != s]
    assert wrong == []


@pytest.mark.parametrize("lang,word,stem", [
    ("bg", "градове", "град"), ("bg", "кучета", "куч"), ("bg", "учителят", "учител"), ("bg", "професори", "професор"),
    ("lv", "brāļu", "brāl"), ("lv", "zvaigžņu", "zvaigzn"), ("lv", "grāmatas", "grāmat"), ("lv", "lielajiem", "liel"),
    ("gl", "felizmente", "feliz"), ("gl", "cansadísimo", "cans"), ("gl", "papéis", "papel"), ("gl", "luces", "luz"),
    ("pt", "balões", "bal"), ("pt", "meninas", "menin"), ("cs", "pes", "ps"), ("cs", "kočky", "kočk"),
    ("el", "παιδιά", "παιδ"), ("el", "ΚΑΘΕΣΤΩΤΟΣ", "καθεστ"), ("el", "γεγονότα", "γεγον"),
    ("hi", "दोस्तों", "दोसत"), ("hi", "किताबें", "किताब"), ("hi", "हिन्दी", "हिंद"),
    ("pl", "książka", "książek"), ("pl", "dzieci", "dziecko"), ("pl", "czytali", "czytać"), ("pl", "kot", "kot"),
    ("pt-BR", "rapidamente", "rapid"), ("pt-BR", "informações", "inform"), ("pt-BR", "lições", "lico"),
    ("pt-light", "canções", "canca"), ("pt-light", "papéis", "papel"), ("pt-light", "portuguesa", "portugues"),
    ("da-snowball", "pc's", "pc's"), ("ru-snowball", "зелёные", "зелён"), ("sv-snowball", "almbladet", "almbladet"),
    ("en-porter", "graphology", "grapholog"), ("en-porter", "sensibly", "sensibl"), ("en-porter", "trekked", "trek"), ("en-porter", "ns", "ns"),
    ("id", "mempelajari", "ajar"), ("id", "kepulauan", "pulau"), ("id", "menyampaikan", "sampai"),
])
def test_known_pairs(lang, word, stem):
    assert STEMMERS[lang](word) == stem


def test_lucene_stop_word_lists_have_lucenes_sizes():
    # the sizes of Lucene 8.7's default stop sets (Latvian and Galician: Lucene also loads the files' comment lines
    # as words, 9 and 1 of them, which no token can equal)
    sizes = {"arabic": 119, "armenian": 45, "basque": 98, "bulgarian": 190, "catalan": 218, "czech": 171,
             "galician": 160, "greek": 75, "hindi": 225, "latvian": 161, "persian": 308, "polish": 182, "sorani": 62,
             "indonesian": 355, "turkish": 209, "brazilian": 126, "romanian": 230, "swedish": 114,
             "finnish": 229, "thai": 115, "cjk": 35}
    assert {n: len(load(n)) for n in sizes} == sizes


SENTENCES = [
    line.split("\t")
    for line in (Path(__file__).parent / "data" / "lucene_sentences.tsv").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.mark.parametrize("lang,sentence,expected", SENTENCES, ids=[s[0] for s in SENTENCES])
def test_analyzer_gives_lucenes_tokens(lang, sentence, expected):
    # the same rows the SDK test (tests/compat/test_sdk_languages.py) sends through the Analyze API, in process
    got = " ".join(f"{t.term}@{t.pos}" for t in predefined.get(f"{lang}.lucene").tokens(sentence))
    assert got == expected
