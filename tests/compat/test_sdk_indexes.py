"""The official azure-search-documents SearchIndexClient against a live `weft serve`."""
from __future__ import annotations

import uuid

import pytest
from azure.core import MatchConditions
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError, ClientAuthenticationError
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    AnalyzeTextOptions,
    ComplexField,
    SearchableField,
    SearchFieldDataType,
    SearchIndex,
    SearchSuggester,
    SimpleField,
)


def _name(prefix: str = "ix") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _fields():
    return [
        SimpleField(name="id", type=SearchFieldDataType.String, key=True),
        SearchableField(name="title", analyzer_name="en.lucene"),
        SearchableField(name="tags", collection=True, filterable=True, facetable=True),
        SimpleField(name="rating", type=SearchFieldDataType.Int32, filterable=True, sortable=True, facetable=True),
        SimpleField(name="loc", type=SearchFieldDataType.GeographyPoint, filterable=True, sortable=True),
        ComplexField(name="address", fields=[SimpleField(name="city", type=SearchFieldDataType.String, filterable=True)]),
    ]


@pytest.fixture(scope="module")
def index_client(server):
    client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    yield client
    client.close()


def test_create_get_list_delete(index_client):
    name = _name()
    created = index_client.create_index(SearchIndex(name=name, fields=_fields(), suggesters=[SearchSuggester(name="sg", source_fields=["title"])]))
    assert created.name == name
    assert created.e_tag
    got = index_client.get_index(name)
    by_name = {f.name: f for f in got.fields}
    assert by_name["id"].key is True
    assert by_name["title"].analyzer_name == "en.lucene"
    assert by_name["tags"].type == "Collection(Edm.String)"
    assert by_name["address"].fields[0].name == "city"
    assert name in list(index_client.list_index_names())
    assert any(i.name == name for i in index_client.list_indexes())
    stats = index_client.get_index_statistics(name)
    assert stats["document_count"] == 0 if isinstance(stats, dict) else stats.document_count == 0
    index_client.delete_index(name)
    with pytest.raises(ResourceNotFoundError):
        index_client.get_index(name)


def test_create_existing_is_400_resource_name_in_use(index_client):
    name = _name()
    index_client.create_index(SearchIndex(name=name, fields=_fields()))
    with pytest.raises(HttpResponseError) as err:
        index_client.create_index(SearchIndex(name=name, fields=_fields()))
    assert err.value.status_code == 400
    assert "ResourceNameAlreadyInUse" in str(err.value)
    index_client.delete_index(name)


def test_create_or_update_adds_field_and_rejects_incompatible_change(index_client, server):
    name = _name()
    index = index_client.create_or_update_index(SearchIndex(name=name, fields=_fields()))
    search = index_client.get_search_client(name)
    search.upload_documents([{"id": "1", "title": "Seaside hotel", "rating": 4}])
    index.fields.append(SimpleField(name="extra", type=SearchFieldDataType.String, filterable=True))
    updated = index_client.create_or_update_index(index)
    assert "extra" in [f.name for f in updated.fields]
    # documents survive the schema change, the new field is null and filterable
    doc = search.get_document("1")
    assert doc["title"] == "Seaside hotel" and doc["extra"] is None
    assert [d["id"] for d in search.search(filter="extra eq null")] == ["1"]
    # changing a field's type is refused, and nothing changes
    changed = index_client.get_index(name)
    for f in changed.fields:
        if f.name == "rating":
            f.type = SearchFieldDataType.String
    with pytest.raises(HttpResponseError) as err:
        index_client.create_or_update_index(changed)
    assert err.value.status_code == 400
    assert {f.name: f.type for f in index_client.get_index(name).fields}["rating"] == "Edm.Int32"
    index_client.delete_index(name)


def test_etag_concurrency_412(index_client):
    name = _name()
    first = index_client.create_index(SearchIndex(name=name, fields=_fields()))
    old_etag = first.e_tag
    first.fields.append(SimpleField(name="more", type=SearchFieldDataType.Int64, filterable=True))
    index_client.create_or_update_index(first)  # unconditional update changes the etag
    stale = index_client.get_index(name)
    stale.e_tag = old_etag
    with pytest.raises((ResourceModifiedError, HttpResponseError)) as err:
        index_client.create_or_update_index(stale, match_condition=MatchConditions.IfNotModified)
    assert err.value.status_code == 412
    with pytest.raises((ResourceModifiedError, HttpResponseError)) as err:
        index_client.delete_index(stale, match_condition=MatchConditions.IfNotModified)
    assert err.value.status_code == 412
    current = index_client.get_index(name)
    index_client.delete_index(current, match_condition=MatchConditions.IfNotModified)
    assert name not in list(index_client.list_index_names())


def test_delete_missing_index_is_404(index_client, server):
    import httpx

    r = httpx.delete(server.url("/indexes('does-not-exist')"), headers={"api-key": server.admin_key})
    assert r.status_code == 404
    assert r.json()["error"]["message"]
    index_client.delete_index("does-not-exist")  # the SDK treats 404 as success, as against Azure


def test_validation_errors(index_client):
    with pytest.raises(HttpResponseError) as err:  # no key field
        index_client.create_index(SearchIndex(name=_name(), fields=[SearchableField(name="title")]))
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:  # key not a string
        index_client.create_index(SearchIndex(name=_name(), fields=[SimpleField(name="id", type=SearchFieldDataType.Int32, key=True)]))
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:  # sortable collection
        index_client.create_index(
            SearchIndex(
                name=_name(),
                fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True), SearchableField(name="t", collection=True, sortable=True)],
            )
        )
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:  # bad index name
        index_client.create_index(SearchIndex(name="Bad_Name!", fields=_fields()))
    assert err.value.status_code == 400


def test_service_statistics_and_analyze(index_client):
    stats = index_client.get_service_statistics()
    assert "counters" in stats and "limits" in stats
    name = _name()
    index_client.create_index(SearchIndex(name=name, fields=_fields()))
    result = index_client.analyze_text(name, AnalyzeTextOptions(text="One's <two/>", analyzer_name="standard.lucene"))
    assert [t.token for t in result.tokens] == ["one's", "two"]
    result = index_client.analyze_text(name, AnalyzeTextOptions(text="Running dogs", analyzer_name="en.lucene"))
    assert [t.token for t in result.tokens] == ["run", "dog"]
    index_client.delete_index(name)


def test_auth_errors(server):
    bad = SearchIndexClient(server.endpoint, AzureKeyCredential("wrong-key"))
    with pytest.raises(HttpResponseError) as err:
        list(bad.list_index_names())
    assert err.value.status_code == 403
    query_only = SearchIndexClient(server.endpoint, AzureKeyCredential(server.query_key))
    with pytest.raises(HttpResponseError) as err:
        query_only.create_index(SearchIndex(name=_name(), fields=_fields()))
    assert err.value.status_code == 403
    import httpx

    r = httpx.get(server.url("/indexes"))
    assert r.status_code == 401 and "error" in r.json()
    r = httpx.get(f"{server.endpoint}/indexes", headers={"api-key": server.admin_key})
    assert r.status_code == 400 and "api-version" in r.json()["error"]["message"]
    r = httpx.get(f"{server.endpoint}/indexes?api-version=1999-01-01", headers={"api-key": server.admin_key})
    assert r.status_code == 400
    for version in ("2023-11-01", "2024-07-01", "2025-09-01", "2026-04-01", "2025-11-01-preview"):
        r = httpx.get(f"{server.endpoint}/indexes?api-version={version}", headers={"api-key": server.admin_key})
        assert r.status_code == 200, version
