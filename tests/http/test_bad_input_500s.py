"""Regression tests for the inputs that produced a 500 (issue 10), each now a 4xx in its API family's
error shape, on a connection that stays usable; plus names ending in a newline, SQLite data source
paths outside the allowed directories, and indexer errors that carry no driver text."""
from __future__ import annotations

import httpx
import pytest

V = "api-version=2026-04-01"
INDEX = {"name": "bad500", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "t", "type": "Edm.String", "searchable": True},
    {"name": "n", "type": "Edm.Int32", "filterable": True, "facetable": True, "sortable": True},
]}
DEEP = ('{"metadata":' + '{"a":' * 1000 + "1" + "}" * 1001).encode()


@pytest.fixture(scope="module")
def client(server):
    c = httpx.Client(base_url=server.endpoint, headers={"api-key": server.admin_key}, timeout=30)
    assert c.post(f"/indexes?{V}", json=INDEX).status_code == 201
    assert c.post(f"/indexes/bad500/docs/index?{V}", json={"value": [{"id": "1", "t": "hello", "n": 1}]}).status_code == 200
    yield c
    c.delete(f"/indexes/bad500?{V}")
    c.close()


@pytest.fixture(scope="module")
def conversation(client):
    r = client.post("/v1/conversations", json={})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def _openai_4xx(r: httpx.Response) -> dict:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def _odata_4xx(r: httpx.Response) -> dict:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"] and "code" in body["error"]
    return body["error"]


def _raw(client, method, path, data: bytes):
    return client.request(method, path, content=data, headers={"content-type": "application/json"})


OPENAI_CASES = {
    "deep-json-conversation": ("POST", "/v1/conversations", DEEP),
    "deep-json-responses": ("POST", "/v1/responses", b'{"input":' + b"[" * 1000 + b"]" * 1000 + b"}"),
    "lone-surrogate-metadata": ("POST", "/v1/conversations", b'{"metadata":{"a":"\\ud800"}}'),
    "lone-surrogate-thread": ("POST", "/threads", b'{"metadata":{"a":"\\udc00"}}'),
    "chat-at-out-of-range": ("POST", "/v1/chat/messages", b'{"channel":"c","participants":["a"],"text":"hi","at":1e300}'),
}


@pytest.mark.parametrize("case", sorted(OPENAI_CASES))
def test_openai_family_bodies(client, case):
    method, path, data = OPENAI_CASES[case]
    _openai_4xx(_raw(client, method, path, data))
    assert client.get("/v1/conversations?limit=1").status_code == 200  # the same connection still works


def test_lone_surrogate_in_an_item(client, conversation):
    _openai_4xx(_raw(client, "POST", f"/v1/conversations/{conversation}/items",
                     b'{"items":[{"type":"message","role":"user","content":"\\ud800"}]}'))
    assert client.get(f"/v1/conversations/{conversation}/items").json()["data"] == []


@pytest.mark.parametrize("query", ["since=inf", "since=nan", "since=1e300", "until=-inf", "since=99999-01-01",
                                   "after=99999999999999999999999", "after=-5"])
def test_audit_parameters(client, query):
    _openai_4xx(client.get(f"/audit?{query}"))
    assert client.get("/audit?limit=1").status_code == 200


@pytest.mark.parametrize("params", [
    "search=he&suggesterName=s&minimumCoverage=abc",
])
def test_suggest_minimum_coverage(client, params):
    _odata_4xx(client.get(f"/indexes/bad500/docs/suggest?{V}&{params}"))


@pytest.mark.parametrize("body", [
    {"search": "*", "facets": ["n,count:99999999999999"]},
    {"search": "*", "facets": ["n,count:123456789012345678901234567890"]},
    {"search": "*", "facets": ["n,values:" + "|".join(str(i) for i in range(5000))]},
    {"search": "*", "facets": ["n"] * 101},
    {"search": '"a b"~99999999999999999999', "queryType": "full"},
    {"search": "/" + "a" * 2000 + "/", "queryType": "full"},
    {"search": "a" * 2000 + "*"},
    {"search": "h" * 999 + "*"},
    {"search": "a" * 1000 + "?b", "queryType": "full"},
    {"search": " ".join(["/a.*b/"] * 26), "queryType": "full"},
    {"search": " ".join(f"w{i}~1" for i in range(51)), "queryType": "full"},
    {"search": "*", "orderby": ",".join(["n asc"] * 33)},
])
def test_search_complexity(client, body):
    error = _odata_4xx(client.post(f"/indexes/bad500/docs/search?{V}", json=body))
    assert "Parameter name" in error["message"] or "search query" in error["message"] or "$orderby" in error["message"]


def test_interval_facet_with_many_buckets_is_a_400(client):
    client.post(f"/indexes/bad500/docs/index?{V}", json={"value": [{"id": "2", "n": 2_000_000_000}]})
    error = _odata_4xx(client.post(f"/indexes/bad500/docs/search?{V}", json={"search": "*", "facets": ["n,interval:1"]}))
    assert "65,000 buckets" in error["message"] and "facets" in error["message"]


def test_limits_still_accept_their_bounds(client):
    ok = [{"search": " ".join(["/h.*o/"] * 25), "queryType": "full"}, {"search": " ".join(f"hello~1" for _ in range(50)), "queryType": "full"},
          {"search": "h" * 200 + "*"}, {"search": "*", "facets": ["n,count:10000"]}]
    for body in ok:
        r = client.post(f"/indexes/bad500/docs/search?{V}", json=body)
        assert r.status_code == 200, (body["search"][:40], r.text)


@pytest.mark.parametrize("path,body", [
    (f"/indexes?{V}", {"name": "abc\n", "fields": [{"name": "id", "type": "Edm.String", "key": True}]}),
    (f"/indexes?{V}", {"name": "abcd", "fields": [{"name": "id\n", "type": "Edm.String", "key": True}]}),
    (f"/datasources?{V}", {"name": "ds\n", "type": "sqlite", "credentials": {"connectionString": "x.db"}, "container": {"name": "t"}}),
    (f"/indexers?{V}", {"name": "ix\n", "dataSourceName": "d", "targetIndexName": "bad500"}),
])
def test_names_ending_in_a_newline_are_refused(client, path, body):
    _odata_4xx(client.post(path, json=body))
    names = [v["name"] for v in client.get(path).json()["value"]]
    assert not any(n.endswith("\n") for n in names)


def test_document_key_ending_in_a_newline_is_refused(client):
    _odata_4xx(client.post(f"/indexes/bad500/docs/index?{V}", json={"value": [{"id": "k\n", "t": "x"}]}))


@pytest.mark.parametrize("path_template,body,named", [
    ("/v1/conversations", b'{"retention_seconds": 18446744073709551615}', "retention_seconds"),
    ("/v1/conversations/{conv}", b'{"retention_seconds": 18446744073709551615}', "retention_seconds"),
    ("/v1/tenants/t-big", b'{"retention_seconds": 18446744073709551615}', "retention_seconds"),
    ("/v1/keys", b'{"scopes": 238}', "scopes"),
    ("/v1/keys", b'{"scopes": ["read"], "name": {"a": 1}}', "name"),
    ("/v1/responses", b'{"input": "hi", "model": "m", "tools": 5}', "tools"),
    ("/v1/responses", b'{"input": "hi", "model": 5}', "model"),
    ("/v1/responses/input_tokens", b'{"input": "hi", "tools": 5}', "tools"),
    ("/v1/responses/compact", b'{"input": "hi"}', "model"),
    ("/v1/responses", b'{"input": "hi", "model": "m", "tools": [{"type": "mcp", "server_label": "x", "server_url": 5}]}', "server_url"),
])
def test_integers_beyond_64_bits_and_wrong_types(client, conversation, path_template, body, named):
    error = _openai_4xx(_raw(client, "POST", path_template.format(conv=conversation), body))
    assert error["type"] == "invalid_request_error" and named in error["message"]
