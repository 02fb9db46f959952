"""Pure parts: mapping functions, type conversion, definitions, SQL generation for SQL Server."""
from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy.dialects import mssql

from weft.errors import InvalidInput
from weft.indexers.mapping import ConversionError, DocumentMapper, apply_function, convert, url_token_decode, url_token_encode
from weft.indexers.model import parse_data_source, parse_duration, parse_indexer
from weft.indexers.sources.azuresql import CEILING_SQL, SqlServerSource
from weft.indexers.tracking import KeysetPlan, decode_value, encode_value, keyset_checkpoint, marker_matches
from weft.search.schema import Field, parse_index_definition


def test_base64_round_trip_matches_url_token_format():
    assert url_token_encode(b"ab") == "YWI1"  # one '=' of padding -> digit 1
    assert url_token_decode("YWI1") == b"ab"
    assert apply_function("base64Encode", {}, "hello world") == "aGVsbG8gd29ybGQ1"
    assert apply_function("base64Decode", {}, "aGVsbG8gd29ybGQ1") == "hello world"
    assert apply_function("base64Encode", {"useHttpServerUtilityUrlTokenEncode": False}, "ab") == "YWI="
    with pytest.raises(ConversionError):
        apply_function("base64Decode", {}, "!!!")


def test_split_and_other_functions():
    assert apply_function("splitDelimitedString", {}, " a, b,,c ") == ["a", "b", "c"]
    assert apply_function("splitDelimitedString", {"delimiter": "|"}, "x|y") == ["x", "y"]
    assert apply_function("extractTokenAtPosition", {"delimiter": " ", "position": 1}, "Jane Doe") == "Doe"
    assert apply_function("jsonArrayToStringCollection", {}, '["a", 1]') == ["a", "1"]
    assert apply_function("urlEncode", {}, "a b/c") == "a%20b%2Fc"


def test_type_conversion():
    f = lambda t: Field(name="f", type=t)
    assert convert(decimal.Decimal("12.50"), f("Edm.String")) == "12.50"
    assert convert(decimal.Decimal("12.5"), f("Edm.Double")) == 12.5
    assert convert(7, f("Edm.String")) == "7"
    assert convert(1, f("Edm.Boolean")) is True
    assert convert("42", f("Edm.Int32")) == 42
    assert convert(dt.datetime(2024, 5, 1, 10, 0), f("Edm.DateTimeOffset")) == "2024-05-01T10:00:00.000000Z"
    assert convert(dt.date(2024, 5, 1), f("Edm.DateTimeOffset")) == "2024-05-01T00:00:00Z"
    assert convert('["x","y"]', f("Collection(Edm.String)")) == ["x", "y"]
    with pytest.raises(ConversionError):
        convert("a,b", f("Collection(Edm.String)"))
    with pytest.raises(ConversionError):
        convert(2**40, f("Edm.Int32"))


def test_mapper_keys_and_mappings():
    definition = parse_index_definition({"name": "ii", "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "Title", "type": "Edm.String"}]})
    mapper = DocumentMapper(definition, parse_indexer({"name": "x", "dataSourceName": "d", "targetIndexName": "i", "fieldMappings": [
        {"sourceFieldName": "path", "targetFieldName": "id", "mappingFunction": {"name": "base64Encode"}}]}).field_mappings)
    doc = mapper.document({"path": "a/b c", "title": "hi", "other": 1})
    assert doc == {"id": url_token_encode(b"a/b c"), "Title": "hi"}
    assert mapper.key_source_column(["path", "title"]) == "path"


def test_definitions_validate():
    ds = parse_data_source({"name": "d", "type": "postgresql", "credentials": {"connectionString": "postgresql://x"}, "container": {"name": "t"}})
    assert ds.to_json()["credentials"] == {"connectionString": None}
    with pytest.raises(InvalidInput):
        parse_data_source({"name": "d", "type": "azuresql", "credentials": {"connectionString": "x"}, "container": {"query": "select 1"}})
    with pytest.raises(InvalidInput):
        parse_indexer({"name": "x", "dataSourceName": "d", "targetIndexName": "i", "parameters": {"batchSize": 0}})
    ix = parse_indexer({"name": "x", "dataSourceName": "d", "targetIndexName": "i", "schedule": {"interval": "PT0.25S"},
                        "parameters": {"configuration": {"weftTargetEndpoint": "http://h", "weftTargetApiKey": "k"}}})
    assert ix.interval_seconds == 0.25 and ix.remote_api_key == "k"
    assert ix.to_json()["parameters"]["configuration"].get("weftTargetApiKey") is None
    assert parse_duration("P1DT2H") == 93600
    with pytest.raises(InvalidInput):
        parse_duration("5 minutes")


def test_soft_delete_marker_rules():
    assert marker_matches(True, "true") and marker_matches(1, "True") and marker_matches("TRUE", "true")
    assert marker_matches("Y", "y") and not marker_matches(0, "true") and not marker_matches(None, "true")


def test_cursor_values_round_trip():
    for v in (5, "k", dt.datetime(2024, 1, 1, 1, 2, 3, 456789), b"\x00\x00\x07\xd1", decimal.Decimal("1.5"), dt.date(2024, 1, 2)):
        assert decode_value(encode_value(v)) == v
    plan = KeysetPlan(None, None, ceiling=10, ceiling_inclusive=True)
    assert keyset_checkpoint(plan, 10, 3)["key"] is None  # ends on the inclusive ceiling: keep the whole tier
    assert keyset_checkpoint(plan, 9, 3)["key"] == 3


def test_sql_server_queries_are_fenced_by_min_active_rowversion():
    ds = parse_data_source({"name": "d", "type": "azuresql", "credentials": {"connectionString": "Server=tcp:h,1433;Database=db;User ID=u;Password=p;"},
                            "container": {"name": "dbo.Products"},
                            "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": "rv"}})
    source = SqlServerSource(ds, engine=None)
    source.key_column, source.hwm_column = "ProductId", "rv"
    assert CEILING_SQL == "SELECT MIN_ACTIVE_ROWVERSION()"
    captured = {}

    class FakeConn:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def execute(self, query):
            captured["sql"] = str(query.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": False}))

            class R:
                def mappings(self):
                    return []

            return R()

    class FakeEngine:
        def connect(self):
            return FakeConn()

    source.engine = FakeEngine()
    plan = KeysetPlan(hwm=b"\x00" * 8, key=5, ceiling=b"\x00\x00\x00\x00\x00\x00\x07\xd1", ceiling_inclusive=False)
    source.read(plan, plan.hwm, plan.key, 1000)
    sql = captured["sql"]
    assert sql.startswith("SELECT TOP") and "FROM dbo.[Products]" in sql
    assert "(rv > :rv_1 OR rv = :rv_2 AND [ProductId] > :ProductId_1) AND rv < :rv_3" in sql
    assert sql.endswith("ORDER BY rv, [ProductId]")
    from weft.indexers.sources.sql import engine_url

    assert engine_url(ds).startswith("mssql+pyodbc:///?odbc_connect=")


def test_absent_database_skips_locally_and_fails_on_ci(monkeypatch):
    from _pytest.outcomes import Failed, Skipped

    from tests.indexers.databases import require

    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped):
        require(url, "PostgreSQL")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed):
        require(url, "PostgreSQL")
