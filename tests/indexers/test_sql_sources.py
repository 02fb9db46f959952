"""Change detection against real PostgreSQL and MariaDB (and SQLite): initial load, updates, equal
high-water marks at batch boundaries, late committers, soft and hard deletes, TRUNCATE."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from tests.indexers.databases import MARIADB_URL, PG_URL, require, settle, table_name
from tests.indexers.harness import Harness

DDL = {
    "postgresql": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, title TEXT, ver BIGINT NOT NULL, tags TEXT, is_deleted BOOLEAN NOT NULL DEFAULT false, updated_at TIMESTAMP(6) NOT NULL DEFAULT now())",
    "mysql": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, title TEXT, ver BIGINT NOT NULL, tags TEXT, is_deleted BOOLEAN NOT NULL DEFAULT false, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (updated_at))",
}
URLS = {"postgresql": PG_URL, "mysql": MARIADB_URL}


@pytest.fixture(params=["postgresql", "mysql"])
def db(request):
    kind = request.param
    engine = require(URLS[kind], "PostgreSQL" if kind == "postgresql" else "MariaDB")
    table = table_name("items")
    with engine.begin() as conn:
        conn.execute(sa.text(DDL[kind].format(t=table)))
    yield kind, engine, table
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


class SettlingHarness(Harness):
    """The commit fence holds runs behind transactions still open anywhere in the database (other
    tests may hold some) and, on MariaDB, 2 s behind the clock: wait for that before each run, so the
    rows just written are below the ceiling."""

    kind = "postgresql"

    def run(self, name):
        settle(self.kind, URLS[self.kind])
        return super().run(name)


@pytest.fixture
def harness(tmp_path, request):
    h = SettlingHarness(tmp_path)
    if "db" in request.fixturenames:
        h.kind = request.getfixturevalue("db")[0]
    yield h
    h.close()


def _insert(engine, table, rows, conn=None):
    stmt = sa.text(f"INSERT INTO {table} (id, title, ver, tags) VALUES (:id, :title, :ver, :tags)")
    params = [{"id": i, "title": f"t{i}", "ver": 1, "tags": "a,b"} for i in rows]
    if conn is not None:
        conn.execute(stmt, params)
    else:
        with engine.begin() as c:
            c.execute(stmt, params)


def test_initial_load_changes_and_hard_deletes(db, harness):
    kind, engine, table = db
    _insert(engine, table, range(1, 2501))
    harness.datasource("src", kind, URLS[kind], table, deletion="hard")
    harness.indexer("ix", "src", parameters={"batchSize": 300}, fieldMappings=[
        {"sourceFieldName": "tags", "targetFieldName": "tags", "mappingFunction": {"name": "splitDelimitedString"}}])
    result = harness.run("ix")
    assert result["status"] == "success", result
    docs = harness.docs()
    assert len(docs) == 2500 and docs["17"]["tags"] == ["a", "b"]
    with engine.begin() as c:
        c.execute(sa.text(f"UPDATE {table} SET ver = 2, title = 'changed' WHERE id <= 10"))
        c.execute(sa.text(f"DELETE FROM {table} WHERE id BETWEEN 11 AND 20"))
    _insert(engine, table, [5000, 5001])
    with engine.begin() as c:  # inserted and deleted between two runs: never seen, must not appear
        c.execute(sa.text(f"DELETE FROM {table} WHERE id = 5001"))
    result = harness.run("ix")
    assert result["status"] == "success", result
    docs = harness.docs()
    assert len(docs) == 2500 - 10 + 1
    assert docs["3"]["ver"] == 2 and "15" not in docs and "5000" in docs and "5001" not in docs
    with engine.begin() as c:
        c.execute(sa.text(f"TRUNCATE TABLE {table}"))
    _insert(engine, table, [7])
    result = harness.run("ix")
    assert result["status"] == "success", result
    assert set(harness.docs()) == {"7"}
    assert harness.service.store.ledger_count("ix") == 1


def test_late_committer_is_not_skipped(db, harness):
    kind, engine, table = db
    _insert(engine, table, range(1, 50))
    harness.datasource("src", kind, URLS[kind], table)
    harness.indexer("ix", "src", parameters={"batchSize": 7})
    assert harness.run("ix")["status"] == "success"
    late = engine.connect()
    tx = late.begin()
    _insert(engine, table, [1000], conn=late)  # written now (old timestamp / xid), committed later
    _insert(engine, table, range(2000, 2020))  # others commit meanwhile
    assert Harness.run(harness, "ix")["status"] == "success"  # a run while the late transaction is open
    tx.commit()
    late.close()
    for _ in range(2):
        assert harness.run("ix")["status"] == "success"
    docs = harness.docs()
    assert "1000" in docs and all(str(i) in docs for i in range(2000, 2020)) and len(docs) == 49 + 21


def test_equal_high_water_marks_across_batch_boundaries(db, harness):
    kind, engine, table = db
    same = dt.datetime(2024, 1, 1, 12, 0, 0)
    with engine.begin() as c:
        c.execute(sa.text(f"INSERT INTO {table} (id, title, ver, updated_at) VALUES (:id, 'x', 1, :u)"),
                  [{"id": i, "u": same} for i in range(1, 101)])
    harness.datasource("src", kind, URLS[kind], table)
    harness.indexer("ix", "src", parameters={"batchSize": 7})
    result = harness.run("ix")
    assert result["status"] == "success" and result["itemsProcessed"] == 100
    with engine.begin() as c:  # more rows with the very same value, after the boundary
        c.execute(sa.text(f"INSERT INTO {table} (id, title, ver, updated_at) VALUES (:id, 'x', 1, :u)"),
                  [{"id": i, "u": same} for i in range(101, 111)])
    result = harness.run("ix")
    if kind == "postgresql":  # the transaction id finds them whatever the column says
        assert len(harness.docs()) == 110
    else:  # a value written in the past is Azure's documented misuse of the column: not required
        assert len(harness.docs()) >= 100
    assert result["itemsProcessed"] <= 10


def test_soft_delete_marker_compared_as_string(db, harness):
    kind, engine, table = db
    _insert(engine, table, range(1, 11))
    harness.datasource("src", kind, URLS[kind], table, deletion={
        "@odata.type": "#Microsoft.Azure.Search.SoftDeleteColumnDeletionDetectionPolicy",
        "softDeleteColumnName": "is_deleted", "softDeleteMarkerValue": "True"})
    harness.indexer("ix", "src")
    assert harness.run("ix")["status"] == "success"
    with engine.begin() as c:
        c.execute(sa.text(f"UPDATE {table} SET is_deleted = true, ver = ver + 1" + (", updated_at = now()" if kind == "postgresql" else "") + " WHERE id IN (2, 3)"))
    assert harness.run("ix")["status"] == "success"
    docs = harness.docs()
    assert "2" not in docs and "3" not in docs and len(docs) == 8


def test_query_container_postgres(harness):
    engine = require(PG_URL, "PostgreSQL")
    table = table_name("q")
    with engine.begin() as c:
        c.execute(sa.text(DDL["postgresql"].format(t=table)))
    try:
        _insert(engine, table, range(1, 31))
        harness.datasource("src", "postgresql", PG_URL, None, query=f"SELECT id, title, ver, updated_at FROM {table} WHERE id % 2 = 0")
        harness.indexer("ix", "src", parameters={"batchSize": 4}, fieldMappings=[])
        result = harness.run("ix")
        assert result["status"] == "success", result
        time.sleep(1.1)  # the view/query fence keeps one second behind the oldest transaction
        harness.run("ix")
        assert len(harness.docs()) == 15
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"DROP TABLE {table}"))
        engine.dispose()


def test_postgres_xid_window_reads_exactly_its_transactions():
    """A change window ``[floor, ceiling)`` holds exactly the rows of the transactions in it, whether
    read as one sequential first batch or batch by batch through the key index afterwards."""
    from weft.indexers.model import parse_data_source
    from weft.indexers.sources.postgresql import PostgresSource
    from weft.indexers.tracking import XidPlan

    engine = require(PG_URL, "PostgreSQL")
    table = table_name("xw")
    with engine.begin() as c:
        c.execute(sa.text(DDL["postgresql"].format(t=table)))
    try:
        _insert(engine, table, range(1, 201))  # before the window
        ds = parse_data_source({"name": "w", "type": "postgresql", "credentials": {"connectionString": PG_URL},
                                "container": {"name": table}})
        source = PostgresSource(ds, engine)
        source.configure("id", "updated_at")
        settle("postgresql", PG_URL)
        floor = source.snapshot_ceiling()
        changed = [7, 50, 51, 120, 199]
        with engine.begin() as c:
            c.execute(sa.text(f"UPDATE {table} SET ver = ver + 1 WHERE id IN ({', '.join(map(str, changed))})"))
        _insert(engine, table, range(201, 211))
        settle("postgresql", PG_URL)
        ceiling = source.snapshot_ceiling()
        _insert(engine, table, range(300, 305))  # after the window
        plan = XidPlan(floor, ceiling, None)
        expected = changed + list(range(201, 211))
        assert [r["id"] for r in source.read(plan, None, None, 1000)] == expected
        got, key = [], None
        while True:  # batches of 4: the first one sequential, then through the index
            rows = source.read(plan, None, key, 4)
            if not rows:
                break
            got += [r["id"] for r in rows]
            key = rows[-1]["id"]
        assert got == expected
        assert source.read(XidPlan(ceiling, ceiling, None), None, None, 1000) == []
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"DROP TABLE {table}"))
        engine.dispose()
