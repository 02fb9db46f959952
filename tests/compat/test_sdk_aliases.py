"""Index aliases through the official azure-search-documents clients against a live `weft serve`:
SearchIndexClient's alias operations unchanged, and SearchClient(endpoint, alias_name, credential) for every
document operation."""
from __future__ import annotations

import uuid

import httpx
import pytest
from azure.core import MatchConditions
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    SearchableField,
    SearchAlias,
    SearchFieldDataType,
    SearchIndex,
    SearchSuggester,
    SimpleField,
)

from tests.support.server import API_VERSION


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def client(server):
    c = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    yield c
    c.close()


def _index(client, name: str, docs: list[dict]) -> None:
    client.create_index(SearchIndex(name=name, fields=[
        SimpleField(name="id", type=SearchFieldDataType.String, key=True),
        SearchableField(name="title"),
        SimpleField(name="rating", type=SearchFieldDataType.Int32, filterable=True),
    ], suggesters=[SearchSuggester(name="sg", source_fields=["title"])]))
    if docs:
        client.get_search_client(name).upload_documents(docs)


def test_alias_crud_with_etags(client):
    index = _name("alix")
    _index(client, index, [])
    alias_name = _name("al")
    created = client.create_alias(SearchAlias(name=alias_name, indexes=[index]))
    assert created.name == alias_name and created.indexes == [index] and created.e_tag
    got = client.get_alias(alias_name)
    assert got.indexes == [index] and got.e_tag == created.e_tag
    assert alias_name in list(client.list_alias_names())
    assert any(a.name == alias_name and a.indexes == [index] for a in client.list_aliases())
    with pytest.raises(HttpResponseError) as err:  # create twice
        client.create_alias(SearchAlias(name=alias_name, indexes=[index]))
    assert err.value.status_code == 400
    # create-or-update: a stale ETag is refused, the current one accepted, and the ETag changes
    other = _name("alix")
    _index(client, other, [])
    got.indexes = [other]
    updated = client.create_or_update_alias(got, match_condition=MatchConditions.IfNotModified)
    assert updated.indexes == [other] and updated.e_tag != created.e_tag
    stale = SearchAlias(name=alias_name, indexes=[index], e_tag=created.e_tag)
    with pytest.raises(ResourceModifiedError):
        client.create_or_update_alias(stale, match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceModifiedError):
        client.delete_alias(stale, match_condition=MatchConditions.IfNotModified)
    # If-None-Match: * (create only) on an existing alias
    with pytest.raises((ResourceExistsError, ResourceModifiedError)):
        client.create_or_update_alias(SearchAlias(name=alias_name, indexes=[index]), match_condition=MatchConditions.IfMissing)
    assert client.get_alias(alias_name).indexes == [other]
    client.delete_alias(updated, match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceNotFoundError):
        client.get_alias(alias_name)
    # deleting the alias left both indexes alone
    assert client.get_index(index).name == index and client.get_index(other).name == other
    fresh = client.create_or_update_alias(SearchAlias(name=_name("al"), indexes=[index]))
    assert fresh.e_tag
    client.delete_alias(fresh.name)


def test_search_client_on_an_alias_does_every_document_operation(client, server):
    index = _name("alix")
    _index(client, index, [{"id": "1", "title": "Seaside motel", "rating": 3}, {"id": "2", "title": "Mountain lodge", "rating": 5}])
    alias_name = _name("al")
    client.create_alias(SearchAlias(name=alias_name, indexes=[index]))
    search = SearchClient(server.endpoint, alias_name, AzureKeyCredential(server.admin_key))
    upload = search.upload_documents([{"id": "3", "title": "Motel by the lake", "rating": 4}])
    assert all(r.succeeded for r in upload)
    assert search.get_document_count() == 3
    assert search.get_document("3")["title"] == "Motel by the lake"
    hits = list(search.search("motel", filter="rating ge 3", select=["id"]))
    assert sorted(h["id"] for h in hits) == ["1", "3"]
    suggestions = search.suggest("mot", "sg")
    assert {s["id"] for s in suggestions} == {"1", "3"}
    completions = search.autocomplete("mot", "sg")
    assert [c["text"] for c in completions] == ["motel"]
    search.merge_documents([{"id": "2", "rating": 1}])
    assert client.get_search_client(index).get_document("2")["rating"] == 1  # written to the index itself
    search.delete_documents([{"id": "3"}])
    assert search.get_document_count() == 2
    # a query key reaches it too, and the GET forms in both path styles
    base = server.endpoint
    q = {"api-key": server.query_key}
    for path in (f"/indexes/{alias_name}/docs", f"/indexes('{alias_name}')/docs"):
        r = httpx.get(base + path, params={"api-version": API_VERSION, "search": "lodge", "$select": "id"}, headers=q)
        assert r.status_code == 200 and [v["id"] for v in r.json()["value"]] == ["2"]
    r = httpx.get(f"{base}/indexes/{alias_name}/docs/suggest", params={"api-version": API_VERSION, "search": "sea", "suggesterName": "sg"}, headers=q)
    assert r.status_code == 200 and [v["id"] for v in r.json()["value"]] == ["1"]
    r = httpx.get(f"{base}/indexes('{alias_name}')/docs('1')", params={"api-version": API_VERSION}, headers=q)
    assert r.status_code == 200 and r.json()["id"] == "1"
    r = httpx.get(f"{base}/indexes/{alias_name}/docs/$count", params={"api-version": API_VERSION}, headers=q)
    assert r.text == "2"
    # the definition is read through the alias; stats, analyze and delete take only index names
    assert client.get_index(alias_name).name == index
    a = {"api-key": server.admin_key}
    assert httpx.get(f"{base}/indexes('{alias_name}')/search.stats", params={"api-version": API_VERSION}, headers=a).status_code == 404
    r = httpx.post(f"{base}/indexes('{alias_name}')/search.analyze", params={"api-version": API_VERSION}, headers=a,
                   json={"text": "x", "analyzer": "standard.lucene"})
    assert r.status_code == 404
    client.delete_alias(alias_name)
    with pytest.raises(ResourceNotFoundError):
        search.get_document_count()


def test_update_index_definition_through_its_alias(client):
    index = _name("alix")
    _index(client, index, [])
    alias_name = _name("al")
    client.create_alias(SearchAlias(name=alias_name, indexes=[index]))
    definition = client.get_index(alias_name)
    definition.fields.append(SimpleField(name="extra", type=SearchFieldDataType.String, filterable=True))
    client.create_or_update_index(definition)  # names the index, not the alias
    assert "extra" in [f.name for f in client.get_index(index).fields]
    client.delete_alias(alias_name)


def test_repointing_is_immediate_and_aliased_index_cannot_be_deleted(client, server):
    old, new = _name("alix"), _name("alix")
    _index(client, old, [{"id": "o", "title": "old generation"}])
    _index(client, new, [{"id": "n", "title": "new generation"}])
    alias_name = _name("al")
    alias = client.create_alias(SearchAlias(name=alias_name, indexes=[old]))
    search = SearchClient(server.endpoint, alias_name, AzureKeyCredential(server.admin_key))
    assert [h["id"] for h in search.search("generation")] == ["o"]
    with pytest.raises(HttpResponseError) as err:
        client.delete_index(old)
    assert err.value.status_code == 400
    assert alias_name in str(err.value) and "Delete the alias or map it to another index" in str(err.value)
    alias.indexes = [new]
    client.create_or_update_alias(alias)
    assert [h["id"] for h in search.search("generation")] == ["n"]  # the next request sees the new index
    client.delete_index(old)  # no alias maps to it any more
    with pytest.raises(HttpResponseError) as err:
        client.delete_index(new)
    assert err.value.status_code == 400
    client.delete_alias(alias_name)
    client.delete_index(new)


def test_alias_rules(client, server):
    index = _name("alix")
    _index(client, index, [])
    a = {"api-key": server.admin_key}
    url = f"{server.endpoint}/aliases"
    p = {"api-version": API_VERSION}

    def post(body):
        return httpx.post(url, params=p, headers=a, json=body)

    # exactly one index, which must exist
    assert post({"name": _name("al"), "indexes": [index, index]}).status_code == 400
    assert post({"name": _name("al"), "indexes": []}).status_code == 400
    r = post({"name": _name("al"), "indexes": ["no-such-index"]})
    assert r.status_code == 400 and "no-such-index" in r.json()["error"]["message"]
    # names: the index-name rules; unknown members refused
    for bad in ("Upper", "a", "-lead", "two--dashes", "x" * 129):
        assert post({"name": bad, "indexes": [index]}).status_code == 400, bad
    assert post({"name": _name("al"), "indexes": [index], "extra": 1}).status_code == 400
    # one namespace: an alias cannot take an index's name, nor an index an alias's
    r = post({"name": index, "indexes": [index]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "ResourceNameAlreadyInUse"
    alias_name = _name("al")
    assert post({"name": alias_name, "indexes": [index]}).status_code == 201
    with pytest.raises(HttpResponseError) as err:
        _index(client, alias_name, [])
    assert err.value.status_code == 400 and "alias" in str(err.value)
    # weft's reserved namespace is refused for aliases too
    assert post({"name": "conversations-acme-0123456789ab", "indexes": [index]}).status_code == 400
    # the URL name and the body name must agree
    r = httpx.put(f"{url}('{_name('al')}')", params=p, headers=a, json={"name": "other-name", "indexes": [index]})
    assert r.status_code == 400
    # the friendly path style, and a query key cannot manage aliases
    assert httpx.get(f"{url}/{alias_name}", params=p, headers=a).json()["indexes"] == [index]
    assert httpx.get(f"{url}/{alias_name}", params=p, headers={"api-key": server.query_key}).status_code == 403
    assert httpx.delete(f"{url}/no-such-alias", params=p, headers=a).status_code == 404
    stats = httpx.get(f"{server.endpoint}/servicestats", params=p, headers=a).json()
    assert stats["counters"]["aliasesCount"]["usage"] >= 1
    httpx.delete(f"{url}('{alias_name}')", params=p, headers=a)


def test_aliases_survive_a_restart(tmp_path):
    from tests.support.server import WeftServer

    srv = WeftServer(tmp_path / "data").start()
    try:
        c = SearchIndexClient(srv.endpoint, AzureKeyCredential(srv.admin_key))
        _index(c, "restart-ix", [{"id": "1", "title": "kept"}])
        c.create_alias(SearchAlias(name="restart-al", indexes=["restart-ix"]))
        etag = c.get_alias("restart-al").e_tag
        srv.stop()
        srv.start()
        c = SearchIndexClient(srv.endpoint, AzureKeyCredential(srv.admin_key))
        assert c.get_alias("restart-al").e_tag == etag
        assert SearchClient(srv.endpoint, "restart-al", AzureKeyCredential(srv.admin_key)).get_document("1")["title"] == "kept"
        with pytest.raises(HttpResponseError):
            c.delete_index("restart-ix")
    finally:
        srv.stop()
