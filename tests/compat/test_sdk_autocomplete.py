"""Autocomplete modes, fuzzy, $filter, searchFields, highlight tags, minimumCoverage and top through the official
SearchClient (and the GET form), and suggest alongside."""
from __future__ import annotations

import uuid

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import SearchableField, SearchFieldDataType, SearchIndex, SearchSuggester, SimpleField

from tests.support.server import API_VERSION

DOCS = [
    {"id": "1", "title": "Washington medicaid office", "city": "Seattle", "rating": 5},
    {"id": "2", "title": "Washington medical center", "city": "Spokane", "rating": 4},
    {"id": "3", "title": "Medicare coverage plans", "city": "Tacoma", "rating": 3},
    {"id": "4", "title": "Medical assistant jobs", "city": "Medina", "rating": 2},
    {"id": "5", "title": "Medicine cabinet Washington", "city": "Olympia", "rating": 1},
    {"id": "6", "title": "Medicare coverage for seniors", "city": "Seattle", "rating": 4},
]


@pytest.fixture(scope="module")
def index(server):
    name = f"ac-{uuid.uuid4().hex[:8]}"
    client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    client.create_index(SearchIndex(name=name, fields=[
        SimpleField(name="id", type=SearchFieldDataType.String, key=True),
        SearchableField(name="title"),
        SearchableField(name="city"),
        SimpleField(name="rating", type=SearchFieldDataType.Int32, filterable=True),
    ], suggesters=[SearchSuggester(name="sg", source_fields=["title", "city"])]))
    client.get_search_client(name).upload_documents(DOCS)
    yield name
    client.delete_index(name)
    client.close()


@pytest.fixture(scope="module")
def search(server, index):
    from azure.search.documents import SearchClient

    with SearchClient(server.endpoint, index, AzureKeyCredential(server.query_key)) as c:
        yield c


def _pairs(items):
    return [(i["text"], i["query_plus_text"] if "query_plus_text" in i else i["queryPlusText"]) for i in items]


def test_one_term_completes_the_last_term(search):
    assert _pairs(search.autocomplete("washington medic", "sg", top=2)) == [("medical", "washington medical"), ("medicare", "washington medicare")]
    texts = [i["text"] for i in search.autocomplete("washington medic", "sg")]
    assert texts == ["medical", "medicare", "medicaid", "medicine"]
    assert [i["text"] for i in search.autocomplete("medic", "sg", mode="oneTerm", top=2)] == ["medical", "medicare"]
    assert [i["text"] for i in search.autocomplete("MOT", "sg")] == []  # nothing begins with it
    assert [i["text"] for i in search.autocomplete("se", "sg")] == ["seattle", "seniors"]  # two fields, by document count


def test_two_terms_adds_the_following_term(search):
    assert _pairs(search.autocomplete("medic", "sg", mode="twoTerms")) == [
        ("medicare coverage", "medicare coverage"), ("medicaid office", "medicaid office"), ("medical assistant", "medical assistant"),
        ("medical center", "medical center"), ("medicine cabinet", "medicine cabinet")]
    assert _pairs(search.autocomplete("washington medic", "sg", mode="twoTerms", top=1)) == [("medicare coverage", "washington medicare coverage")]


def test_one_term_with_context_needs_the_previous_term_before_it(search):
    assert _pairs(search.autocomplete("washington medic", "sg", mode="oneTermWithContext")) == [
        ("washington medicaid", "washington medicaid"), ("washington medical", "washington medical")]
    assert _pairs(search.autocomplete("new Washington medic", "sg", mode="oneTermWithContext")) == [
        ("washington medicaid", "new washington medicaid"), ("washington medical", "new washington medical")]
    assert [i["text"] for i in search.autocomplete("coverage medic", "sg", mode="oneTermWithContext")] == []
    # with one term it is oneTerm
    assert [i["text"] for i in search.autocomplete("medic", "sg", mode="oneTermWithContext")] == ["medical", "medicare", "medicaid", "medicine"]


def test_filter_restricts_the_documents(search):
    assert [i["text"] for i in search.autocomplete("medic", "sg", filter="rating ge 4")] == ["medicaid", "medical", "medicare"]
    assert [i["text"] for i in search.autocomplete("medic", "sg", filter="rating le 2", mode="twoTerms")] == ["medical assistant", "medicine cabinet"]
    assert [i["text"] for i in search.autocomplete("washington medic", "sg", filter="rating eq 4", mode="oneTermWithContext")] == ["washington medical"]
    with pytest.raises(HttpResponseError) as err:
        search.autocomplete("medic", "sg", filter="nosuchfield eq 1")
    assert err.value.status_code == 400


def test_fuzzy_allows_one_edit(search):
    assert [i["text"] for i in search.autocomplete("medc", "sg")] == []
    # 'medina' (a city) too: 'medi' is one substitution from 'medc'
    assert [i["text"] for i in search.autocomplete("medc", "sg", use_fuzzy_matching=True)] == ["medical", "medicare", "medicaid", "medicine", "medina"]
    assert [i["text"] for i in search.autocomplete("medc", "sg", use_fuzzy_matching=True, search_fields="title")] == [
        "medical", "medicare", "medicaid", "medicine"]
    assert [i["text"] for i in search.autocomplete("wahsing", "sg", use_fuzzy_matching=True)] == ["washington"]  # a swap
    assert [i["text"] for i in search.autocomplete("wxxsing", "sg", use_fuzzy_matching=True)] == []  # two edits
    assert [i["text"] for i in search.autocomplete("medc", "sg", use_fuzzy_matching=True, mode="twoTerms", filter="rating ge 4")] == [
        "medicaid office", "medical center", "medicare coverage"]


def test_search_fields_and_highlight_and_coverage(search):
    assert [i["text"] for i in search.autocomplete("med", "sg", search_fields=["city"])] == ["medina"]
    assert [i["text"] for i in search.autocomplete("med", "sg", search_fields=["title"], top=1)] == ["medical"]
    items = search.autocomplete("washington medic", "sg", highlight_pre_tag="<b>", highlight_post_tag="</b>", top=1)
    assert _pairs(items) == [("medical", "washington <b>medical</b>")]
    items = search.autocomplete("washington medic", "sg", mode="oneTermWithContext", highlight_pre_tag="[", highlight_post_tag="]", top=1)
    assert _pairs(items) == [("washington medicaid", "washington [medicaid]")]
    items = search.autocomplete("medic", "sg", mode="twoTerms", highlight_pre_tag="<em>", highlight_post_tag="</em>", top=1)
    assert _pairs(items) == [("medicare coverage", "<em>medicare coverage</em>")]


def test_raw_response_shape_and_get_form(server, index):
    base = f"{server.endpoint}/indexes('{index}')/docs"
    h = {"api-key": server.query_key}
    r = httpx.post(f"{base}/search.post.autocomplete", params={"api-version": API_VERSION}, headers=h,
                   json={"search": "medic", "suggesterName": "sg", "minimumCoverage": 80, "top": 1})
    assert r.json() == {"@search.coverage": 100.0, "value": [{"text": "medical", "queryPlusText": "medical"}]}
    r = httpx.post(f"{base}/search.post.autocomplete", params={"api-version": API_VERSION}, headers=h, json={"search": "medic", "suggesterName": "sg", "top": 1})
    assert r.json()["@search.coverage"] is None
    r = httpx.get(f"{base}/search.autocomplete", headers=h, params={
        "api-version": API_VERSION, "search": "medc", "suggesterName": "sg", "autocompleteMode": "twoTerms", "fuzzy": "true",
        "$filter": "rating ge 4", "searchFields": "title", "highlightPreTag": "<b>", "highlightPostTag": "</b>", "$top": "2"})
    assert r.status_code == 200, r.text
    assert r.json()["value"] == [{"text": "medicaid office", "queryPlusText": "<b>medicaid office</b>"},
                                 {"text": "medical center", "queryPlusText": "<b>medical center</b>"}]


@pytest.mark.parametrize("body,parameter", [
    ({"top": 0}, "top"), ({"top": 101}, "top"), ({"top": "5"}, "top"),
    ({"autocompleteMode": "threeTerms"}, "autocompleteMode"),
    ({"searchFields": ["rating"]}, "searchFields"), ({"searchFields": "nosuch"}, "searchFields"),
    ({"highlightPreTag": "<b>"}, "highlightPostTag"), ({"highlightPostTag": "</b>"}, "highlightPreTag"),
    ({"minimumCoverage": 101}, "minimumCoverage"), ({"minimumCoverage": "all"}, "minimumCoverage"),
    ({"fuzzy": "yes"}, "fuzzy"), ({"search": ""}, "search"), ({"search": "   "}, "search"), ({"search": "x" * 101}, "search"),
    ({"select": "id"}, "select"), ({"orderby": "rating"}, "orderby"),
])
def test_bad_parameters_are_400s_naming_them(server, index, body, parameter):
    payload = {"search": "medic", "suggesterName": "sg", **body}
    r = httpx.post(f"{server.endpoint}/indexes('{index}')/docs/search.post.autocomplete", params={"api-version": API_VERSION},
                   headers={"api-key": server.query_key}, json=payload)
    assert r.status_code == 400, r.text
    assert parameter in r.json()["error"]["message"]


def test_get_form_refuses_a_bad_fuzzy(server, index):
    r = httpx.get(f"{server.endpoint}/indexes/{index}/docs/autocomplete", headers={"api-key": server.query_key},
                  params={"api-version": API_VERSION, "search": "medic", "suggesterName": "sg", "fuzzy": "maybe"})
    assert r.status_code == 400 and "fuzzy" in r.json()["error"]["message"]


def test_unknown_suggester_and_suggest_still_works(search):
    with pytest.raises(HttpResponseError) as err:
        search.autocomplete("medic", "nosuch")
    assert err.value.status_code == 400
    suggestions = search.suggest("medic", "sg", select=["id"], filter="rating ge 4")
    assert sorted(s["id"] for s in suggestions) == ["1", "2", "6"]
    tagged = search.suggest("seniors", "sg", highlight_pre_tag="<b>", highlight_post_tag="</b>")
    assert [s["@search.text"] for s in tagged] == ["Medicare coverage for <b>seniors</b>"]
