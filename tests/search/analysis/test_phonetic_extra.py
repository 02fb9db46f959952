"""NYSIIS and Elasticsearch's Kölner / Haase phonetics against the Java encoders, code by code.

data/phonetic_extra_codes.tsv: for each word, the term Lucene 8.7's PhoneticFilter emits with commons-codec 1.15's
``Nysiis()`` (the term itself when the code is empty), and the codes of Elasticsearch's ``KoelnerPhonetik`` and
``HaasePhonetik`` (run from the phonetic plugin's sources) on real words, generated letter strings and upper-case and
punctuated forms that exercise every variation pattern."""
from __future__ import annotations

from pathlib import Path

import pytest

from weft.search.analysis import phonetic, phonetic_extra
from weft.search.analysis.custom import Components, InvalidInput
from weft.search.analysis.tokens import Tok

P = "#Microsoft.Azure.Search."
ROWS = [line.split("\t") for line in (Path(__file__).parent / "data" / "phonetic_extra_codes.tsv").read_text(encoding="utf-8").split("\n")
        if line and not line.startswith("#")]


def test_nysiis_as_lucenes_phonetic_filter():
    assert len(ROWS) >= 2500
    wrong = [(r[0], r[1], phonetic.encode("nysiis", r[0])) for r in ROWS if (phonetic.encode("nysiis", r[0]) or r[0]) != r[1]]
    assert wrong == []


@pytest.mark.parametrize("column,encoder", [(2, phonetic_extra.koelner), (3, phonetic_extra.haase)], ids=["koelner", "haase"])
def test_kolner_and_haase_as_elasticsearch(column, encoder):
    wrong = [(r[0], r[column], encoder(r[0])) for r in ROWS if encoder(r[0]) != r[column]]
    assert wrong == []


@pytest.mark.parametrize("encoder,word,code", [
    ("koelnerPhonetik", "Müller", "657"), ("koelnerPhonetik", "HERBERT", "07172_07372"), ("koelnerPhonetik", "Herbert", "07172"),
    ("koelnerPhonetik", "Hans Peter", "068127_068_127"), ("haasePhonetik", "ANNA", "96_967"),
    ("haasePhonetik", "CHRISTIAN", "4826_826"), ("haasePhonetik", "Eberhard", "9172"),
    ("nysiis", "Robert", "RABAD"), ("nysiis", "Knight", "NAGT"), ("nysiis", "Schmidt", "SNAD"), ("nysiis", "Meyer", "MAYAR"),
])
def test_known_codes(encoder, word, code):
    assert phonetic.ENCODERS[encoder](word) == code


@pytest.mark.parametrize("encoder", ["nysiis", "koelnerPhonetik", "haasePhonetik"])
def test_phonetic_token_filter_takes_the_encoder(encoder):
    c = Components({
        "tokenFilters": [{"name": "ph", "@odata.type": P + "PhoneticTokenFilter", "encoder": encoder, "replace": False}],
        "analyzers": [{"name": "a", "@odata.type": P + "CustomAnalyzer", "tokenizer": "whitespace", "tokenFilters": ["ph"]}],
    })
    a, b = ("Smith", "Schmidt") if encoder != "nysiis" else ("Smith", "Smyth")
    toks = c.analyzers["a"].tokens(f"{a} {b}")
    code = phonetic.ENCODERS[encoder](a)
    assert [(t.term, t.pos) for t in toks] == [(code, 0), (a, 0), (phonetic.ENCODERS[encoder](b), 1), (b, 1)]
    # the two spellings meet under the encoder (NYSIIS: SNAT / SNYT do not, by design of the code)
    assert (toks[0].term == toks[2].term) == (encoder != "nysiis")


@pytest.mark.parametrize("encoder", phonetic.NOT_IMPLEMENTED)
def test_remaining_encoders_are_refused_by_name(encoder):
    with pytest.raises(InvalidInput, match=encoder):
        Components({"tokenFilters": [{"name": "ph", "@odata.type": P + "PhoneticTokenFilter", "encoder": encoder}]})


DM_ROWS = [line.split("\t") for line in (Path(__file__).parent / "data" / "double_metaphone_codes.tsv").read_text(encoding="utf-8").split("\n")
           if line and not line.startswith("#")]


@pytest.mark.parametrize("replace,column", [(True, 1), (False, 2)], ids=["replace", "inject"])
def test_double_metaphone_as_lucenes_filter(replace, column):
    # primary and alternate codes at the term's position, commons-codec's quirks included (a final J gives the
    # alternate a space: "AKS "); with replace false the term comes first
    assert len(DM_ROWS) >= 2500
    run = phonetic.phonetic_filter("doubleMetaphone", replace)
    wrong = []
    for row in DM_ROWS:
        got = " ".join(f"{t.term}@{t.pos}" for t in run([Tok(row[0], 0, len(row[0]), 0)]))
        if got != row[column]:
            wrong.append((row[0], row[column], got))
    assert wrong == []


def test_double_metaphone_in_a_custom_analyzer():
    c = Components({
        "tokenFilters": [{"name": "dm", "@odata.type": P + "PhoneticTokenFilter", "encoder": "doubleMetaphone"}],
        "analyzers": [{"name": "a", "@odata.type": P + "CustomAnalyzer", "tokenizer": "whitespace", "tokenFilters": ["dm"]}],
    })
    assert [(t.term, t.pos) for t in c.analyzers["a"].tokens("Schmidt Smith Thompson")] == [
        ("XMT", 0), ("SMT", 0), ("SM0", 1), ("XMT", 1), ("TMPS", 2)]
