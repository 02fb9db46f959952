"""Bad input over HTTP: always a 4xx with an OData error body, never a 500, and nothing changes."""
from __future__ import annotations

import json
import string

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

INDEX = {
    "name": "badinput",
    "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "title", "type": "Edm.String", "searchable": True, "filterable": False, "sortable": False, "facetable": False},
        {"name": "n", "type": "Edm.Int32", "filterable": True, "sortable": True, "facetable": True},
        {"name": "x", "type": "Edm.Double", "filterable": True},
        {"name": "when", "type": "Edm.DateTimeOffset", "filterable": True},
        {"name": "tags", "type": "Collection(Edm.String)", "filterable": True, "searchable": True},
        {"name": "ok", "type": "Edm.Boolean", "filterable": True},
    ],
}


@pytest.fixture(scope="module")
def api(server):
    client = httpx.Client(base_url=server.endpoint, headers={"api-key": server.admin_key}, timeout=30)
    client.post(f"/indexes?api-version=2026-04-01", json=INDEX)
    r = client.post("/indexes/badinput/docs/index?api-version=2026-04-01", json={"value": [{"id": "1", "title": "hello world", "n": 1, "tags": ["a"]}]})
    assert r.status_code == 200
    yield client
    client.delete("/indexes/badinput?api-version=2026-04-01")
    client.close()


def _assert_odata_4xx(r: httpx.Response, *statuses: int) -> dict:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    if statuses:
        assert r.status_code in statuses, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "code" in body["error"]
    return body["error"]


def _count(api) -> int:
    return int(api.get("/indexes/badinput/docs/$count?api-version=2026-04-01").text)


BATCH = "/indexes/badinput/docs/index?api-version=2026-04-01"


def test_malformed_json(api):
    for raw in (b"{", b"not json", b"\xff\xfe", b'{"value": [}'):
        _assert_odata_4xx(api.post(BATCH, content=raw, headers={"Content-Type": "application/json"}), 400)
    _assert_odata_4xx(api.post("/indexes?api-version=2026-04-01", content=b"[1,2", headers={"Content-Type": "application/json"}), 400)
    _assert_odata_4xx(api.post("/indexes/badinput/docs/search?api-version=2026-04-01", content=b"{oops", headers={"Content-Type": "application/json"}), 400)


def test_an_empty_or_blank_batch_body_is_refused_and_a_blank_search_body_is_no_parameters(api):
    for raw in (b"", b" \r\n\t\x0b\x0c"):
        error = _assert_odata_4xx(api.post(BATCH, content=raw, headers={"Content-Type": "application/json"}), 400)
        assert "empty" in error["message"]
    r = api.post("/indexes/badinput/docs/search?api-version=2026-04-01", content=b"  \n", headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["value"]


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "2", "n": "seven"},
        {"id": "2", "n": 2**40},
        {"id": "2", "n": 1.5},
        {"id": "2", "x": "abc"},
        {"id": "2", "ok": "yes"},
        {"id": "2", "when": "yesterday"},
        {"id": "2", "tags": "not-a-list"},
        {"id": "2", "tags": [1, 2]},
        {"id": "2", "title": {"nested": True}},
        {"id": "2", "unknownField": 1},
        {"id": 2},
        {"id": ""},
        {"id": "_leading"},
        {"id": "has space"},
        {"title": "no key"},
    ],
)
def test_wrong_values_reject_the_whole_batch(api, doc):
    before = _count(api)
    r = api.post(BATCH, json={"value": [{"@search.action": "upload", "id": "fine-1", "title": "ok"}, {"@search.action": "upload", **doc}]})
    _assert_odata_4xx(r, 400)
    assert _count(api) == before
    assert api.get("/indexes/badinput/docs/fine-1?api-version=2026-04-01").status_code == 404


def test_bad_actions_and_shapes(api):
    for body in ({}, {"value": {}}, {"value": []}, {"value": [1]}, {"value": [{"@search.action": "destroy", "id": "1"}]}, [1, 2]):
        _assert_odata_4xx(api.post(BATCH, json=body), 400)


def test_oversized_batches(api):
    too_many = {"value": [{"@search.action": "upload", "id": f"k{i}"} for i in range(1001)]}
    _assert_odata_4xx(api.post(BATCH, json=too_many), 413)
    huge = {"value": [{"@search.action": "upload", "id": "big", "title": "x" * (17 * 1024 * 1024)}]}
    _assert_odata_4xx(api.post(BATCH, json=huge), 413)
    assert api.get("/indexes/badinput/docs/big?api-version=2026-04-01").status_code == 404


def test_bad_index_definitions(api):
    for body in (
        {"name": "x1", "fields": []},
        {"name": "x1", "fields": [{"name": "id", "type": "Edm.String"}]},
        {"name": "x1", "fields": [{"name": "id", "type": "Edm.Whatever", "key": True}]},
        {"name": "x1", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "id", "type": "Edm.String"}]},
        {"name": "x1", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "n", "type": "Edm.Int32", "searchable": True}]},
        {"name": "x1", "fields": [{"name": "id", "type": "Edm.String", "key": True, "analyzer": "klingon.lucene"}]},
        {"name": "x1", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "c", "type": "Edm.ComplexType"}]},
        {"name": "x1", "fields": "nope"},
        {"name": "-bad", "fields": [{"name": "id", "type": "Edm.String", "key": True}]},
    ):
        _assert_odata_4xx(api.post("/indexes?api-version=2026-04-01", json=body), 400)
    names = [i["name"] for i in api.get("/indexes?api-version=2026-04-01").json()["value"]]
    assert "x1" not in names


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "n gt"},
        {"filter": "n eq 'one'"},
        {"filter": "nope eq 1"},
        {"filter": "title eq 'x'"},
        {"filter": "tags/any(t: t gt 1)"},
        {"orderby": "title asc"},
        {"orderby": "n sideways"},
        {"select": "id,doesNotExist"},
        {"top": -1},
        {"skip": 100001},
        {"top": "ten"},
        {"search": "title:(a", "queryType": "full"},
        {"search": "x", "queryType": "semantic"},
        {"search": "x", "searchFields": "n"},
        {"facets": ["title"]},
        {"facets": ["n,interval:abc"]},
        {"highlight": "n"},
        {"search": 5},
        {"count": "yes"},
        {"notAParameter": 1},
    ],
)
def test_bad_search_parameters(api, params):
    _assert_odata_4xx(api.post("/indexes/badinput/docs/search?api-version=2026-04-01", json=params), 400)


_filter_alphabet = st.sampled_from(
    ["n", "x", "tags", "title", "ok", "when", "id", " ", "eq", "ne", "gt", "lt", "and", "or", "not", "(", ")", "'a'", "1", "2.5",
     "null", "true", "any", "all", "/", ":", "t", ",", "search.in", "search.ismatch", "geo.distance", "2020-01-01T00:00:00Z", "'", "$", "-"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(_filter_alphabet, max_size=12), noise=st.text(alphabet=string.printable, max_size=8))
def test_fuzzed_filters_never_500(api, tokens, noise):
    expr = " ".join(tokens) + noise
    r = api.post("/indexes/badinput/docs/search?api-version=2026-04-01", json={"search": "*", "filter": expr})
    assert r.status_code in (200, 400), (expr, r.status_code, r.text)
    if r.status_code == 400:
        _assert_odata_4xx(r, 400)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40), query_type=st.sampled_from(["simple", "full"]), mode=st.sampled_from(["any", "all"]))
def test_fuzzed_queries_never_500(api, text, query_type, mode):
    r = api.post("/indexes/badinput/docs/search?api-version=2026-04-01", json={"search": text, "queryType": query_type, "searchMode": mode})
    assert r.status_code in (200, 400), (text, r.status_code, r.text)
    if r.status_code == 400:
        _assert_odata_4xx(r, 400)
