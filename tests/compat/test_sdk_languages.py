"""Language analyzers through the official SDK against a live `weft serve`: the Analyze API gives Lucene 8.7's
tokens for sentences in each language (tests/search/analysis/data/lucene_sentences.tsv, made by running Lucene's
analyzers), and searches match only through that language's stop words and stemmer."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    AnalyzeTextOptions,
    CustomAnalyzer,
    PhoneticEncoder,
    PhoneticTokenFilter,
    SearchableField,
    SearchFieldDataType,
    SearchIndex,
    SimpleField,
    StemmerTokenFilter,
    StopwordsTokenFilter,
)

SENTENCES = [
    line.split("\t")
    for line in (Path(__file__).parents[1] / "search" / "analysis" / "data" / "lucene_sentences.tsv").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


@pytest.fixture(scope="module")
def index_client(server):
    client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    yield client
    client.close()


@pytest.fixture(scope="module")
def analysis_index(index_client):
    name = f"lang-{uuid.uuid4().hex[:8]}"
    index_client.create_index(SearchIndex(
        name=name,
        fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True), SearchableField(name="body")],
        analyzers=[CustomAnalyzer(name="bg_custom", tokenizer_name="standard_v2", token_filters=["lowercase", "bg_stop", "bg_stem"])],
        token_filters=[StemmerTokenFilter(name="bg_stem", language="bulgarian"),
                       StemmerTokenFilter(name="lv_stem", language="latvian"),
                       StemmerTokenFilter(name="gl_stem", language="galician"),
                       StemmerTokenFilter(name="pt_rslp", language="portugueseRslp"),
                       StopwordsTokenFilter(name="bg_stop", stopwords_list="bulgarian")],
    ))
    yield name
    index_client.delete_index(name)


def _terms(index_client, index, **kw):
    return " ".join(f"{t.token}@{t.position}" for t in index_client.analyze_text(index, AnalyzeTextOptions(**kw)).tokens)


@pytest.mark.parametrize("lang,sentence,expected", SENTENCES, ids=[s[0] for s in SENTENCES])
def test_analyze_api_gives_lucenes_tokens(index_client, analysis_index, lang, sentence, expected):
    assert _terms(index_client, analysis_index, text=sentence, analyzer_name=f"{lang}.lucene") == expected


def test_custom_stemmer_and_stop_list_filters(index_client, analysis_index):
    text = "Кучетата на професорите"
    assert _terms(index_client, analysis_index, text=text, analyzer_name="bg_custom") == "куч@0 професор@2"
    assert _terms(index_client, analysis_index, text="Brāļu zvaigžņu", tokenizer_name="standard_v2",
                  token_filters=["lowercase", "lv_stem"]) == "brāl@0 zvaigzn@1"
    assert _terms(index_client, analysis_index, text="as cidades felizmente", tokenizer_name="standard_v2",
                  token_filters=["lowercase", "gl_stem"]) == "as@0 cid@1 feliz@2"
    assert _terms(index_client, analysis_index, text="balões meninas", tokenizer_name="standard_v2",
                  token_filters=["lowercase", "pt_rslp"]) == "bal@0 menin@1"


# (analyzer, document, query with search_mode=all): the query has a stop word of the language and an inflected
# form, so only the language's stop list and stemmer make it match; standard.lucene on the same text does not.
SEARCH_CASES = [
    ("bg.lucene", "Кучетата тичат", "на кучета"),
    ("gl.lucene", "As cidades galegas", "cidade e"),
    ("lv.lucene", "Brāļu grāmatas", "un grāmata"),
    ("ar.lucene", "المكتبات الجديدة", "الذي المكتبة"),
    ("ca.lucene", "Les muntanyes altes", "la muntanya"),
    ("hy.lucene", "Մարդկանց քաղաքներում", "այս մարդկանց"),
    ("eu.lucene", "Mendiak handiak", "eta mendi"),
    ("fa.lucene", "کتاب‌ها خوب", "این کتاب"),
    ("hi.lucene", "दोस्तों की किताबें", "यह दोस्त"),  # virama dropped, then the stemmer
    ("el.lucene", "Τα παιδιά παίζουν", "το παιδί"),  # Lucene's GreekStemmer (Snowball gives πα / παιδ)
    ("cs.lucene", "Psi v domech", "ten domech"),
    ("pl.lucene", "Dzieci czytali książki", "jest dziecko"),  # Stempel: dzieci -> dziecko
    ("pt-BR.lucene", "As informações foram publicadas", "a informação"),
    ("id.lucene", "Para pelajar mempelajari bahasanya", "yang ajar"),  # mempelajari -> ajar
    ("th.lucene", "ฉันชอบกินข้าวผัดกับไก่ทอด", "และ ไก่"),  # dictionary word break + stop word
]


@pytest.mark.parametrize("analyzer,text,query", SEARCH_CASES, ids=[c[0] for c in SEARCH_CASES])
def test_search_matches_through_stop_words_and_stemming(index_client, server, analyzer, text, query):
    name = f"lang-{uuid.uuid4().hex[:8]}"
    index_client.create_index(SearchIndex(name=name, fields=[
        SimpleField(name="id", type=SearchFieldDataType.String, key=True),
        SearchableField(name="body", analyzer_name=analyzer), SearchableField(name="plain", analyzer_name="standard.lucene")]))
    try:
        client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
        client.upload_documents([{"id": "1", "body": text, "plain": text}])
        assert [r["id"] for r in client.search(query, search_fields=["body"], search_mode="all")] == ["1"]
        assert [r["id"] for r in client.search(query, search_fields=["plain"], search_mode="all")] == []
    finally:
        index_client.delete_index(name)


@pytest.mark.parametrize("encoder,code", [("koelnerPhonetik", "862@0"), ("haasePhonetik", "862@0"), ("nysiis", "SNAD@0"),
                                          ("doubleMetaphone", "XMT@0 SMT@0")])
def test_phonetic_encoders_through_the_sdk(index_client, server, encoder, code):
    # the Analyze API gives the encoder's code (Elasticsearch's Kölner/Haase classes, commons-codec's NYSIIS and
    # Double Metaphone: primary and alternate at one position), and a
    # search for another spelling matches through it
    name = f"phon-{uuid.uuid4().hex[:8]}"
    index_client.create_index(SearchIndex(
        name=name,
        fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True), SearchableField(name="body", analyzer_name="ph")],
        analyzers=[CustomAnalyzer(name="ph", tokenizer_name="standard_v2", token_filters=["phon"])],
        token_filters=[PhoneticTokenFilter(name="phon", encoder=PhoneticEncoder(encoder))],
    ))
    try:
        assert _terms(index_client, name, text="Schmidt", analyzer_name="ph") == code
        client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
        client.upload_documents([{"id": "1", "body": "Schmidt"}])
        other = "Schmiedt" if encoder == "nysiis" else "Smith"
        assert [r["id"] for r in client.search(other, search_fields=["body"])] == ["1"]
    finally:
        index_client.delete_index(name)
