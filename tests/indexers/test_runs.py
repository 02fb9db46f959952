"""Runs in process over SQLite: error tolerance, crash-resume, concurrency (409), schedules."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from weft.errors import Conflict
from weft.indexers.scheduler import ManualClock, next_due
from weft.indexers.service import IndexerService
from weft.search.service import SearchService
from tests.indexers.harness import Harness


def _db(path, n=50, bad=()):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, ver TEXT, tags TEXT, updated_at INTEGER NOT NULL)")
    db.executemany("INSERT INTO items VALUES (?, ?, ?, 'x', ?)", [(i, f"t{i}", "oops" if i in bad else str(i), i) for i in range(1, n + 1)])
    db.commit()
    return db


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.close()


def test_poison_rows_reported_with_key_and_do_not_block(harness, tmp_path):
    _db(tmp_path / "s.db", bad=(5, 33))
    harness.datasource("src", "sqlite", str(tmp_path / "s.db"), "items")
    harness.indexer("strict", "src", parameters={"batchSize": 10})
    result = harness.run("strict")
    assert result["status"] == "transientFailure" and "maxFailedItems" in result["errorMessage"]
    assert result["errors"][0]["key"] == "5" and "Int64" in result["errors"][0]["errorMessage"]
    assert len(harness.docs()) == 9  # the good rows of the failing batch are indexed; the cursor stays before it
    again = harness.run("strict")
    assert again["status"] == "transientFailure"  # default tolerance 0: the same row fails the next run too
    harness.indexer("tolerant", "src", parameters={"batchSize": 10, "maxFailedItems": -1, "maxFailedItemsPerBatch": -1})
    result = harness.run("tolerant")
    assert result["status"] == "success" and result["itemsFailed"] == 2 and result["itemsProcessed"] == 50
    assert sorted(e["key"] for e in result["errors"]) == ["33", "5"]
    assert len(harness.docs()) == 48
    result = harness.run("tolerant")  # not retried forever: the cursor moved past them
    assert result["itemsProcessed"] <= 1 and result["itemsFailed"] == 0


def test_per_batch_limit(harness, tmp_path):
    _db(tmp_path / "s.db", bad=(1, 2, 3))
    harness.datasource("src", "sqlite", str(tmp_path / "s.db"), "items")
    harness.indexer("ix", "src", parameters={"batchSize": 10, "maxFailedItems": 10, "maxFailedItemsPerBatch": 2})
    result = harness.run("ix")
    assert result["status"] == "transientFailure" and "maxFailedItemsPerBatch" in result["errorMessage"]


class FailingTarget:
    """Fails the n-th batch write, like a crash between two batches."""

    def __init__(self, inner, fail_at):
        self.inner, self.fail_at, self.calls = inner, fail_at, 0

    def definition(self):
        return self.inner.definition()

    def apply(self, actions):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("simulated crash")
        return self.inner.apply(actions)

    def close(self):
        pass


def test_interrupted_run_resumes_from_last_durable_batch(harness, tmp_path, monkeypatch):
    _db(tmp_path / "s.db", n=95)
    harness.datasource("src", "sqlite", str(tmp_path / "s.db"), "items")
    harness.indexer("ix", "src", parameters={"batchSize": 10})
    import weft.indexers.service as svc

    real = svc.LocalTarget
    made = []

    def failing(search, index):
        t = FailingTarget(real(search, index), fail_at=4)
        made.append(t)
        return t

    monkeypatch.setattr(svc, "LocalTarget", failing)
    result = harness.run("ix")
    assert result["status"] == "transientFailure" and "simulated crash" in result["errorMessage"]
    assert '"hwm":30' in result["finalTrackingState"]  # three batches durable, cursor after them
    monkeypatch.setattr(svc, "LocalTarget", real)
    result = harness.run("ix")
    assert result["status"] == "success" and result["itemsProcessed"] == 65  # resumed, nothing re-read
    assert len(harness.docs()) == 95


def test_second_run_while_running_is_conflict(harness, tmp_path, monkeypatch):
    _db(tmp_path / "s.db")
    harness.datasource("src", "sqlite", str(tmp_path / "s.db"), "items")
    harness.indexer("ix", "src")
    import weft.indexers.service as svc

    gate = threading.Event()
    real = svc.LocalTarget

    class Blocking(real):
        def apply(self, actions):
            gate.wait(10)
            return super().apply(actions)

    monkeypatch.setattr(svc, "LocalTarget", Blocking)
    harness.service.run("ix")
    status = harness.service.status("ix")
    assert status["lastResult"]["status"] == "inProgress" and "progress" in status["lastResult"]
    with pytest.raises(Conflict):
        harness.service.run("ix")
    gate.set()
    harness.service.wait_idle("ix", 10)
    assert harness.service.status("ix")["lastResult"]["status"] == "success"


def test_schedule_with_injected_clock(tmp_path):
    _db(tmp_path / "s.db", n=3)
    search = SearchService(tmp_path / "search")
    search.create_index({"name": "items", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String"}]})
    clock = ManualClock()
    service = IndexerService(tmp_path / "ix", search, clock=clock, run_scheduler=False)
    try:
        service.create_datasource({"name": "src", "type": "sqlite", "credentials": {"connectionString": str(tmp_path / "s.db")},
                                   "container": {"name": "items"}})
        service.create_indexer({"name": "ix", "dataSourceName": "src", "targetIndexName": "items", "schedule": {"interval": "PT0.5S"}})
        service.wait_idle("ix", 10)
        assert len(service.status("ix")["executionHistory"]) == 1  # the creation run
        service.scheduler.tick()
        clock.advance(0.4)
        service.scheduler.tick()
        service.wait_idle("ix", 10)
        assert len(service.status("ix")["executionHistory"]) == 1
        clock.advance(0.2)
        service.scheduler.tick()
        service.wait_idle("ix", 10)
        assert len(service.status("ix")["executionHistory"]) == 2
        assert service.status("ix")["lastResult"]["status"] == "success"
    finally:
        service.close()
        search.close()


def test_next_due_grid():
    assert next_due(None, 60, None, 1000) == 1000
    assert next_due(1000, 60, None, 1010) == 1060
    assert next_due(None, 60, 2000, 1000) == 2000  # before the start time
    assert next_due(2005, 60, 2000, 2070) == 2060  # on the grid anchored at startTime
    assert next_due(2130, 60, 2000, 2200) == 2180  # an overrun skips the missed slot


def test_history_keeps_fifty_newest(harness, tmp_path):
    _db(tmp_path / "s.db", n=2)
    harness.datasource("src", "sqlite", str(tmp_path / "s.db"), "items")
    harness.indexer("ix", "src")
    for _ in range(53):
        harness.run("ix")
    history = harness.service.status("ix")["executionHistory"]
    assert len(history) == 50
    assert history[0]["startTime"] >= history[-1]["startTime"]


def test_invalid_document_key_is_a_poison_row(harness, tmp_path):
    db = sqlite3.connect(tmp_path / "k.db")
    db.execute("CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT)")
    db.executemany("INSERT INTO items VALUES (?, ?)", [("a1", "x"), ("bad key/1", "y"), ("a3", "z")])
    db.commit()
    harness.datasource("src", "sqlite", str(tmp_path / "k.db"), "items", hwm=None)
    harness.indexer("ix", "src", fieldMappings=[], parameters={"maxFailedItems": -1, "maxFailedItemsPerBatch": -1})
    result = harness.run("ix")
    assert result["status"] == "success" and result["itemsFailed"] == 1
    assert result["errors"][0]["key"] == "bad key/1" and "Invalid document key" in result["errors"][0]["errorMessage"]
    assert set(harness.docs()) == {"a1", "a3"}
    harness.indexer("b64", "src", fieldMappings=[], parameters={"base64EncodeKeys": True})
    assert harness.run("b64")["status"] == "success"
    assert len(harness.docs()) == 2 + 3
