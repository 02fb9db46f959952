"""Text analysis through the official SDK against a live `weft serve`: language analyzers, the Analyze API,
custom analyzers, normalizers and synonym maps."""
from __future__ import annotations

import uuid

import httpx
import pytest
from azure.core import MatchConditions
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceModifiedError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    AnalyzeTextOptions,
    CustomAnalyzer,
    CustomNormalizer,
    EdgeNGramTokenFilter,
    SearchableField,
    SearchField,
    SearchFieldDataType,
    SearchIndex,
    SimpleField,
    SynonymMap,
)

from tests.support.server import API_VERSION


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def index_client(server):
    client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    yield client
    client.close()


def _index(index_client, server, fields, docs, **kw) -> SearchClient:
    name = _name("an")
    index_client.create_index(SearchIndex(name=name, fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True, sortable=True), *fields], **kw))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    client.weft_index = name
    if docs:
        client.upload_documents([{"id": str(i), **d} for i, d in enumerate(docs)])
    return client


def _ids(client: SearchClient, text: str, **kw) -> set[str]:
    return {r["id"] for r in client.search(text, **kw)}


# (analyzer, document text, a query that matches it only through that language's analysis)
LANGUAGE_CASES = [
    ("fr.lucene", "Il fait chaud en l'été", "été"),  # elision
    ("fr.lucene", "Les chevaux courent", "cheval"),  # light stemmer
    ("it.lucene", "Il ramo dell'albero", "alberi"),  # elision + light stemmer
    ("ca.lucene", "l'home", "home"),  # elision
    ("en.lucene", "The dogs were running", "run"),  # Porter stemmer
    ("de.lucene", "Die Häuser sind alt", "Haus"),  # normalization + light stemmer
    ("es.lucene", "Las canciones", "canción"),  # light stemmer with accent folding
    ("ru.lucene", "красивые книги", "книга"),  # Snowball
    ("nl.lucene", "de fietsen", "fiets"),
    ("sv.lucene", "flickorna", "flicka"),
    ("zh-Hans.lucene", "Ｆｕｌｌ 我是中国人", "full"),  # CJK width folding
    ("ar.lucene", "الكتاب", "كتاب"),  # article prefix
    ("tr.lucene", "İstanbul'da", "istanbul"),  # apostrophe + Turkish lower case
]


@pytest.mark.parametrize("analyzer,text,query", LANGUAGE_CASES)
def test_language_analyzer_matches_through_its_analysis(index_client, server, analyzer, text, query):
    client = _index(index_client, server, [SearchableField(name="body", analyzer_name=analyzer),
                                           SearchableField(name="plain", analyzer_name="standard.lucene")],
                    [{"body": text, "plain": text}])
    try:
        assert _ids(client, query, search_fields=["body"]) == {"0"}
        assert _ids(client, query, search_fields=["plain"]) == set()  # standard.lucene alone does not match
    finally:
        index_client.delete_index(client.weft_index)


def test_cjk_bigrams(index_client, server):
    client = _index(index_client, server, [SearchableField(name="body", analyzer_name="zh-Hans.lucene")], [{"body": "我是中国人"}, {"body": "国中"}])
    try:
        assert _ids(client, "中国") == {"0"}
        assert _ids(client, "国中") == {"1"}  # a bigram, not the characters anywhere
    finally:
        index_client.delete_index(client.weft_index)


def test_french_stop_words_are_not_indexed(index_client, server):
    client = _index(index_client, server, [SearchableField(name="body", analyzer_name="fr.lucene")], [{"body": "le chat et la souris"}])
    try:
        assert _ids(client, "chat") == {"0"}
        assert _ids(client, '"chat souris"~2', query_type="full") == {"0"}  # the removed stop words 'et la' leave a gap of two
        assert _ids(client, '"chat souris"') == set()
    finally:
        index_client.delete_index(client.weft_index)


def test_analyze_api_through_the_sdk(index_client, server):
    client = _index(index_client, server, [SearchableField(name="body")], [])
    try:
        result = index_client.analyze_text(client.weft_index, AnalyzeTextOptions(text="L'avion qu'il a pris", analyzer_name="fr.lucene"))
        assert [(t.token, t.start_offset, t.end_offset, t.position) for t in result.tokens] == [
            ("avion", 0, 7, 0), ("a", 14, 15, 2), ("pri", 16, 20, 3)]
        result = index_client.analyze_text(client.weft_index, AnalyzeTextOptions(
            text="<b>Vis-à-vis</b>", tokenizer_name="standard_v2", token_filters=["lowercase", "asciifolding"], char_filters=["html_strip"]))
        assert [t.token for t in result.tokens] == ["vis", "a", "vis"]
        result = index_client.analyze_text(client.weft_index, AnalyzeTextOptions(text="Vis-à-vis means Opposite", normalizer_name="asciifolding"))
        assert [(t.token, t.start_offset, t.end_offset, t.position) for t in result.tokens] == [("Vis-a-vis means Opposite", 0, 24, 0)]
        with pytest.raises(HttpResponseError) as exc:
            index_client.analyze_text(client.weft_index, AnalyzeTextOptions(text="x", analyzer_name="nope.lucene"))
        assert exc.value.status_code == 400 and "nope.lucene" in str(exc.value)
    finally:
        index_client.delete_index(client.weft_index)


def test_ngram_analyzer_for_partial_matching(index_client, server):
    prefix = CustomAnalyzer(name="prefix_an", tokenizer_name="standard_v2", token_filters=["lowercase", "edge_2_10"])
    edge = EdgeNGramTokenFilter(name="edge_2_10", min_gram=2, max_gram=10)
    fields = [SearchField(name="title", type=SearchFieldDataType.String, searchable=True, index_analyzer_name="prefix_an",
                          search_analyzer_name="standard.lucene")]
    client = _index(index_client, server, fields, [{"title": "Fancy Stay"}, {"title": "Roach Motel"}], analyzers=[prefix], token_filters=[edge])
    try:
        assert _ids(client, "fan") == {"0"}
        assert _ids(client, "mot") == {"1"}
        assert _ids(client, "motel") == {"1"}
        assert _ids(client, "otel") == set()  # edge grams: prefixes only
        got = index_client.get_index(client.weft_index)
        assert got.analyzers[0].name == "prefix_an"
        assert got.fields[1].index_analyzer_name == "prefix_an"
    finally:
        index_client.delete_index(client.weft_index)


def test_case_and_accent_insensitive_normalizer_on_facet_filter_and_sort(index_client, server):
    norm = CustomNormalizer(name="folded", token_filters=["lowercase", "asciifolding"])
    fields = [SearchField(name="city", type=SearchFieldDataType.String, filterable=True, facetable=True, sortable=True, normalizer_name="folded")]
    docs = [{"city": "Montréal"}, {"city": "MONTREAL"}, {"city": "montreal"}, {"city": "Zürich"}, {"city": "aarhus"}]
    client = _index(index_client, server, fields, docs, normalizers=[norm])
    try:
        assert _ids(client, "*", filter="city eq 'MONTRÉAL'") == {"0", "1", "2"}
        assert _ids(client, "*", filter="search.in(city, 'zurich')") == {"3"}
        assert _ids(client, "*", filter="city gt 'n'") == {"3"}
        facets = client.search("*", facets=["city"]).get_facets()["city"]
        assert {f["value"]: f["count"] for f in facets} == {"montreal": 3, "zurich": 1, "aarhus": 1}
        order = [r["city"] for r in client.search("*", order_by=["city asc", "id asc"])]
        assert order[0] == "aarhus" and order[-1] == "Zürich"
        assert [r["city"] for r in client.search("*", filter="city eq 'montreal'", order_by=["id"])] == ["Montréal", "MONTREAL", "montreal"]
    finally:
        index_client.delete_index(client.weft_index)


def test_synonyms_through_the_sdk(index_client, server):
    map_name = _name("syn")
    index_client.create_synonym_map(SynonymMap(name=map_name, synonyms=["USA, United States", "Wash. => WA"]))
    fields = [SearchField(name="body", type=SearchFieldDataType.String, searchable=True, synonym_map_names=[map_name])]
    client = _index(index_client, server, fields, [{"body": "Visiting the United States"}, {"body": "WA state"}, {"body": "hamburgers"}])
    try:
        assert _ids(client, "USA") == {"0"}
        assert _ids(client, '"united states"') == {"0"}
        assert _ids(client, '"visiting the USA"') == {"0"}  # a left side inside a phrase
        assert _ids(client, "Wash.") == {"1"}
        # update the map: the next query uses it, without reindexing
        current = index_client.get_synonym_map(map_name)
        current.synonyms = ["USA, United States", "burgers, hamburgers"]
        index_client.create_or_update_synonym_map(current, match_condition=MatchConditions.IfNotModified)
        assert _ids(client, "burgers") == {"2"}
        assert _ids(client, "Wash.") == set()
        with pytest.raises(ResourceModifiedError):
            index_client.create_or_update_synonym_map(current, match_condition=MatchConditions.IfNotModified)
        assert map_name in index_client.get_synonym_map_names()
    finally:
        index_client.delete_index(client.weft_index)
        index_client.delete_synonym_map(map_name)


def test_dangling_synonym_map_reference_is_400(index_client):
    fields = [SimpleField(name="id", type=SearchFieldDataType.String, key=True),
              SearchField(name="body", type=SearchFieldDataType.String, searchable=True, synonym_map_names=["missing-map"])]
    with pytest.raises(HttpResponseError) as exc:
        index_client.create_index(SearchIndex(name=_name("dang"), fields=fields))
    assert exc.value.status_code == 400 and "missing-map" in str(exc.value)


def test_synonym_map_rest_both_path_styles_and_select(server):
    h = {"api-key": server.admin_key}
    base = server.endpoint
    name = _name("rest")
    r = httpx.put(f"{base}/synonymmaps('{name}')?api-version={API_VERSION}", headers=h, json={"name": name, "format": "solr", "synonyms": "a, b"})
    assert r.status_code == 201 and r.headers["ETag"] == r.json()["@odata.etag"]
    etag = r.json()["@odata.etag"]
    r = httpx.put(f"{base}/synonymmaps/{name}?api-version={API_VERSION}", headers={**h, "If-None-Match": "*"}, json={"name": name, "synonyms": "a, c"})
    assert r.status_code == 412
    r = httpx.get(f"{base}/synonymmaps?api-version={API_VERSION}&$select=name", headers=h)
    assert {"name": name} in r.json()["value"]
    r = httpx.get(f"{base}/synonymmaps?api-version={API_VERSION}&$select=name,nonsense", headers=h)
    assert r.status_code == 400 and "'nonsense' is not a property of a synonym map" in r.json()["error"]["message"]
    r = httpx.get(f"{base}/aliases?api-version={API_VERSION}&$select=indexes,nonsense", headers=h)
    assert r.status_code == 400 and "'nonsense' is not a property of an alias" in r.json()["error"]["message"]
    r = httpx.post(f"{base}/synonymmaps?api-version={API_VERSION}", headers=h, json={"name": _name("bad"), "synonyms": "a => b => c"})
    assert r.status_code == 400 and "=>" in r.json()["error"]["message"]
    r = httpx.post(f"{base}/synonymmaps?api-version={API_VERSION}", headers=h, json={"name": _name("bad"), "format": "wordnet", "synonyms": "a"})
    assert r.status_code == 400 and "wordnet" in r.json()["error"]["message"]
    r = httpx.delete(f"{base}/synonymmaps('{name}')?api-version={API_VERSION}", headers={**h, "If-Match": '"0xWRONG"'})
    assert r.status_code == 412
    r = httpx.delete(f"{base}/synonymmaps('{name}')?api-version={API_VERSION}", headers={**h, "If-Match": etag})
    assert r.status_code == 204
    assert httpx.get(f"{base}/synonymmaps/{name}?api-version={API_VERSION}", headers=h).status_code == 404


@pytest.mark.parametrize(
    "body,member",
    [
        ({"analyzer": "nope.lucene"}, "nope.lucene"),
        ({"indexAnalyzer": "fr.lucene", "searchAnalyzer": "fr.lucene"}, "fr.lucene"),
        ({"analyzer": "my_an"}, "my_an"),
    ],
)
def test_analyzer_refusals_are_odata_400s(server, body, member):
    h = {"api-key": server.admin_key}
    index = {"name": _name("ref"), "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                                {"name": "body", "type": "Edm.String", "searchable": True, **body}]}
    r = httpx.post(f"{server.endpoint}/indexes?api-version={API_VERSION}", headers=h, json=index)
    assert r.status_code == 400
    assert member in r.json()["error"]["message"]


def test_unsupported_component_is_400_naming_it(server):
    h = {"api-key": server.admin_key}
    index = {"name": _name("ref"), "fields": [{"name": "id", "type": "Edm.String", "key": True}],
             "tokenFilters": [{"name": "ph", "@odata.type": "#Microsoft.Azure.Search.PhoneticTokenFilter", "encoder": "beiderMorse"}]}
    r = httpx.post(f"{server.endpoint}/indexes?api-version={API_VERSION}", headers=h, json=index)
    assert r.status_code == 400 and "beiderMorse" in r.json()["error"]["message"]


def test_index_updates_follow_azures_analysis_rules(index_client, server):
    fields = [SearchField(name="title", type=SearchFieldDataType.String, searchable=True, index_analyzer_name="standard.lucene",
                          search_analyzer_name="standard.lucene")]
    client = _index(index_client, server, fields, [{"title": "Fancy Stay"}])
    name = client.weft_index
    try:
        index = index_client.get_index(name)
        index.analyzers = [CustomAnalyzer(name="kw_lower", tokenizer_name="keyword_v2", token_filters=["lowercase"])]
        with pytest.raises(HttpResponseError) as exc:
            index_client.create_or_update_index(index)
        assert exc.value.status_code == 400 and "allowIndexDowntime" in str(exc.value)
        index_client.create_or_update_index(index, allow_index_downtime=True)
        assert _ids(client, '"fancy stay"') == {"0"}
        # searchAnalyzer may change on an existing field, and the next query uses it
        index = index_client.get_index(name)
        index.fields[1].search_analyzer_name = "kw_lower"
        index_client.create_or_update_index(index)
        assert _ids(client, "fancy") == {"0"}
        assert _ids(client, '"fancy stay"') == set()  # now one keyword token, which was never indexed
        # analyzer / indexAnalyzer may not
        index = index_client.get_index(name)
        index.fields[1].index_analyzer_name = "kw_lower"
        with pytest.raises(HttpResponseError) as exc:
            index_client.create_or_update_index(index, allow_index_downtime=True)
        assert exc.value.status_code == 400 and "title" in str(exc.value)
    finally:
        index_client.delete_index(name)
