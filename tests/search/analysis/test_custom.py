"""Custom analysis sections: each kind builds, bad definitions are 400s naming the member, random definitions
never crash."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from weft.errors import InvalidInput
from weft.search.analysis.custom import Components
from weft.search.analysis.tokens import Analyzer

P = "#Microsoft.Azure.Search."


def build(**sections) -> Components:
    return Components(sections)


def custom(name="a", tokenizer="standard_v2", filters=(), chars=()):
    return {"name": name, "@odata.type": P + "CustomAnalyzer", "tokenizer": tokenizer, "tokenFilters": list(filters), "charFilters": list(chars)}


def terms(c: Components, name: str, text: str) -> list[str]:
    return c.analyzers[name].terms(text)


def test_edge_ngram_for_prefix_matching():
    c = build(
        analyzers=[custom("pre", filters=["lowercase", "edge"])],
        tokenFilters=[{"name": "edge", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 2, "maxGram": 4}],
    )
    assert terms(c, "pre", "Hotel Sea") == ["ho", "hot", "hote", "se", "sea"]
    toks = c.analyzers["pre"].tokens("Hotel")
    assert {t.pos for t in toks} == {0}


def test_ngram_tokenizer():
    c = build(analyzers=[custom("ng", tokenizer="tri")],
              tokenizers=[{"name": "tri", "@odata.type": P + "NGramTokenizer", "minGram": 3, "maxGram": 3, "tokenChars": ["letter"]}])
    assert terms(c, "ng", "abcd ef") == ["abc", "bcd"]


def test_mapping_char_filter_and_offsets():
    c = build(analyzers=[custom("m", tokenizer="whitespace", chars=["dash"])],
              charFilters=[{"name": "dash", "@odata.type": P + "MappingCharFilter", "mappings": ["-=>_"]}])
    toks = c.analyzers["m"].tokens("vis-à-vis x")
    assert [(t.term, t.start, t.end) for t in toks] == [("vis_à_vis", 0, 9), ("x", 10, 11)]


def test_html_strip_pattern_replace_stopwords_stemmer():
    c = build(
        analyzers=[custom("x", filters=["lowercase", "fr_stop", "stem"], chars=["html_strip", "digits"])],
        tokenFilters=[{"name": "fr_stop", "@odata.type": P + "StopwordsTokenFilter", "stopwordsList": "french"},
                      {"name": "stem", "@odata.type": P + "StemmerTokenFilter", "language": "lightFrench"}],
        charFilters=[{"name": "digits", "@odata.type": P + "PatternReplaceCharFilter", "pattern": "[0-9]+", "replacement": ""}],
    )
    assert terms(c, "x", "<p>Les chevaux 42</p>") == ["cheval"]


def test_predefined_analyzer_kinds():
    c = build(analyzers=[
        {"name": "std", "@odata.type": P + "StandardAnalyzer", "stopwords": ["the"]},
        {"name": "pat", "@odata.type": P + "PatternAnalyzer", "pattern": ",", "lowercase": False},
        {"name": "stp", "@odata.type": P + "StopAnalyzer"},
    ])
    assert terms(c, "std", "The Fox") == ["fox"]
    assert terms(c, "pat", "A,b") == ["A", "b"]
    assert terms(c, "stp", "the fox") == ["fox"]


def test_shingle_word_delimiter_synonym_filters():
    c = build(
        analyzers=[custom("sh", filters=["lowercase", "shingle"]), custom("wd", tokenizer="whitespace", filters=["word_delimiter"]),
                   custom("sy", filters=["lowercase", "syn"])],
        tokenFilters=[{"name": "syn", "@odata.type": P + "SynonymTokenFilter", "synonyms": ["usa, united states"]}],
    )
    assert terms(c, "sh", "New York City") == ["new", "new york", "york", "york city", "city"]
    assert terms(c, "wd", "PowerShot500") == ["Power", "Shot", "500"]
    assert "united" in terms(c, "sy", "USA")


@pytest.mark.parametrize(
    "sections,member",
    [
        ({"analyzers": [custom(tokenizer="nope")]}, "nope"),
        ({"analyzers": [custom(filters=["nope"])]}, "nope"),
        ({"analyzers": [custom(chars=["nope"])]}, "nope"),
        ({"analyzers": [custom(filters=["common_grams"])]}, "common_grams"),
        ({"analyzers": [custom(name="standard.lucene")]}, "standard.lucene"),
        ({"analyzers": [custom(name="-bad")]}, "-bad"),
        ({"analyzers": [custom(), custom()]}, "a"),
        ({"analyzers": [{"name": "a", "@odata.type": P + "Nope"}]}, "Nope"),
        ({"tokenizers": [{"name": "t", "@odata.type": P + "StandardTokenizerV2", "maxTokenLength": 301}]}, "maxTokenLength"),
        ({"tokenizers": [{"name": "t", "@odata.type": P + "NGramTokenizer", "minGram": 3, "maxGram": 2}]}, "minGram"),
        ({"tokenizers": [{"name": "t", "@odata.type": P + "NGramTokenizer", "tokenChars": ["emoji"]}]}, "tokenChars"),
        ({"tokenizers": [{"name": "t", "@odata.type": P + "StandardTokenizerV2", "colour": 1}]}, "colour"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "PhoneticTokenFilter", "encoder": "beiderMorse"}]}, "beiderMorse"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "PhoneticTokenFilter", "encoder": "nope"}]}, "encoder"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "CommonGramTokenFilter"}]}, "commonWords"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "DictionaryDecompounderTokenFilter", "wordList": ["a"], "minSubwordSize": 5, "maxSubwordSize": 3}]}, "minSubwordSize"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "SnowballTokenFilter", "language": "lovins"}]}, "lovins"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "StemmerTokenFilter", "language": "klingon"}]}, "language"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "PatternReplaceTokenFilter", "pattern": "(", "replacement": ""}]}, "pattern"),
        ({"tokenFilters": [{"name": "f", "@odata.type": P + "KeepTokenFilter"}]}, "keepWords"),
        ({"normalizers": [{"name": "n", "@odata.type": P + "CustomNormalizer", "tokenFilters": ["shingle"]}]}, "shingle"),
    ],
)
def test_refusals_name_the_member(sections, member):
    with pytest.raises(InvalidInput) as exc:
        Components(sections)
    assert member in str(exc.value)


_NAMES = st.sampled_from(["a", "b", "lowercase", "asciifolding", "standard_v2", "nGram", "html_strip", "x", "keyword_v2", "shingle"])
_KINDS = st.sampled_from([
    "CustomAnalyzer", "StandardAnalyzer", "PatternAnalyzer", "ClassicTokenizer", "EdgeNGramTokenizer", "NGramTokenizer",
    "PathHierarchyTokenizerV2", "PatternTokenizer", "AsciiFoldingTokenFilter", "EdgeNGramTokenFilterV2", "LengthTokenFilter",
    "ShingleTokenFilter", "StopwordsTokenFilter", "PhoneticTokenFilter", "CommonGramTokenFilter", "DictionaryDecompounderTokenFilter", "SynonymTokenFilter", "WordDelimiterTokenFilter", "MappingCharFilter",
    "PatternReplaceCharFilter", "CustomNormalizer", "Nope",
])
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 400), st.text(max_size=6), st.lists(st.text(max_size=5), max_size=3),
                    st.lists(_NAMES, max_size=3), _NAMES)
_PARAMS = st.dictionaries(st.sampled_from(["tokenizer", "tokenFilters", "charFilters", "minGram", "maxGram", "pattern", "replacement",
                                           "mappings", "synonyms", "stopwords", "maxTokenLength", "min", "max", "delimiter", "group",
                                           "preserveOriginal", "tokenChars", "maxShingleSize", "encoder", "replace", "commonWords",
                                           "queryMode", "wordList", "minSubwordSize", "onlyLongestMatch"]), _VALUES, max_size=4)


@st.composite
def _definition(draw):
    sections = {}
    for section in ("analyzers", "tokenizers", "tokenFilters", "charFilters", "normalizers"):
        items = []
        for _ in range(draw(st.integers(0, 2))):
            item = {"name": draw(_NAMES), "@odata.type": P + draw(_KINDS)}
            item.update(draw(_PARAMS))
            items.append(item)
        if items:
            sections[section] = items
    return sections


@settings(max_examples=300, deadline=None)
@given(_definition(), st.text(max_size=40))
def test_random_definitions_never_crash(sections, text):
    try:
        c = Components(sections)
    except InvalidInput:
        return
    for a in list(c.analyzers.values()) + list(c.normalizers.values()):
        assert isinstance(a, Analyzer)
        for t in a.tokens(text):
            assert isinstance(t.term, str)
            assert 0 <= t.start <= t.end <= len(text) + 1


@settings(max_examples=200, deadline=None)
@given(_definition(), _NAMES, st.one_of(st.none(), _NAMES), st.text(max_size=30))
def test_random_index_definitions_never_crash(sections, analyzer, normalizer, text):
    """A whole index definition with random analysis sections: a 400 or a working index definition."""
    from weft.search.schema import parse_index_definition
    from weft.search.engine.tantivy_layout import Layout

    field = {"name": "body", "type": "Edm.String", "searchable": True, "filterable": True, "analyzer": analyzer}
    if normalizer is not None:
        field["normalizer"] = normalizer
    body = {"name": "idx", "fields": [{"name": "id", "type": "Edm.String", "key": True}, field], **sections}
    try:
        definition = parse_index_definition(body)
    except InvalidInput:
        return
    layout = Layout(definition)
    doc = layout.to_tantivy("1", {"id": "1", "body": text})
    assert doc is not None


@pytest.mark.parametrize("tokenizer", ["standard_v2", "whitespace", "classic", "letter"])
@pytest.mark.parametrize("filters", [["lowercase"], ["lowercase", "reverse"], ["asciifolding", "lowercase"]])
def test_lowercase_is_per_code_point_as_lucene_and_tantivy_give_it(tokenizer, filters):
    # Lucene's LowerCaseFilter (Character.toLowerCase) and tantivy's LowerCaser map a word-final capital sigma to
    # "σ"; Python's str.lower alone gives the final form "ς" (a context rule): the Python path once differed
    c = build(analyzers=[custom("a", tokenizer=tokenizer, filters=filters)])
    got = terms(c, "a", "ΟΔΟΣ ΠΑΝΟΣ")
    expected = ["οδοσ", "πανοσ"] if "reverse" not in filters else ["σοδο", "σοναπ"]
    assert got == expected, got
    assert terms(c, "a", "οδος") == (["οδος"] if "reverse" not in filters else ["ςοδο"])  # a final ς stays itself
