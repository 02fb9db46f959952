"""Common grams, dictionary decompounding and phonetic encoders, against the outputs of Lucene 8.7 and
commons-codec 1.15 (run on the same inputs), through the custom-analysis definitions Azure uses."""
from __future__ import annotations

from pathlib import Path

import pytest

from weft.search.analysis import phonetic
from weft.search.analysis.custom import Components

P = "#Microsoft.Azure.Search."


def _show(toks):
    return " ".join(f"{t.term}@{t.pos}[{t.start},{t.end}]" for t in toks)


def _analyzer(filters: list[dict], tokenizer: str = "whitespace"):
    names = [f["name"] for f in filters]
    c = Components({"tokenFilters": filters, "analyzers": [
        {"name": "a", "@odata.type": P + "CustomAnalyzer", "tokenizer": tokenizer, "tokenFilters": names}]})
    return c.analyzers["a"]


COMMON = ["the", "in", "of", "a"]
# Lucene 8.7: CommonGramsFilter / CommonGramsQueryFilter over WhitespaceTokenizer with these common words
COMMON_GRAMS = [
    ("the rain in spain falls mainly",
     "the@0[0,3] the_rain@0[0,8] rain@1[4,8] rain_in@1[4,11] in@2[9,11] in_spain@2[9,17] spain@3[12,17] falls@4[18,23] mainly@5[24,30]",
     "the_rain@0[0,8] rain_in@1[4,11] in_spain@2[9,17] spain@3[12,17] falls@4[18,23] mainly@5[24,30]"),
    ("fox of the woods",
     "fox@0[0,3] fox_of@0[0,6] of@1[4,6] of_the@1[4,10] the@2[7,10] the_woods@2[7,16] woods@3[11,16]",
     "fox_of@0[0,6] of_the@1[4,10] the_woods@2[7,16]"),
    ("quick the", "quick@0[0,5] quick_the@0[0,9] the@1[6,9]", "quick_the@0[0,9]"),
    ("the", "the@0[0,3]", "the@0[0,3]"),
    ("The Rain", "The@0[0,3] Rain@1[4,8]", "The@0[0,3] Rain@1[4,8]"),
]


@pytest.mark.parametrize("text,index_out,query_out", COMMON_GRAMS)
def test_common_grams_as_lucene(text, index_out, query_out):
    f = {"name": "cg", "@odata.type": P + "CommonGramTokenFilter", "commonWords": COMMON}
    assert _show(_analyzer([f]).tokens(text)) == index_out
    assert _show(_analyzer([{**f, "queryMode": True}]).tokens(text)) == query_out


def test_common_grams_ignore_case():
    f = {"name": "cg", "@odata.type": P + "CommonGramTokenFilter", "commonWords": ["the", "in"], "ignoreCase": True}
    assert _show(_analyzer([f]).tokens("The Rain IN x")) == (
        "The@0[0,3] The_Rain@0[0,8] Rain@1[4,8] Rain_IN@1[4,11] IN@2[9,11] IN_x@2[9,13] x@3[12,13]")


DICT = ["donau", "dampf", "schiff", "fahrt", "dampfschiff", "schiffahrt", "ff", "fa"]
TEXT = "donaudampfschiffahrt xdampf abc schiff Donaudampf"


@pytest.mark.parametrize("params,expected", [
    ({}, "donaudampfschiffahrt@0[0,20] donau@0[0,20] dampf@0[0,20] dampfschiff@0[0,20] schiff@0[0,20] schiffahrt@0[0,20] "
         "ff@0[0,20] fa@0[0,20] fahrt@0[0,20] xdampf@1[21,27] dampf@1[21,27] abc@2[28,31] schiff@3[32,38] schiff@3[32,38] "
         "ff@3[32,38] Donaudampf@4[39,49] dampf@4[39,49]"),
    ({"onlyLongestMatch": True},
     "donaudampfschiffahrt@0[0,20] donau@0[0,20] dampfschiff@0[0,20] schiffahrt@0[0,20] ff@0[0,20] fahrt@0[0,20] "
     "xdampf@1[21,27] dampf@1[21,27] abc@2[28,31] schiff@3[32,38] schiff@3[32,38] ff@3[32,38] Donaudampf@4[39,49] dampf@4[39,49]"),
    ({"minWordSize": 6, "minSubwordSize": 3, "maxSubwordSize": 5},
     "donaudampfschiffahrt@0[0,20] donau@0[0,20] dampf@0[0,20] fahrt@0[0,20] xdampf@1[21,27] dampf@1[21,27] abc@2[28,31] "
     "schiff@3[32,38] Donaudampf@4[39,49] dampf@4[39,49]"),
])
def test_dictionary_decompounder_as_lucene(params, expected):
    f = {"name": "dc", "@odata.type": P + "DictionaryDecompounderTokenFilter", "wordList": DICT, **params}
    assert _show(_analyzer([f]).tokens(TEXT)) == expected


COLUMNS = ("metaphone", "soundex", "refinedSoundex", "caverphone1", "caverphone2", "cologne")


def _codes():
    rows = []
    for line in (Path(__file__).parent / "data" / "phonetic_codes.tsv").read_text(encoding="utf-8").split("\n"):
        if line and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


@pytest.mark.parametrize("column", range(len(COLUMNS)), ids=COLUMNS)
def test_encoders_give_commons_codec_codes(column):
    encoder = phonetic.ENCODERS[COLUMNS[column]]
    rows = _codes()
    assert len(rows) > 1000
    wrong = []
    for row in rows:
        try:
            got = encoder(row[0])
        except phonetic.NotEncodable:
            got = "!ERR"
        if got != row[column + 1]:
            wrong.append((row[0], row[column + 1], got))
    assert wrong == []


def test_phonetic_filter_as_lucene():
    # Lucene's PhoneticFilter with Soundex, inject false / true: a term the encoder cannot encode (or encodes to
    # nothing) stays as it is
    base = {"name": "ph", "@odata.type": P + "PhoneticTokenFilter", "encoder": "soundex"}
    text = "Smith 123 Müller A ACE"
    assert _show(_analyzer([base]).tokens(text)) == "S530@0[0,5] 123@1[6,9] Müller@2[10,16] A000@3[17,18] A200@4[19,22]"
    assert [f"{t.term}@{t.pos}" for t in _analyzer([{**base, "replace": False}]).tokens(text)] == (
        "S530@0 Smith@0 123@1 Müller@2 A000@3 A@3 A200@4 ACE@4".split())
    # the default encoder is metaphone; the predefined 'phonetic' filter too
    assert _analyzer([{"name": "ph", "@odata.type": P + "PhoneticTokenFilter"}]).terms("Knight Schmidt") == ["NT", "SKMT"]
    c = Components({"analyzers": [{"name": "a", "@odata.type": P + "CustomAnalyzer", "tokenizer": "whitespace", "tokenFilters": ["phonetic"]}]})
    assert c.analyzers["a"].terms("Thompson") == ["0MPS"]
