"""Facet `timeoffset` on date intervals through the official SearchClient, on both facet paths (tantivy's
aggregations, and documents when the filter must be checked on them)."""
from __future__ import annotations

import uuid

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import SearchFieldDataType, SearchIndex, SimpleField

DOCS = [
    {"id": "1", "name": "a", "rating": 1, "lastRenovationDate": "2024-01-01T00:30:00Z"},
    {"id": "2", "name": "b", "rating": 2, "lastRenovationDate": "2024-01-01T23:30:00Z"},
    {"id": "3", "name": "c", "rating": 3, "lastRenovationDate": "2024-01-02T00:30:00Z"},
]


@pytest.fixture(scope="module")
def search(server):
    name = f"tz-{uuid.uuid4().hex[:8]}"
    client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    client.create_index(SearchIndex(name=name, fields=[
        SimpleField(name="id", type=SearchFieldDataType.String, key=True),
        SimpleField(name="name", type=SearchFieldDataType.String, filterable=True),
        SimpleField(name="rating", type=SearchFieldDataType.Int32, filterable=True, facetable=True),
        SimpleField(name="lastRenovationDate", type=SearchFieldDataType.DateTimeOffset, filterable=True, facetable=True),
    ]))
    sc = client.get_search_client(name)
    sc.upload_documents(DOCS)
    yield sc
    client.delete_index(name)
    client.close()


def _buckets(search, facet, filter=None):
    return [(b["value"], b["count"]) for b in search.search("*", facets=[facet], filter=filter).get_facets()["lastRenovationDate"]]


# "name gt 'a'" is a string range comparison, checked on the documents: the other facet path
@pytest.mark.parametrize("filter,docs", [(None, DOCS), ("name ge 'a'", DOCS), ("name gt 'a'", DOCS[1:])])
def test_day_buckets_start_at_midnight_of_the_offset(search, filter, docs):
    minus = _buckets(search, "lastRenovationDate,interval:day,timeoffset:-01:00", filter)
    plus = _buckets(search, "lastRenovationDate,interval:day,timeoffset:+01:00", filter)
    utc = _buckets(search, "lastRenovationDate,interval:day", filter)
    if len(docs) == 3:
        assert utc == [("2024-01-01T00:00:00Z", 2), ("2024-01-02T00:00:00Z", 1)]
        assert minus == [("2023-12-31T01:00:00Z", 1), ("2024-01-01T01:00:00Z", 2)]
        assert plus == [("2023-12-31T23:00:00Z", 1), ("2024-01-01T23:00:00Z", 2)]
    else:
        assert utc == [("2024-01-01T00:00:00Z", 1), ("2024-01-02T00:00:00Z", 1)]
        assert minus == [("2024-01-01T01:00:00Z", 2)]
        assert plus == [("2024-01-01T23:00:00Z", 2)]


def test_other_spellings_and_units(search):
    assert _buckets(search, "lastRenovationDate,interval:hour,timeoffset:+0530") == [
        ("2024-01-01T00:30:00Z", 1), ("2024-01-01T23:30:00Z", 1), ("2024-01-02T00:30:00Z", 1)]
    assert _buckets(search, "lastRenovationDate,interval:month,timeoffset:-01") == [("2023-12-01T01:00:00Z", 1), ("2024-01-01T01:00:00Z", 2)]
    assert _buckets(search, "lastRenovationDate,interval:year,timeoffset:+00:00") == [("2024-01-01T00:00:00Z", 3)]


@pytest.mark.parametrize("facet", [
    "lastRenovationDate,interval:day,timeoffset:1",
    "lastRenovationDate,interval:day,timeoffset:+25:00",
    "lastRenovationDate,interval:day,timeoffset:-01:60",
    "lastRenovationDate,interval:day,timeoffset:soon",
    "lastRenovationDate,timeoffset:-01:00",
    "rating,interval:1,timeoffset:-01:00",
    "lastRenovationDate,values:2024-01-01T00:00:00Z,timeoffset:-01:00",
])
def test_malformed_is_400(search, facet):
    with pytest.raises(HttpResponseError) as err:
        search.search("*", facets=[facet]).get_facets()
    assert err.value.status_code == 400 and "timeoffset" in str(err.value)
