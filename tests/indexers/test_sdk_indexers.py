"""The official SearchIndexerClient against a live `weft serve`, with a SQLite data source."""
from __future__ import annotations

import sqlite3
import time
import uuid

import httpx
import pytest
from azure.core import MatchConditions
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient, SearchIndexerClient
from azure.search.documents.indexes.models import (
    FieldMapping, FieldMappingFunction, HighWaterMarkChangeDetectionPolicy, SearchableField,
    SearchFieldDataType, SearchIndex, SearchIndexer, SearchIndexerDataContainer, SearchIndexerDataSourceConnection,
    SimpleField, SoftDeleteColumnDeletionDetectionPolicy,
)


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def clients(live):
    cred = AzureKeyCredential(live.admin_key)
    with SearchIndexClient(live.endpoint, cred) as ic, SearchIndexerClient(live.endpoint, cred) as xc:
        yield ic, xc


def _sqlite_source(tmp_path):
    path = tmp_path / f"{uuid.uuid4().hex}.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, tags TEXT, price REAL, updated_at INTEGER NOT NULL, is_deleted INTEGER DEFAULT 0)")
    db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, 0)", [(i, f"product {i}", "red, blue", i * 1.5, i) for i in range(1, 26)])
    db.commit()
    return path, db


def _index(ic):
    name = _name("products")
    ic.create_index(SearchIndex(name=name, fields=[
        SimpleField(name="id", type=SearchFieldDataType.String, key=True),
        SearchableField(name="name"),
        SearchableField(name="tags", collection=True, filterable=True),
        SimpleField(name="price", type=SearchFieldDataType.Double, filterable=True),
    ]))
    return name


def _wait(xc, name, predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = xc.get_indexer_status(name)
        if predicate(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"indexer {name} status never matched: {xc.get_indexer_status(name)}")


def _done(count):
    return lambda s: len(s.execution_history) >= count and s.execution_history[0].status != "inProgress"


def test_sqlite_end_to_end_with_sdk(clients, live, tmp_path):
    ic, xc = clients
    path, db = _sqlite_source(tmp_path)
    index = _index(ic)
    ds_name, ix_name = _name("ds"), _name("ix")
    ds = xc.create_data_source_connection(SearchIndexerDataSourceConnection(
        name=ds_name, type="sqlite", connection_string=str(path), container=SearchIndexerDataContainer(name="products"),
        data_change_detection_policy=HighWaterMarkChangeDetectionPolicy(high_water_mark_column_name="updated_at"),
        data_deletion_detection_policy=SoftDeleteColumnDeletionDetectionPolicy(soft_delete_column_name="is_deleted", soft_delete_marker_value="1"),
    ))
    assert ds.connection_string is None  # redacted
    got = xc.get_data_source_connection(ds_name)
    assert got.connection_string is None and got.container.name == "products"
    assert ds_name in xc.get_data_source_connection_names()
    xc.create_indexer(SearchIndexer(
        name=ix_name, data_source_name=ds_name, target_index_name=index,
        field_mappings=[FieldMapping(source_field_name="tags", target_field_name="tags",
                                     mapping_function=FieldMappingFunction(name="splitDelimitedString"))],
        parameters=None,
    ))
    status = _wait(xc, ix_name, _done(1))
    assert status.last_result.status == "success", status.last_result.error_message
    assert status.last_result.item_count == 25 and status.last_result.failed_item_count == 0
    assert status.last_result.final_tracking_state
    search = SearchClient(live.endpoint, index, AzureKeyCredential(live.admin_key))
    assert search.get_document_count() == 25
    assert search.get_document("7")["tags"] == ["red", "blue"]
    # changes: an update, a soft delete, an insert
    db.execute("UPDATE products SET name = 'renamed', updated_at = 100 WHERE id = 3")
    db.execute("UPDATE products SET is_deleted = 1, updated_at = 101 WHERE id = 4")
    db.execute("INSERT INTO products VALUES (99, 'new one', 'x', 1.0, 102, 0)")
    db.commit()
    xc.run_indexer(ix_name)
    status = _wait(xc, ix_name, _done(2))
    assert status.last_result.status == "success", status.last_result.error_message
    assert search.get_document("3")["name"] == "renamed"
    with pytest.raises(ResourceNotFoundError):
        search.get_document("4")
    assert search.get_document("99")["name"] == "new one"
    assert search.get_document_count() == 25
    # reset: history shows it; the next run re-reads everything
    xc.reset_indexer(ix_name)
    status = xc.get_indexer_status(ix_name)
    assert status.execution_history[0].status == "reset"
    xc.run_indexer(ix_name)
    status = _wait(xc, ix_name, lambda s: s.execution_history[0].status not in ("inProgress", "reset"))
    assert status.last_result.item_count == 26  # 24 live rows + the soft-deleted one (deleted again) + 99
    assert [i.name for i in xc.get_indexers()] and ix_name in xc.get_indexer_names()
    counters = ic.get_service_statistics()["counters"]
    assert counters["indexersCount"]["usage"] == len(xc.get_indexer_names()) >= 1
    assert counters["dataSourcesCount"]["usage"] == len(xc.get_data_source_connection_names()) >= 1
    xc.delete_indexer(ix_name)
    with pytest.raises(ResourceNotFoundError):
        xc.get_indexer(ix_name)
    xc.delete_data_source_connection(ds_name)
    with pytest.raises(ResourceNotFoundError):
        xc.get_data_source_connection(ds_name)
    search.close()


def test_etags_and_preconditions(clients, tmp_path):
    ic, xc = clients
    path, _ = _sqlite_source(tmp_path)
    name = _name("ds")
    created = xc.create_or_update_data_source_connection(SearchIndexerDataSourceConnection(
        name=name, type="sqlite", connection_string=str(path), container=SearchIndexerDataContainer(name="products")))
    assert created.e_tag
    created.description = "changed"
    updated = xc.create_or_update_data_source_connection(created)
    assert updated.e_tag != created.e_tag
    with pytest.raises(HttpResponseError) as err:
        xc.create_or_update_data_source_connection(created, match_condition=MatchConditions.IfNotModified)
    assert err.value.status_code == 412
    with pytest.raises(HttpResponseError):
        xc.delete_data_source_connection(created, match_condition=MatchConditions.IfNotModified)
    # the stored secret survives an update that sends no connection string (the SDK sends null back)
    again = xc.get_data_source_connection(name)
    again.description = "third"
    xc.create_or_update_data_source_connection(again)
    xc.delete_data_source_connection(name)


def test_rest_both_path_styles_and_errors(live, tmp_path):
    path, _ = _sqlite_source(tmp_path)
    h = {"api-key": live.admin_key}
    name = _name("ds")
    body = {"name": name, "type": "sqlite", "credentials": {"connectionString": str(path)}, "container": {"name": "products"}}
    r = httpx.put(live.url(f"/datasources('{name}')"), json=body, headers={**h, "Prefer": "return=representation"})
    assert r.status_code == 201 and r.headers["ETag"]
    r = httpx.put(live.url(f"/datasources/{name}"), json=body, headers={**h, "If-None-Match": "*"})
    assert r.status_code == 412
    r = httpx.get(live.url(f"/datasources/{name}"), headers=h)
    assert r.status_code == 200 and r.json()["credentials"] == {"connectionString": None}
    assert httpx.get(live.url(f"/datasources/{name}"), headers={"api-key": live.query_key}).status_code == 403
    assert httpx.get(f"{live.endpoint}/datasources/{name}", headers=h).status_code == 400  # no api-version
    assert httpx.post(live.url("/datasources"), json=body, headers=h).status_code == 400  # exists
    bad = {**body, "name": _name("ds"), "type": "oracle"}
    assert httpx.post(live.url("/datasources"), json=bad, headers=h).status_code == 400
    assert httpx.get(live.url("/indexers/nope/status"), headers=h).status_code == 404
    assert httpx.post(live.url("/indexers('nope')/search.run"), headers=h).status_code == 404
    assert httpx.delete(live.url(f"/datasources('{name}')"), headers=h).status_code == 204
    assert httpx.delete(live.url(f"/datasources('{name}')"), headers=h).status_code == 404
    listed = httpx.get(live.url("/datasources"), headers=h).json()["value"]
    assert name not in [d["name"] for d in listed]


def test_connection_string_encrypted_at_rest(live, tmp_path):
    secret = f"/tmp/secret-{uuid.uuid4().hex}.db"
    name = _name("ds")
    body = {"name": name, "type": "sqlite", "credentials": {"connectionString": secret}, "container": {"name": "t"}}
    assert httpx.post(live.url("/datasources"), json=body, headers={"api-key": live.admin_key}).status_code == 201
    blob = b"".join(p.read_bytes() for p in (live.data_dir / "indexers").glob("indexers.sqlite3*"))
    assert secret.encode() not in blob
    assert (live.data_dir / "indexers" / "secret.key").stat().st_mode & 0o077 == 0
