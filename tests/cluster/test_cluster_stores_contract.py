"""The PostgreSQL indexer store keeps the SQLite store's contract: the same calls give the same answers."""
from __future__ import annotations

from weft.cluster.stores import PgIndexerStore, PgRetrievalStore, connect
from weft.etags import ANY
from weft.indexers.store import HISTORY_LIMIT, IndexerStore
from weft.retrieval.service import RetrievalStore

from tests.cluster.jobs_support import cluster_schema  # noqa: F401


def _script(store) -> list:
    out = []
    store.put_definition("datasource", "ds", {"name": "ds", "type": "postgresql"}, b"sealed\x00bytes", "e1")
    store.put_definition("indexer", "ix", {"name": "ix", "dataSourceName": "ds"}, None, "e2")
    store.put_definition("indexer", "ix", {"name": "ix", "dataSourceName": "ds", "v": 2}, None, "e3")  # replace
    out.append(store.get_definition("datasource", "ds"))
    out.append(store.list_definitions("indexer"))
    out.append(store.get_definition("indexer", "missing"))
    store.save_tracking_state("ix", {"hwm": [1, "a"]})
    out.append(store.tracking_state("ix"))
    store.ledger_add("ix", [(f"k{i:03d}", i) for i in range(40)] + [("kx", {"weird": [1]}), ("k005", 5)])
    out.append(store.ledger_count("ix"))
    out.append(store.ledger_page("ix", None, 5))
    out.append(store.ledger_page("ix", "k035", 100))
    out.append(store.ledger_has_unhashed("ix"))
    summary = store.ledger_bucket_summary("ix")
    out.append(summary)
    bucket = sorted(summary)[0]
    out.append(store.ledger_check_summary("ix", bucket, 0, 2**62, 40))
    out.append(sorted(store.ledger_range("ix", bucket, 0, 2**62)))
    # the cursor and the ledger trim commit together
    store.save_tracking_state("ix", {"hwm": [2, "b"]}, ledger_removals=["k000", "k001", "nope"])
    out.append((store.tracking_state("ix"), store.ledger_count("ix")))
    store.ledger_remove("ix", ["k002"])
    out.append(store.ledger_count("ix"))
    store.save_meta("ix", {"m": 1})
    out.append(store.meta("ix"))
    ids = [store.start_execution("ix", {"status": "success", "n": i}) for i in range(HISTORY_LIMIT + 3)]
    store.update_execution(ids[-1], {"status": "inProgress", "n": "last"})
    history = store.executions("ix")
    out.append((len(history), history[0], history[-1]))
    out.append([(name, body) for _, name, body in store.interrupted_executions()])
    store.save_tracking_state("ix", None)
    out.append(store.tracking_state("ix"))
    store.delete_definition("indexer", "ix")
    out.append((store.list_definitions("indexer"), store.executions("ix"), store.ledger_count("ix"), store.meta("ix")))
    return out


def test_pg_indexer_store_answers_like_sqlite(cluster_schema, tmp_path):
    url, _, _ = cluster_schema
    engine = connect(url)
    sqlite = IndexerStore(tmp_path / "indexers.sqlite3")
    try:
        expected = _script(sqlite)
        got = _script(PgIndexerStore(engine))
        for i, (e, g) in enumerate(zip(expected, got)):
            assert g == e, f"step {i}"
        assert len(got) == len(expected)
    finally:
        sqlite.close()
        engine.dispose()


def test_pg_retrieval_store_answers_like_sqlite(cluster_schema, tmp_path):
    url, _, _ = cluster_schema
    engine = connect(url)
    stores = [RetrievalStore(tmp_path / "r.sqlite3"), PgRetrievalStore(engine)]
    try:
        results = []
        for store in stores:
            store.put("knowledgeSource", "a", {"x": 1}, b"s", "e1")
            store.put("knowledgeSource", "a", {"x": 2}, None, "e2")
            store.put("knowledgeBase", "b", {"y": 1}, None, "e3")
            results.append((store.get("knowledgeSource", "a"), store.list("knowledgeSource"), store.delete("knowledgeBase", "b"),
                            store.delete("knowledgeBase", "b"), store.get("knowledgeBase", "b")))
            store.ping()
        assert results[0] == results[1]
    finally:
        stores[0].close()
        engine.dispose()


def _conditional(put, get, delete) -> list:
    """A write conditional on the stored ETag: the same outcomes in both stores (ConcurrentChange or the write)."""
    from weft.errors import ConcurrentChange

    out = []

    def attempt(label, call):
        try:
            call()
            out.append((label, "written", get()))
        except ConcurrentChange:
            out.append((label, "ConcurrentChange", get()))

    attempt("create", lambda: put({"v": 1}, "e1", None))
    attempt("create again", lambda: put({"v": 2}, "e2", None))
    attempt("update on a stale ETag", lambda: put({"v": 3}, "e3", "e0"))
    attempt("update on the stored ETag", lambda: put({"v": 4}, "e4", "e1"))
    attempt("unconditional", lambda: put({"v": 5}, "e5", ANY))
    attempt("delete on a stale ETag", lambda: delete("e4"))
    attempt("delete on the stored ETag", lambda: delete("e5"))
    attempt("delete of a missing row, expecting one", lambda: delete("e5"))
    return out


def test_conditional_writes_answer_alike(cluster_schema, tmp_path):
    url, _, _ = cluster_schema
    engine = connect(url)
    sqlite, retrieval = IndexerStore(tmp_path / "c.sqlite3"), RetrievalStore(tmp_path / "cr.sqlite3")
    try:
        runs = []
        for store in (sqlite, PgIndexerStore(engine)):
            runs.append(_conditional(lambda body, etag, expected: store.put_definition("datasource", "c", body, None, etag, expected=expected),
                                     lambda: store.get_definition("datasource", "c"),
                                     lambda expected: store.delete_definition("datasource", "c", expected=expected)))
        for store in (retrieval, PgRetrievalStore(engine)):
            runs.append(_conditional(lambda body, etag, expected: store.put("knowledgeSource", "c", body, None, etag, expected=expected),
                                     lambda: store.get("knowledgeSource", "c"),
                                     lambda expected: store.delete("knowledgeSource", "c", expected=expected)))
        assert runs[0] == runs[1] and runs[2] == runs[3]
        assert [outcome for _, outcome, _ in runs[0]] == ["written", "ConcurrentChange", "ConcurrentChange", "written", "written",
                                                          "ConcurrentChange", "written", "ConcurrentChange"]
    finally:
        sqlite.close()
        retrieval.close()
        engine.dispose()
