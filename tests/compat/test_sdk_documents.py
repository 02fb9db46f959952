"""The official azure-search-documents SearchClient against a live `weft serve`: batches, lookup, count, search."""
from __future__ import annotations

import uuid

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.search.documents import IndexDocumentsBatch, SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    ComplexField,
    ScoringProfile,
    SearchableField,
    SearchFieldDataType,
    SearchIndex,
    SearchSuggester,
    SimpleField,
    TextWeights,
)

HOTELS = [
    {"id": "1", "name": "Fancy Stay", "description": "Best hotel in town with a rooftop bar and free wifi.", "category": "Luxury",
     "rating": 5, "price": 250.0, "parking": True, "tags": ["pool", "view", "wifi"], "opened": "2010-06-27T00:00:00Z",
     "loc": {"type": "Point", "coordinates": [-122.131577, 47.678581]}, "address": {"city": "Seattle", "country": "USA"},
     "rooms": [{"type": "Deluxe", "rate": 300.0}, {"type": "Budget", "rate": 90.0}]},
    {"id": "2", "name": "Roach Motel", "description": "Cheapest hotel in town. Infact, a motel.", "category": "Budget",
     "rating": 1, "price": 40.0, "parking": False, "tags": ["motel", "budget"], "opened": "1982-04-28T00:00:00Z",
     "loc": {"type": "Point", "coordinates": [-122.2, 47.6]}, "address": {"city": "Seattle", "country": "USA"},
     "rooms": [{"type": "Budget", "rate": 40.0}]},
    {"id": "3", "name": "EconoStay", "description": "Very popular hotel in town", "category": "Budget",
     "rating": 4, "price": 75.5, "parking": True, "tags": ["wifi", "budget"], "opened": "1995-07-01T00:00:00Z",
     "loc": {"type": "Point", "coordinates": [-73.97, 40.78]}, "address": {"city": "New York", "country": "USA"},
     "rooms": [{"type": "Deluxe", "rate": 150.0}]},
    {"id": "4", "name": "Express Rooms", "description": "Pretty good hotel near the airport", "category": "Budget",
     "rating": 3, "price": 60.0, "parking": None, "tags": ["airport"], "opened": "1995-07-01T00:00:00Z",
     "loc": None, "address": {"city": "Boston", "country": "USA"}, "rooms": []},
    {"id": "5", "name": "Secret Point Motel", "description": "The hotel is ideally located on the main commercial artery of the city.",
     "category": "Boutique", "rating": 4, "price": 120.0, "parking": True, "tags": ["view", "concierge"], "opened": "1970-01-18T00:00:00Z",
     "loc": {"type": "Point", "coordinates": [-73.975403, 40.760586]}, "address": {"city": "New York", "country": "USA"},
     "rooms": [{"type": "Suite", "rate": 210.0}]},
    {"id": "6", "name": "Countryside Hotel", "description": "Save up to 50% off traditional hotels. Free WiFi, great location.",
     "category": "Budget", "rating": None, "price": None, "parking": False, "tags": [], "opened": None,
     "loc": {"type": "Point", "coordinates": [-78.940483, 35.90416]}, "address": None, "rooms": []},
]


def _index(name: str) -> SearchIndex:
    return SearchIndex(
        name=name,
        fields=[
            SimpleField(name="id", type=SearchFieldDataType.String, key=True, filterable=True, sortable=True),
            SearchableField(name="name", sortable=True),
            SearchableField(name="description", analyzer_name="en.lucene"),
            SearchableField(name="category", filterable=True, facetable=True, sortable=True),
            SimpleField(name="rating", type=SearchFieldDataType.Int32, filterable=True, sortable=True, facetable=True),
            SimpleField(name="price", type=SearchFieldDataType.Double, filterable=True, sortable=True, facetable=True),
            SimpleField(name="parking", type=SearchFieldDataType.Boolean, filterable=True, facetable=True),
            SearchableField(name="tags", collection=True, filterable=True, facetable=True),
            SimpleField(name="opened", type=SearchFieldDataType.DateTimeOffset, filterable=True, sortable=True, facetable=True),
            SimpleField(name="loc", type=SearchFieldDataType.GeographyPoint, filterable=True, sortable=True),
            ComplexField(name="address", fields=[
                SimpleField(name="city", type=SearchFieldDataType.String, filterable=True, facetable=True),
                SimpleField(name="country", type=SearchFieldDataType.String, filterable=True),
            ]),
            ComplexField(name="rooms", collection=True, fields=[
                SimpleField(name="type", type=SearchFieldDataType.String, filterable=True, facetable=True),
                SimpleField(name="rate", type=SearchFieldDataType.Double, filterable=True, facetable=True),
            ]),
        ],
        suggesters=[SearchSuggester(name="sg", source_fields=["name", "description"])],
        scoring_profiles=[ScoringProfile(name="names", text_weights=TextWeights(weights={"name": 5.0}))],
    )


@pytest.fixture(scope="module")
def hotels(server):
    name = f"hotels-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(_index(name))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    client.weft_index_name = name
    results = client.upload_documents(HOTELS)
    assert all(r.succeeded for r in results)
    yield client
    index_client.delete_index(name)


def keys(results) -> list[str]:
    return [d["id"] for d in results]


# ---- batches ---------------------------------------------------------------------------------------


def test_batch_actions_and_per_item_codes(server):
    name = f"batch-{uuid.uuid4().hex[:6]}"
    SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key)).create_index(_index(name))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    first = client.upload_documents([{"id": "a", "name": "A", "rating": 1}, {"id": "b", "name": "B"}])
    assert [(r.key, r.status_code) for r in first] == [("a", 201), ("b", 201)]
    again = client.upload_documents([{"id": "a", "name": "A2"}])
    assert again[0].status_code == 200
    assert client.get_document("a")["rating"] is None  # upload replaces the whole document
    merged = client.merge_documents([{"id": "b", "rating": 3}])
    assert merged[0].status_code == 200
    doc = client.get_document("b")
    assert doc["name"] == "B" and doc["rating"] == 3 and doc["tags"] == [] and doc["address"] is None
    mou = client.merge_or_upload_documents([{"id": "b", "price": 9.5}, {"id": "c", "name": "C"}])
    assert [(r.key, r.status_code) for r in mou] == [("b", 200), ("c", 201)]
    deleted = client.delete_documents([{"id": "c"}, {"id": "never-existed"}])
    assert [r.status_code for r in deleted] == [200, 200]
    # a merge of a missing key fails for that item only: 207 with 404 "Document not found."
    batch = IndexDocumentsBatch()
    batch.add_merge_actions([{"id": "missing", "rating": 2}])
    batch.add_upload_actions([{"id": "d", "name": "D"}])
    results = client.index_documents(batch)
    assert [(r.key, r.succeeded, r.status_code) for r in results] == [("missing", False, 404), ("d", True, 201)]
    assert results[0].error_message == "Document not found."
    r = httpx.post(server.url(f"/indexes('{name}')/docs/search.index"), headers={"api-key": server.admin_key},
                   json={"value": [{"@search.action": "merge", "id": "missing2", "rating": 2}, {"@search.action": "upload", "id": "e"}]})
    assert r.status_code == 207
    items = r.json()["value"]
    assert items[0] == {"key": "missing2", "status": False, "errorMessage": "Document not found.", "statusCode": 404}
    assert items[1]["statusCode"] == 201 and items[1]["status"] is True
    assert client.get_document("e")["id"] == "e"
    # repeated keys in one batch apply in order (merge sees the upload before it)
    r = httpx.post(server.url(f"/indexes/{name}/docs/index"), headers={"api-key": server.admin_key},
                   json={"value": [{"@search.action": "upload", "id": "r", "name": "first", "rating": 1},
                                   {"@search.action": "merge", "id": "r", "rating": 2},
                                   {"@search.action": "mergeOrUpload", "id": "r", "price": 3.0}]})
    assert [i["statusCode"] for i in r.json()["value"]] == [201, 200, 200]
    doc = client.get_document("r")
    assert (doc["name"], doc["rating"], doc["price"]) == ("first", 2, 3.0)
    SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key)).delete_index(name)


def test_invalid_key_rejects_whole_batch(hotels, server):
    before = hotels.get_document_count()
    r = httpx.post(server.url(f"/indexes('{hotels.weft_index_name}')/docs/search.index"), headers={"api-key": server.admin_key},
                   json={"value": [{"@search.action": "upload", "id": "ok-1"}, {"@search.action": "upload", "id": "_bad"}]})
    assert r.status_code == 400
    body = r.json()["error"]
    assert "Invalid document key" in body["message"]
    assert body["details"][0]["code"] == "InvalidDocumentKey"
    assert hotels.get_document_count() == before
    with pytest.raises(ResourceNotFoundError):
        hotels.get_document("ok-1")


def test_lookup_select_count_and_missing(hotels):
    doc = hotels.get_document("1", selected_fields=["id", "name", "address/city"])
    assert doc == {"id": "1", "name": "Fancy Stay", "address": {"city": "Seattle"}}
    full = hotels.get_document("1")
    assert full["loc"]["coordinates"] == [-122.131577, 47.678581]
    assert full["loc"]["crs"]["properties"]["name"] == "EPSG:4326"
    assert full["rooms"][0] == {"type": "Deluxe", "rate": 300.0}
    assert hotels.get_document_count() == len(HOTELS)
    with pytest.raises(ResourceNotFoundError):
        hotels.get_document("nope")


# ---- search ------------------------------------------------------------------------------------------


def test_simple_search_and_scores(hotels):
    results = list(hotels.search(search_text="motel"))
    assert set(keys(results)) == {"2", "5"}
    assert all(r["@search.score"] > 0 for r in results)
    everything = list(hotels.search(search_text="*"))
    assert len(everything) == len(HOTELS) and all(r["@search.score"] == 1.0 for r in everything)
    # searchMode all needs every term; any needs one
    assert set(keys(hotels.search(search_text="hotel airport", search_mode="all"))) == {"4"}
    assert "1" in keys(hotels.search(search_text="hotel airport", search_mode="any"))
    # simple syntax operators: phrase, prefix, negation, OR
    assert keys(hotels.search(search_text='"rooftop bar"')) == ["1"]
    assert set(keys(hotels.search(search_text="mot*"))) == {"2", "5"}
    assert "2" not in keys(hotels.search(search_text="hotel -motel", search_mode="all"))
    assert set(keys(hotels.search(search_text="airport | rooftop"))) == {"1", "4"}
    # stemming on the en.lucene field
    assert set(keys(hotels.search(search_text="hotels", search_fields=["description"]))) >= {"1", "2", "3"}


def test_full_lucene_syntax(hotels):
    assert keys(hotels.search(search_text="name:econostay", query_type="full")) == ["3"]
    assert set(keys(hotels.search(search_text="motle~1", query_type="full"))) == {"2", "5"}
    assert keys(hotels.search(search_text='"hotel town"~2', query_type="full", search_fields=["description"])) != []
    assert set(keys(hotels.search(search_text="/mo.el/", query_type="full"))) == {"2", "5"}
    assert set(keys(hotels.search(search_text="fanc?", query_type="full"))) == {"1"}
    assert set(keys(hotels.search(search_text="airport OR rooftop", query_type="full"))) == {"1", "4"}
    assert keys(hotels.search(search_text="hotel AND NOT motel AND airport", query_type="full")) == ["4"]
    boosted = keys(hotels.search(search_text="hotel^10 OR motel", query_type="full", select=["id"]))
    assert boosted[0] != "2"
    with pytest.raises(HttpResponseError) as err:
        list(hotels.search(search_text="name:(unclosed", query_type="full"))
    assert err.value.status_code == 400


def test_filters(hotels):
    def f(expr):
        return set(keys(hotels.search(search_text="*", filter=expr)))

    assert f("rating ge 4") == {"1", "3", "5"}
    assert f("rating eq null") == {"6"}
    assert f("rating ne null and rating lt 4") == {"2", "4"}
    assert f("category eq 'Budget' and not (rating gt 2)") == {"2", "6"}
    assert f("parking") == {"1", "3", "5"}
    assert f("not parking") == {"2", "4", "6"}
    assert f("parking eq false") == {"2", "6"}
    assert f("search.in(category, 'Luxury,Boutique')") == {"1", "5"}
    assert f("search.in(category, 'Luxury|Boutique', '|')") == {"1", "5"}
    assert f("tags/any(t: t eq 'wifi')") == {"1", "3"}
    assert f("tags/any()") == {"1", "2", "3", "4", "5"}
    assert f("not tags/any()") == {"6"}
    assert f("tags/all(t: t ne 'budget')") == {"1", "4", "5", "6"}
    assert f("rooms/any(r: r/type eq 'Deluxe' and r/rate lt 200)") == {"3"}
    assert f("rooms/any(r: r/rate gt 200)") == {"1", "5"}
    assert f("rooms/all(r: r/rate lt 100)") == {"2", "4", "6"}
    assert f("address/city eq 'New York'") == {"3", "5"}
    assert f("opened gt 1990-01-01T00:00:00Z") == {"1", "3", "4"}
    assert f("opened ge 1995-07-01T00:00:00Z and opened le 1995-07-01T00:00:00Z") == {"3", "4"}
    assert f("geo.distance(loc, geography'POINT(-122.12 47.67)') le 20") == {"1", "2"}
    assert f("geo.intersects(loc, geography'POLYGON((-74.1 40.6, -73.8 40.6, -73.8 40.9, -74.1 40.9, -74.1 40.6))')") == {"3", "5"}
    assert f("price gt 100.5 or rating eq 1") == {"1", "2", "5"}
    assert f("search.ismatch('motel')") == {"2", "5"}
    assert f("category gt 'C'") == {"1"}
    assert f("category le 'Budget'") == {"2", "3", "4", "5", "6"}
    assert f("1 lt rating") == {"1", "3", "4", "5"}  # constant on the left


def test_filter_errors_are_400_with_parameter_name(hotels):
    for bad in ("rating gt", "rating eq 'x'", "unknownField eq 1", "description eq 'x'", "rating gt null", "tags eq 'x'", "(((rating"):
        with pytest.raises(HttpResponseError) as err:
            list(hotels.search(search_text="*", filter=bad))
        assert err.value.status_code == 400, bad
        assert "$filter" in err.value.message, bad


def test_orderby_select_top_skip_count(hotels):
    res = hotels.search(search_text="*", order_by=["rating desc", "price asc"], select=["id", "rating", "price"], include_total_count=True, top=4)
    docs = list(res)
    assert res.get_count() == len(HOTELS)
    assert [(d["id"], d["rating"]) for d in docs] == [("1", 5), ("3", 4), ("5", 4), ("4", 3)]
    assert all(set(d) == {"id", "rating", "price", "@search.score", "@search.highlights", "@search.reranker_score", "@search.captions", "@search.document_debug_info", "@search.reranker_boosted_score"} or set(k for k in d if not k.startswith("@")) == {"id", "rating", "price"} for d in docs)
    # nulls first ascending, last descending
    asc = keys(hotels.search(search_text="*", order_by=["rating asc", "id asc"]))
    assert asc[0] == "6" and asc[1] == "2"
    desc = keys(hotels.search(search_text="*", order_by=["rating desc"]))
    assert desc[-1] == "6"
    # ties on the first key are broken by the second key
    assert keys(hotels.search(search_text="*", filter="rating eq 4", order_by=["rating desc", "id desc"])) == ["5", "3"]
    assert keys(hotels.search(search_text="*", order_by=["opened desc", "id asc"], top=3)) == ["1", "3", "4"]
    # geo distance ordering
    near = keys(hotels.search(search_text="*", filter="loc ne null", order_by=["geo.distance(loc, geography'POINT(-73.98 40.76)') asc"]))
    assert near[:2] == ["5", "3"]
    assert keys(hotels.search(search_text="*", order_by=["id asc"], skip=2, top=2)) == ["3", "4"]
    scored = list(hotels.search(search_text="hotel", order_by=["search.score() desc", "id asc"]))
    scores = [d["@search.score"] for d in scored]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(HttpResponseError) as err:
        list(hotels.search(search_text="*", order_by=["description asc"]))
    assert err.value.status_code == 400 and "$orderby" in err.value.message


def test_facets(hotels):
    res = hotels.search(search_text="*", facets=["category,count:2", "rating,interval:2", "price,values:50|100", "tags", "parking",
                                                    "opened,interval:year", "rooms/type", "category,sort:value"][:7])
    list(res)
    facets = res.get_facets()
    assert facets["category"] == [{"value": "Budget", "count": 4}, {"value": "Boutique", "count": 1}] or facets["category"][0] == {"value": "Budget", "count": 4}
    assert len(facets["category"]) == 2
    assert {(b["value"], b["count"]) for b in facets["rating"]} == {(0, 1), (2, 1), (4, 3)}
    assert facets["price"] == [{"to": 50, "count": 1}, {"from": 50, "to": 100, "count": 2}, {"from": 100, "count": 2}]
    assert {"value": "wifi", "count": 2} in facets["tags"]
    assert {"value": True, "count": 3} in facets["parking"]
    assert {"value": "1995-01-01T00:00:00Z", "count": 2} in facets["opened"]
    assert {"value": "Budget", "count": 2} in facets["rooms/type"]
    by_value = hotels.search(search_text="*", facets=["category,sort:value"])
    list(by_value)
    assert [b["value"] for b in by_value.get_facets()["category"]] == ["Boutique", "Budget", "Luxury"]
    plain = hotels.search(search_text="*")
    list(plain)
    assert plain.get_facets() is None
    with pytest.raises(HttpResponseError) as err:
        list(hotels.search(search_text="*", facets=["description"]))
    assert err.value.status_code == 400


def test_highlights_and_coverage(hotels):
    res = hotels.search(search_text="motel", highlight_fields="name,description", highlight_pre_tag="<b>", highlight_post_tag="</b>", minimum_coverage=80)
    docs = {d["id"]: d for d in res}
    assert res.get_coverage() == 100.0
    assert docs["5"]["@search.highlights"]["name"] == ["Secret Point <b>Motel</b>"]
    assert any("<b>motel</b>" in frag for frag in docs["2"]["@search.highlights"]["description"])
    default_tags = list(hotels.search(search_text="rooftop", highlight_fields="description"))
    assert "<em>rooftop</em>" in default_tags[0]["@search.highlights"]["description"][0]


def test_scoring_profile_weights(hotels):
    plain = list(hotels.search(search_text="hotel", select=["id"]))
    weighted = list(hotels.search(search_text="hotel", scoring_profile="names", select=["id"]))
    assert weighted[0]["id"] == "6"  # the only 'hotel' in a name wins when names weigh 5x
    assert {d["id"] for d in plain} == {d["id"] for d in weighted}


def test_suggest_and_autocomplete(hotels):
    suggestions = hotels.suggest(search_text="mot", suggester_name="sg")
    assert {s["id"] for s in suggestions} == {"2", "5"}
    assert all(s["@search.text"] for s in suggestions)
    completions = hotels.autocomplete(search_text="mot", suggester_name="sg")
    assert any(c.text == "motel" and c.query_plus_text == "motel" for c in completions)


def test_paging_120_results_with_sdk_iterator(server):
    name = f"paging-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(SearchIndex(name=name, fields=[
        SimpleField(name="id", type=SearchFieldDataType.String, key=True, sortable=True),
        SimpleField(name="n", type=SearchFieldDataType.Int32, filterable=True, sortable=True),
        SearchableField(name="body"),
    ]))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    client.upload_documents([{"id": f"d{i:03d}", "n": i, "body": "common words here"} for i in range(120)])
    res = client.search(search_text="*", order_by=["n asc"], include_total_count=True)
    seen = [d["n"] for d in res]
    assert seen == list(range(120))  # 50 + 50 + 20, via @search.nextPageParameters
    assert res.get_count() == 120
    pages = [len(list(p)) for p in client.search(search_text="common", order_by=["n desc"]).by_page()]
    assert pages == [50, 50, 20]
    # raw: first page carries nextPageParameters and nextLink; an explicit top stops paging
    r = httpx.post(server.url(f"/indexes('{name}')/docs/search.post.search"), headers={"api-key": server.query_key}, json={"search": "*"})
    body = r.json()
    assert body["@search.nextPageParameters"] == {"search": "*", "skip": 50}
    assert "@odata.nextLink" in body and len(body["value"]) == 50
    r = httpx.post(server.url(f"/indexes('{name}')/docs/search.post.search"), headers={"api-key": server.query_key}, json={"search": "*", "top": 60})
    assert len(r.json()["value"]) == 60 and "@search.nextPageParameters" not in r.json()
    r = httpx.get(server.url(f"/indexes/{name}/docs?search=*&$orderby=n%20asc"), headers={"api-key": server.query_key})
    assert r.status_code == 200 and "%24skip=50" in r.json()["@odata.nextLink"]
    index_client.delete_index(name)


def test_query_key_can_read_not_write(hotels, server):
    reader = SearchClient(server.endpoint, hotels.weft_index_name, AzureKeyCredential(server.query_key))
    assert reader.get_document_count() == len(HOTELS)
    assert len(list(reader.search(search_text="*"))) == len(HOTELS)
    with pytest.raises(HttpResponseError) as err:
        reader.upload_documents([{"id": "x"}])
    assert err.value.status_code == 403


def test_missing_index_raises_not_found(server):
    client = SearchClient(server.endpoint, "no-such-index", AzureKeyCredential(server.admin_key))
    with pytest.raises(ResourceNotFoundError):
        list(client.search(search_text="*"))
    with pytest.raises(HttpResponseError) as err:
        client.upload_documents([{"id": "1"}])
    assert err.value.status_code == 404


def test_buffered_sender_and_large_batches(server):
    from azure.search.documents import SearchIndexingBufferedSender

    name = f"buffered-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(_index(name))
    with SearchIndexingBufferedSender(server.endpoint, name, AzureKeyCredential(server.admin_key), auto_flush=False) as sender:
        sender.upload_documents([{"id": f"b{i}", "name": f"doc {i}", "rating": i % 5} for i in range(1200)])
        sender.flush()
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    assert client.get_document_count() == 1200
    res = client.search(search_text="*", filter="rating eq 3", include_total_count=True, top=1)
    list(res)
    assert res.get_count() == 240
    index_client.delete_index(name)
