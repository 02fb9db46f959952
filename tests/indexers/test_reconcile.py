"""Hard-delete reconciliation by hashed key buckets (weft.indexers.reconcile), against real
PostgreSQL and MariaDB and SQLite: digest parity between each dialect's SQL and Python, TRUNCATE,
rows deleted or inserted-and-deleted between runs, a 20k-row table with a few deletes listing few
keys, string keys under a case-insensitive collation, the ledger-walk fallback, stores written before
the bucket columns, and the delete-then-forget ordering."""
from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import time
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.indexers.databases import MARIADB_URL, PG_URL, require, settle, table_name
from tests.indexers.harness import Harness
from weft.indexers import reconcile as reconcile_module
from weft.indexers.keyhash import bucket_and_check, canonical_text, digest_hex, encoded_text, prefix_of, prefix_range
from weft.indexers.model import parse_data_source, parse_indexer
from weft.indexers.reconcile import HASH_BUCKETS, LEDGER_WALK, REPORT_NAME, reconcile
from weft.indexers.runner import RunContext, RunOutcome
from weft.indexers.sources import open_source
from weft.indexers.sources.sql import create_source_engine
from weft.indexers.sources.sqlite import SqliteSource
from weft.indexers.store import IndexerStore
from weft.indexers.targets import ItemOutcome
from weft.indexers.tracking import encode_value
from weft.search.service import SearchService

URLS = {"postgresql": PG_URL, "mysql": MARIADB_URL}
NAMES = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}

INTS = [0, 1, -1, 7, 42, -42, 999, 10**9, 2**31 - 1, -2**31, 2**32, 2**53 + 1, 2**63 - 1, -2**63]
STRINGS = ["a", "A", "abc", "ABC", "Mixed Case", " leading", "trailing ", "two  spaces", "é", "naïve café", "日本語",
           "emoji 😀", "Ω≈ç√", "tab\there", "quote'\"", "back\\slash", "0", "-1", "00123", "x" * 200]
CI_STRINGS = ["Alpha", "beta", "GAMMA", "MiXeD", "Ünïcode", "straße", "trailing ", " lead", "日本", "😀 smile"]


def _report(execution: dict) -> dict:
    assert not [w for w in execution["warnings"] if w.get("name") == REPORT_NAME], "the counts are not a warning"
    return execution["weftReconcile"]


# ---- digest parity: each dialect's SQL computes what keyhash computes ------------------------------------------

def _source(kind: str, url: str, table: str, key: str):
    ds = parse_data_source({"name": "d", "type": kind, "credentials": {"connectionString": url}, "container": {"name": table}})
    engine = create_source_engine(ds)
    source = open_source(ds, engine)
    source.configure(key, None)
    return source, engine


def _assert_parity(source, expected: list) -> None:
    k = sa.column(source.key_column)
    digest = source.key_digest(k)
    query = source._over_keys(sa.select(k, digest, source.hex_prefix(digest, 3), source.digest_check(digest)))
    with source.engine.connect() as conn:
        rows = {canonical_text(source.normalize_key(key)): (hexd, prefix, check) for key, hexd, prefix, check in conn.execute(query)}
        totals = [total for _, _, total in conn.execute(source.digest_summary_query(3))]
    assert sorted(rows) == sorted(canonical_text(v) for v in expected)
    for text, (hexd, prefix, check) in rows.items():
        bucket, python_check = bucket_and_check(text)
        assert hexd == digest_hex(text), text
        assert (int(prefix, 16), int(check)) == (bucket, python_check), text
    assert not any(isinstance(t, float) for t in totals)  # sums are exact (DECIMAL/NUMERIC/INTEGER), never DOUBLE
    summary: dict[str, list[int]] = {}
    for text in rows:
        bucket, check = bucket_and_check(text)
        entry = summary.setdefault(f"{bucket:03x}", [0, 0])
        entry[0] += 1
        entry[1] += check
    assert source.digest_summary(3) == {p: tuple(v) for p, v in summary.items()}
    for text in list(rows)[:5]:  # the full 11-digit prefix finds exactly that key
        bucket, check = bucket_and_check(text)
        assert [canonical_text(v) for v in source.keys_with_prefixes([prefix_of(bucket, check, 11)])] == [text]


PARITY = {
    "postgresql": [
        ("k BIGINT PRIMARY KEY", INTS),
        ("k TEXT PRIMARY KEY", STRINGS),
        ('k TEXT COLLATE "C" PRIMARY KEY', STRINGS),
        ("k UUID PRIMARY KEY", [uuid.UUID(int=0), uuid.UUID("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), uuid.uuid4(), uuid.uuid4()]),
        ("k INTEGER PRIMARY KEY", [0, -5, 2**31 - 1, -2**31]),
    ],
    "mysql": [
        ("k BIGINT PRIMARY KEY", INTS),
        ("k BIGINT UNSIGNED PRIMARY KEY", [0, 1, 2**63, 2**64 - 1]),
        ("k VARCHAR(250) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY", STRINGS),
        ("k VARCHAR(250) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY", CI_STRINGS),
        ("k VARCHAR(250) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY", CI_STRINGS),
        ("k VARCHAR(100) CHARACTER SET latin1 COLLATE latin1_swedish_ci PRIMARY KEY", ["café", "naïve", "Ärger", "plain", "trailing "]),
    ],
}


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_sql_digests_equal_python_digests(kind):
    engine = require(URLS[kind], NAMES[kind])
    try:
        for column, values in PARITY[kind]:
            table = table_name("par")
            with engine.begin() as conn:
                conn.execute(sa.text(f"CREATE TABLE {table} ({column})"))
                conn.execute(sa.text(f"INSERT INTO {table} (k) VALUES (:k)"), [{"k": v} for v in values])
            source, own = _source(kind, URLS[kind], table, "k")
            try:
                _assert_parity(source, values)
            finally:
                own.dispose()
                with engine.begin() as conn:
                    conn.execute(sa.text(f"DROP TABLE {table}"))
    finally:
        engine.dispose()


def test_sqlite_digests_equal_python_digests(tmp_path):
    path = tmp_path / "p.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE ints (k INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO ints VALUES (?)", [(v,) for v in INTS])
    db.execute("CREATE TABLE strs (k TEXT PRIMARY KEY COLLATE NOCASE)")
    db.executemany("INSERT INTO strs VALUES (?)", [(v,) for v in CI_STRINGS])
    db.execute("CREATE TABLE texts (k TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO texts VALUES (?)", [(v,) for v in STRINGS])
    db.commit()
    db.close()
    for table, values in (("ints", INTS), ("strs", CI_STRINGS), ("texts", STRINGS)):
        source, engine = _source("sqlite", str(path), table, "k")
        try:
            _assert_parity(source, values)
        finally:
            engine.dispose()


def test_python_canonical_text():
    assert canonical_text(-42) == "-42" and canonical_text(True) is None and canonical_text(1.0) is None
    assert canonical_text(uuid.UUID("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert encoded_text({"uuid": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    for value in (dt.datetime(2024, 1, 1), Decimal("1"), b"x", 1.5, dt.date(2024, 1, 1)):
        assert encoded_text(encode_value(value)) is None
    assert digest_hex("-5") == "47c1b025fa18ea96c33fbb6718688c0f"
    bucket, check = bucket_and_check("-5")
    assert (bucket, check) == (0x47C, 0x1B025FA1)
    assert prefix_range("47c") == (0x47C, 0, 2**32 - 1)
    assert prefix_range("47c1b") == (0x47C, 0x1B000000, 0x1BFFFFFF)
    assert prefix_of(bucket, check, 5) == "47c1b"


def test_sql_server_digest_sql_compiles_as_designed():
    from sqlalchemy.dialects import mssql

    from weft.indexers.sources.azuresql import SqlServerSource

    ds = parse_data_source({"name": "d", "type": "azuresql", "credentials": {"connectionString": "Server=tcp:x;Database=y"},
                            "container": {"name": "dbo.items"}})
    source = SqlServerSource(ds, None)
    source.key_column = "id"
    digest = "lower(convert(VARCHAR(32), hashbytes('MD5', convert(VARCHAR(40), id)), 2))"

    def sql(query):
        return " ".join(str(query.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True})).split())

    summary = sql(source.digest_summary_query(3))
    assert summary == (f"SELECT substring({digest}, 1, 3) AS substring_1, count(*) AS count_1, "
                       f"sum(convert(BIGINT, convert(VARBINARY(4), substring({digest}, 4, 8), 2))) AS sum_1 "
                       f"FROM dbo.items WHERE id IS NOT NULL GROUP BY substring({digest}, 1, 3)")
    assert f"AND substring({digest}, 1, 3) IN ('abc')" in sql(source.digest_summary_query(4, ["abc"]))
    listing = sql(source.keys_with_prefixes_query(["abc", "abcd"]))
    assert listing == (f"SELECT id FROM dbo.items WHERE id IS NOT NULL AND (substring({digest}, 1, 3) IN ('abc') "
                       f"OR substring({digest}, 1, 4) IN ('abcd'))")
    assert sql(source.digest_sample_query(64)).startswith(f"SELECT TOP 64 id, {digest}")
    assert source.digest_key_types == (int,)  # string keys walk the ledger on SQL Server


# ---- end to end through the indexer service ----------------------------------------------------------------------

DDL = {
    "postgresql": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, title TEXT, ver BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT now())",
    "mysql": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, title TEXT, ver BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL "
             "DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (updated_at))",
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, title TEXT, ver INTEGER NOT NULL, updated_at INTEGER NOT NULL DEFAULT 0)",
}


class Backend:
    def __init__(self, kind: str, url: str, engine: sa.Engine, table: str):
        self.kind, self.url, self.engine, self.table = kind, url, engine, table

    def execute(self, sql: str, params=None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql.format(t=self.table)), params or {})

    def insert(self, ids) -> None:
        rows = [{"id": i, "title": f"t{i}", "ver": 1} for i in ids]
        if rows:
            self.execute("INSERT INTO {t} (id, title, ver) VALUES (:id, :title, :ver)", rows)

    def delete(self, ids) -> None:
        self.execute("DELETE FROM {t} WHERE id IN (" + ",".join(str(int(i)) for i in ids) + ")")

    def truncate(self) -> None:
        self.execute("DELETE FROM {t}" if self.kind == "sqlite" else "TRUNCATE TABLE {t}")


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend(request, tmp_path):
    kind = request.param
    if kind == "sqlite":
        url = str(tmp_path / "source.db")
        engine = sa.create_engine(f"sqlite:///{url}")
    else:
        url = URLS[kind]
        engine = require(url, NAMES[kind])
    table = table_name("rec")
    with engine.begin() as conn:
        conn.execute(sa.text(DDL[kind].format(t=table)))
    yield Backend(kind, url, engine, table)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


class SettlingHarness(Harness):
    """Runs wait until the rows just written are below the commit fence (see test_sql_sources)."""

    kind = "sqlite"
    url = ""

    def run(self, name):
        settle(self.kind, self.url)
        result = super().run(name)
        assert result["status"] == "success", result
        return result


@pytest.fixture
def harness(tmp_path):
    h = SettlingHarness(tmp_path)
    yield h
    h.close()


def _setup(harness, backend, batch_size=1000, **datasource):
    harness.kind, harness.url = backend.kind, backend.url
    hwm = None if backend.kind == "sqlite" else "updated_at"
    harness.datasource("src", backend.kind, backend.url, datasource.pop("table", backend.table), hwm=hwm, deletion="hard", **datasource)
    harness.indexer("ix", "src", parameters={"batchSize": batch_size}, fieldMappings=[])


def test_truncate_and_rows_deleted_between_runs(backend, harness):
    backend.insert(range(1, 301))
    _setup(harness, backend, batch_size=100)
    first = harness.run("ix")
    assert len(harness.docs()) == 300
    assert _report(first)["method"] == HASH_BUCKETS and _report(first)["ghostsDeleted"] == 0
    backend.delete(range(10, 15))
    backend.insert([1000, 1001])
    backend.delete([1001])  # inserted and deleted between two runs: never indexed, never listed
    report = _report(harness.run("ix"))
    docs = harness.docs()
    assert set(docs) == {str(i) for i in [*range(1, 10), *range(15, 301), 1000]}
    assert report["method"] == HASH_BUCKETS and report["ghostsDeleted"] == 5
    backend.truncate()
    report = _report(harness.run("ix"))
    assert harness.docs() == {} and harness.service.store.ledger_count("ix") == 0
    assert report["ghostsDeleted"] == 296 and report["keysListed"] == 0  # an empty source lists nothing
    backend.insert([5, 6])
    harness.run("ix")
    assert set(harness.docs()) == {"5", "6"}


def test_few_deletes_in_20k_rows_list_few_keys(backend, harness):
    backend.insert(range(1, 20001))
    _setup(harness, backend)
    harness.run("ix")
    assert len(harness.docs()) == 20000
    gone = random.Random(7).sample(range(1, 20001), 15)
    backend.delete(gone)
    report = _report(harness.run("ix"))
    docs = harness.docs()
    assert len(docs) == 19985 and not {str(i) for i in gone} & set(docs)
    assert report["method"] == HASH_BUCKETS and report["ghostsDeleted"] == 15
    assert 1 <= report["bucketsMismatched"] <= 15
    assert report["keysListed"] < 2000, report  # ~5 per mismatched bucket, not 20k
    assert report["keysLookedUp"] == 15 and report["keptByLookup"] == 0
    assert report["queries"] <= 4, report  # digest sample, summary, one listing, one lookup
    report = _report(harness.run("ix"))
    assert report["bucketsMismatched"] == 0 and report["keysListed"] == 0 and report["queries"] == 2


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_query_container_and_view(kind, harness):
    engine = require(URLS[kind], NAMES[kind])
    table, view = table_name("rec"), table_name("recv")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(DDL[kind].format(t=table)))
            conn.execute(sa.text(f"CREATE VIEW {view} AS SELECT id, title, ver, updated_at FROM {table}"))
        backend = Backend(kind, URLS[kind], engine, table)
        backend.insert(range(1, 101))
        harness.kind, harness.url = kind, URLS[kind]
        harness.datasource("q", kind, URLS[kind], None, hwm="updated_at", deletion="hard",
                           query=f"SELECT id, title, ver, updated_at FROM {table}")
        harness.datasource("v", kind, URLS[kind], view, hwm="updated_at", deletion="hard")
        harness.indexer("ix-q", "q", fieldMappings=[])
        time.sleep(1.1)  # PostgreSQL views and queries: the fence is the oldest transaction start - 1 s
        harness.run("ix-q")
        assert len(harness.docs()) == 100
        backend.delete([3, 4])
        report = _report(harness.run("ix-q"))
        assert report["method"] == HASH_BUCKETS and report["ghostsDeleted"] == 2
        assert len(harness.docs()) == 98
        harness.service.delete_indexer("ix-q")
        harness.indexer("ix-v", "v", fieldMappings=[])
        harness.run("ix-v")
        assert harness.service.store.ledger_count("ix-v") == 98
        backend.delete([5])
        report = _report(harness.run("ix-v"))
        assert report["method"] == HASH_BUCKETS and report["ghostsDeleted"] == 1
        assert len(harness.docs()) == 97
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP VIEW IF EXISTS {view}"))
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


STRING_DDL = {
    "postgresql": "CREATE TABLE {t} (code TEXT PRIMARY KEY, title TEXT, ver BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT now())",
    "mysql": "CREATE TABLE {t} (code VARCHAR(60) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, title TEXT, "
             "ver BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (updated_at))",
}


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_string_keys_in_a_case_insensitive_collation(kind, harness):
    """MariaDB's utf8mb4_general_ci orders and compares 'beta' = 'BETA'; digests do not. A key whose
    case changes is a new row and a ghost, and the ghost's lookup (``= 'beta'`` finds 'BETA') is
    compared exactly, so it is deleted."""
    engine = require(URLS[kind], NAMES[kind])
    table = table_name("recs")
    keys = [f"{'Key' if i % 2 else 'key'}-{i}-{'X' if i % 3 else 'y'}" for i in range(300)] + ["Alpha", "beta", "GAMMA", "MiXeD_Case"]
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(STRING_DDL[kind].format(t=table)))
            conn.execute(sa.text(f"INSERT INTO {table} (code, title, ver) VALUES (:c, 't', 1)"), [{"c": k} for k in keys])
        harness.kind, harness.url = kind, URLS[kind]
        harness.datasource("src", kind, URLS[kind], table, deletion="hard")
        harness.indexer("ix", "src", fieldMappings=[{"sourceFieldName": "code", "targetFieldName": "id"}])
        harness.run("ix")
        assert set(harness.docs()) == set(keys)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {table} WHERE code IN ('Alpha', 'key-4-X', 'Key-9-y')"))
            conn.execute(sa.text(f"UPDATE {table} SET code = 'BETA' WHERE code = 'beta'"))
        report = _report(harness.run("ix"))
        expected = (set(keys) - {"Alpha", "key-4-X", "Key-9-y", "beta"}) | {"BETA"}
        assert set(harness.docs()) == expected
        assert report["method"] == HASH_BUCKETS and report["ghostsDeleted"] == 4 and report["keptByLookup"] == 0
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


FALLBACK = {
    "pg-timestamp": ("postgresql", "ts TIMESTAMP(6) PRIMARY KEY, ver BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT now()",
                     lambda i: dt.datetime(2024, 1, 1) + dt.timedelta(seconds=i), "canonical text"),
    "pg-char": ("postgresql", "ts CHAR(12) PRIMARY KEY, ver BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT now()",
                lambda i: f"c{i}", "differs"),
    "mariadb-datetime": ("mysql", "ts DATETIME(6) PRIMARY KEY, ver BIGINT NOT NULL, updated_at TIMESTAMP(6) NOT NULL "
                                  "DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)",
                         lambda i: dt.datetime(2024, 1, 1) + dt.timedelta(seconds=i), "canonical text"),
    "sqlite-real": ("sqlite", "ts REAL PRIMARY KEY, ver INTEGER NOT NULL", lambda i: i + 0.5, "canonical text"),
}


@pytest.mark.parametrize("case", sorted(FALLBACK))
def test_keys_without_canonical_text_walk_the_ledger(case, harness, tmp_path):
    kind, columns, key, reason = FALLBACK[case]
    if kind == "sqlite":
        url = str(tmp_path / "fallback.db")
        engine = sa.create_engine(f"sqlite:///{url}")
    else:
        url = URLS[kind]
        engine = require(url, NAMES[kind])
    table = table_name("recf")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table} ({columns})"))
            conn.execute(sa.text(f"INSERT INTO {table} (ts, ver) VALUES (:k, 1)"), [{"k": key(i)} for i in range(60)])
        harness.kind, harness.url = kind, url
        harness.datasource("src", kind, url, table, hwm=None if kind == "sqlite" else "updated_at", deletion="hard")
        harness.indexer("ix", "src", fieldMappings=[{"sourceFieldName": "ts", "targetFieldName": "id"}],
                        parameters={"base64EncodeKeys": True})
        harness.run("ix")
        assert len(harness.docs()) == 60
        with engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {table} WHERE ts IN (:a, :b, :c)"), {"a": key(3), "b": key(30), "c": key(59)})
        report = _report(harness.run("ix"))
        assert len(harness.docs()) == 57 and harness.service.store.ledger_count("ix") == 57
        assert report["method"] == LEDGER_WALK and report["ghostsDeleted"] == 3, report
        assert reason in report["fallbackReason"], report
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


# ---- stores written before the bucket columns ----------------------------------------------------------------------

OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasources (name TEXT PRIMARY KEY, body TEXT NOT NULL, secret BLOB, etag TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS indexers (name TEXT PRIMARY KEY, body TEXT NOT NULL, secret BLOB, etag TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracking (indexer TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (id INTEGER PRIMARY KEY AUTOINCREMENT, indexer TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS executions_by_indexer ON executions (indexer, id);
CREATE TABLE IF NOT EXISTS ledger (
  indexer TEXT NOT NULL, doc_key TEXT NOT NULL, source_key TEXT NOT NULL, PRIMARY KEY (indexer, doc_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (indexer TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


def _ledger_rows(path) -> dict:
    db = sqlite3.connect(path)
    try:
        return {(i, k): (json.loads(s), b, c) for i, k, s, b, c in db.execute("SELECT indexer, doc_key, source_key, bucket, key_check FROM ledger")}
    finally:
        db.close()


def test_old_store_is_migrated_in_place_and_idempotently(tmp_path, monkeypatch):
    path = tmp_path / "indexers.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    sources = [7, -3, "Abc", "日本", encode_value(uuid.UUID(int=5)), encode_value(dt.datetime(2024, 1, 1)), encode_value(1.5)]
    entries = [(f"ix{n % 2}", f"d{n}", json.dumps(s)) for n, s in enumerate(sources * 3000)]
    db.executemany("INSERT INTO ledger VALUES (?, ?, ?)", entries)
    db.commit()
    db.close()
    monkeypatch.setattr("weft.indexers.store.BACKFILL_PAGE", 997)  # several pages
    IndexerStore(path).close()
    rows = _ledger_rows(path)
    assert len(rows) == len(entries)
    for source_key, bucket, check in rows.values():
        assert (bucket, check) == bucket_and_check(encoded_text(source_key))
    assert sum(1 for _, b, _ in rows.values() if b is None) == 2 * 3000  # datetime and float keys have no digest
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'ledger_by_bucket'").fetchone()
    # an interrupted migration (columns added, backfill half done, no index, version not moved) resumes
    db.execute("DROP INDEX ledger_by_bucket")
    db.execute("UPDATE ledger SET bucket = NULL, key_check = NULL WHERE doc_key > 'd5'")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()
    store = IndexerStore(path)
    assert _ledger_rows(path) == rows
    assert store.ledger_has_unhashed("ix0") and store.ledger_bucket_summary("ix0")
    store.close()
    IndexerStore(path).close()  # already current: nothing to do
    assert _ledger_rows(path) == rows


def _downgrade(path) -> None:
    """Turn a current store into the pre-bucket schema (as weft wrote it before)."""
    db = sqlite3.connect(path)
    db.execute("DROP INDEX ledger_by_bucket")
    db.execute("ALTER TABLE ledger DROP COLUMN key_check")
    db.execute("ALTER TABLE ledger DROP COLUMN bucket")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()


def test_a_ledger_from_the_old_schema_reconciles_after_migration(tmp_path):
    source = tmp_path / "source.db"
    db = sqlite3.connect(source)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, ver INTEGER)")
    db.executemany("INSERT INTO items VALUES (?, 't', 1)", [(i,) for i in range(1, 501)])
    db.commit()
    harness = Harness(tmp_path)
    harness.datasource("src", "sqlite", str(source), "items", hwm=None, deletion="hard")
    harness.indexer("ix", "src", fieldMappings=[])
    assert harness.run("ix")["status"] == "success"
    harness.close()
    _downgrade(tmp_path / "indexers" / "indexers.sqlite3")
    assert all(len(row) == 3 for row in sqlite3.connect(tmp_path / "indexers" / "indexers.sqlite3").execute("SELECT * FROM ledger"))
    db.execute("DELETE FROM items WHERE id IN (2, 200, 499)")
    db.commit()
    search = SearchService(tmp_path / "search")
    from weft.indexers.service import IndexerService

    service = IndexerService(tmp_path / "indexers", search, run_scheduler=False)
    try:
        result = service.run_and_wait("ix", timeout=60)
        assert result["status"] == "success", result
        report = _report(result)
        assert report["method"] == HASH_BUCKETS and report["ghostsDeleted"] == 3
        assert search.count("items") == 497 and service.store.ledger_count("ix") == 497
        assert not service.store.ledger_has_unhashed("ix")
    finally:
        service.close()
        search.close()
        db.close()


# ---- unit level: reconcile() over a SQLite source and a fake target --------------------------------------------------

class FakeTarget:
    def __init__(self, fail=(), crash_on=None):
        self.fail, self.crash_on = set(fail), crash_on
        self.deleted: list[str] = []

    def apply(self, actions):
        keys = [a["id"] for a in actions]
        if self.crash_on is not None and self.crash_on in keys:
            raise ConnectionError("the target went away")
        self.deleted += [k for k in keys if k not in self.fail]
        return [ItemOutcome(k, k not in self.fail, 503 if k in self.fail else 200, None) for k in keys]


def _context(tmp_path, keys, ledger_keys, target, source_cls=SqliteSource, batch_size=1000, text_keys=False):
    path = tmp_path / "unit.db"
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE items (id {'TEXT' if text_keys else 'INTEGER'} PRIMARY KEY)")
    db.executemany("INSERT INTO items VALUES (?)", [(k,) for k in keys])
    db.commit()
    db.close()
    ds = parse_data_source({"name": "d", "type": "sqlite", "credentials": {"connectionString": str(path)}, "container": {"name": "items"},
                            "dataDeletionDetectionPolicy": {"@odata.type": "#Weft.HardDeleteReconciliationPolicy"}})
    ix = parse_indexer({"name": "ix", "dataSourceName": "d", "targetIndexName": "t", "parameters": {"batchSize": batch_size}})
    engine = create_source_engine(ds)
    source = source_cls(ds, engine)
    source.configure("id", None)
    store = IndexerStore(tmp_path / "store.sqlite3")
    store.ledger_add("ix", [(str(k), encode_value(k)) for k in ledger_keys])
    return RunContext(ix, ds, source, target, store), engine


def test_the_ledger_keeps_keys_whose_delete_failed(tmp_path):
    """Deleted from the index first, forgotten by the ledger only once the delete is durable: a
    failed or interrupted delete leaves the key in the ledger, and the next reconciliation deletes it."""
    target = FakeTarget(fail={"13", "17"})
    ctx, engine = _context(tmp_path, range(1, 11), range(1, 21), target, batch_size=4)
    try:
        report = reconcile(ctx, RunOutcome(), "id")
        assert sorted(int(k) for k, _ in ctx.store.ledger_page("ix", None, 100)) == [*range(1, 11), 13, 17]
        assert report.ghosts_deleted == 8 and report.deletes_failed == 2
        ctx.target = FakeTarget(crash_on="13")  # the target dies during the delete: nothing is forgotten
        with pytest.raises(ConnectionError):
            reconcile(ctx, RunOutcome(), "id")
        assert ctx.store.ledger_count("ix") == 12
        ctx.target = FakeTarget()
        report = reconcile(ctx, RunOutcome(), "id")
        assert sorted(ctx.target.deleted, key=int) == ["13", "17"] and ctx.store.ledger_count("ix") == 10
        assert ctx.store.meta("ix")["lastReconcile"] > 0
    finally:
        ctx.store.close()
        engine.dispose()


def test_big_mismatched_buckets_are_narrowed_under_the_bound(tmp_path, monkeypatch):
    """With a bound of 8 keys, buckets (about 10 keys on both sides) are split by the next digest
    digit; no listing exceeds the bound, and the outcome is the same."""
    monkeypatch.setattr(reconcile_module, "LIST_BOUND", 8)
    keys = range(1, 20001)
    gone = set(random.Random(3).sample(keys, 25))
    fresh = range(30001, 30011)  # rows change tracking has not read yet: not in the ledger, not deleted
    target = FakeTarget()
    ctx, engine = _context(tmp_path, [k for k in keys if k not in gone] + list(fresh), keys, target)
    listings: list[tuple[list[str], int]] = []
    original = ctx.source.keys_with_prefixes

    def recording(prefixes):
        listed = original(prefixes)
        listings.append((prefixes, len(listed)))
        return listed

    ctx.source.keys_with_prefixes = recording
    try:
        report = reconcile(ctx, RunOutcome(), "id")
        assert sorted(int(k) for k in target.deleted) == sorted(gone)
        assert ctx.store.ledger_count("ix") == 20000 - 25
        assert max(n for _, n in listings) <= 8
        assert any(len(p) > 3 for prefixes, _ in listings for p in prefixes)
        assert report.keys_listed < 25 * 8
    finally:
        ctx.store.close()
        engine.dispose()


class LowercasingSource(SqliteSource):
    """A dialect bug: the source hashes lower(key), weft hashes the key."""

    def key_digest(self, key):
        return sa.func.weft_key_md5(sa.func.lower(key))


def test_a_digest_disagreement_never_deletes_an_existing_row(tmp_path, monkeypatch):
    keys = ["Abc", "DEF", "ghi", "Jkl", "mno", "PQR"] + [f"K{i}" for i in range(200)]
    ctx, engine = _context(tmp_path, keys, keys, FakeTarget(), source_cls=LowercasingSource, text_keys=True)
    try:
        report = reconcile(ctx, RunOutcome(), "id")  # the digest sample catches it: walk the ledger
        assert report.method == LEDGER_WALK and "differs" in report.fallback_reason and report.ghosts_deleted == 0
        monkeypatch.setattr(reconcile_module, "_hash_unusable", lambda ctx: None)  # a sample that missed it
        report = reconcile(ctx, RunOutcome(), "id")
        assert report.method == HASH_BUCKETS and report.ghosts_deleted == 0
        # keys with a capital letter land in the wrong prefix on the source side; those the listing
        # did not happen to return anyway are looked up, found, and kept
        assert report.kept_by_lookup == report.keys_looked_up > 100
        assert ctx.store.ledger_count("ix") == len(keys) and ctx.target.deleted == []
    finally:
        ctx.store.close()
        engine.dispose()


class NoDigestSource(SqliteSource):
    """A source that refuses md5 (as a FIPS-mode PostgreSQL does)."""

    def key_digest(self, key):
        return sa.func.no_such_md5(key)


def test_a_source_that_cannot_hash_walks_the_ledger(tmp_path):
    target = FakeTarget()
    ctx, engine = _context(tmp_path, range(1, 51), range(1, 56), target, source_cls=NoDigestSource)
    try:
        report = reconcile(ctx, RunOutcome(), "id")
        assert report.method == LEDGER_WALK and "cannot compute key digests" in report.fallback_reason
        assert sorted(target.deleted) == ["51", "52", "53", "54", "55"] and ctx.store.ledger_count("ix") == 50
    finally:
        ctx.store.close()
        engine.dispose()
