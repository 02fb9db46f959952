"""The cluster engine in-process (two services over one database): fencing of late commits, rebuilds of a local copy
that is corrupt or behind the retained change log, and the 503 an index answers while it rebuilds."""
from __future__ import annotations

import threading
import time
import uuid

import orjson
import pytest

from weft.cluster.documents import trim_log
from weft.cluster.pg import PREFIX, NotReady, append_log
from weft.cluster.search_node import build_search

INDEX = {"name": "docs", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                    {"name": "text", "type": "Edm.String", "searchable": True},
                                    {"name": "v", "type": "Collection(Edm.Single)", "dimensions": 2, "vectorSearchProfile": "p"}],
         "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h"}]}}


def _docs(n: int, start: int = 0) -> dict:
    return {"value": [{"@search.action": "upload", "id": str(i), "text": f"word{i} common", "v": [1.0, float(i)]} for i in range(start, start + n)]}


@pytest.fixture
def cluster(cluster_db, tmp_path):
    open_services = []

    def node(name: str):
        service, engine = build_search(tmp_path / name, cluster_db.url, name)
        open_services.append(service)
        return service, engine

    node.db = cluster_db
    yield node
    for service in open_services:
        try:
            service.close()
        except Exception:
            pass


@pytest.fixture(scope="module")
def cluster_db(tmp_path_factory):
    from tests.support.cluster import ClusterDatabase

    db = ClusterDatabase("engine")
    yield db
    db.drop()


def _reset(db):
    from weft.cluster.pg import Database

    schema = Database(db.url)
    schema.create_schema()
    schema.close()
    with db.connect() as conn:
        for table in ("indexes", "documents", "log", "synonym_maps", "aliases", "settings"):
            conn.execute(f"DELETE FROM {PREFIX}{table}")


def test_a_transaction_that_commits_late_is_applied_in_its_order(cluster):
    _reset(cluster.db)
    a, ea = cluster("a")
    b, eb = cluster("b")
    a.create_index(INDEX)
    assert eb.follower.wait_for(ea.status()["clusterPosition"], 10)  # b has the definition
    uid = ea.catalog.uid("docs")
    late = cluster.db.connect()
    late.autocommit = False
    late.execute(f"INSERT INTO {PREFIX}documents (index_uid, key, source) VALUES (%s, 'late', %s)",
                 (uid, orjson.dumps({"id": "late", "text": "late one", "v": None})))
    late_position = append_log(late, "docs", "docs", uid, ["late"])  # holds the log lock until it commits
    done = threading.Event()
    threading.Thread(target=lambda: (b.apply_batch("docs", _docs(1)), done.set()), daemon=True).start()
    time.sleep(0.5)
    assert not done.is_set()  # the later writer waits for the position before it
    assert eb.follower.position < late_position
    late.commit()
    late.close()
    assert done.wait(10)
    assert eb.follower.position > late_position
    assert {h["id"] for h in b.search("docs", {"search": "*"})["value"]} == {"late", "0"}
    assert ea.follower.wait_for(eb.follower.position, 10)
    assert {h["id"] for h in a.search("docs", {"search": "*"})["value"]} == {"late", "0"}


def test_a_corrupt_local_copy_and_one_behind_the_log_are_rebuilt(cluster, tmp_path):
    _reset(cluster.db)
    a, ea = cluster("a")
    b, eb = cluster("b")
    a.create_index(INDEX)
    a.apply_batch("docs", _docs(50))
    assert eb.follower.wait_for(ea.follower.position, 10)
    assert b.count("docs") == 50
    b.close()
    # corrupt: tantivy's meta file is garbage
    (tmp_path / "b" / "indexes" / "docs" / "meta.json").write_text("{not json")
    b, eb = cluster("b")
    assert eb.follower.wait_for(ea.follower.position, 10)
    assert _eventually(lambda: b.count("docs") == 50)
    b.close()
    # behind the retained log: changes b has not seen are trimmed away
    a.apply_batch("docs", _docs(30, start=50))
    a.apply_batch("docs", {"value": [{"@search.action": "delete", "id": "3"}]})
    with cluster.db.connect() as conn:
        trim_log(conn, conn.execute(f"SELECT max(position) FROM {PREFIX}log").fetchone()[0])
    b, eb = cluster("b")
    assert eb.follower.wait_for(ea.follower.position, 10)
    assert _eventually(lambda: b.count("docs") == 79)
    hits = b.search("docs", {"vectorQueries": [{"kind": "vector", "vector": [1.0, 60.0], "fields": "v", "k": 1}], "select": "id"})
    assert [h["id"] for h in hits["value"]] == ["60"]  # vectors come back from the documents of record too
    assert b.lookup("docs", "3") is None


def test_an_index_being_rebuilt_answers_503_with_retry_after(cluster):
    _reset(cluster.db)
    a, ea = cluster("a")
    a.create_index(INDEX)
    a.apply_batch("docs", _docs(5))
    with ea._lock:
        ea.rebuilding.add("docs")  # as a node does from the moment it finds its copy unusable until the rebuild is done
        with pytest.raises(NotReady) as caught:
            a.search("docs", {"search": "*"})
        assert caught.value.status == 503 and caught.value.retry_after >= 1
        with pytest.raises(NotReady):
            a.lookup("docs", "1")
    ea.follower._wake.set()
    assert _eventually(lambda: "docs" not in ea.rebuilding)
    assert a.count("docs") == 5


def test_status_reports_positions(cluster):
    _reset(cluster.db)
    a, ea = cluster("a")
    a.create_index(INDEX)
    a.apply_batch("docs", _docs(3))
    status = ea.status()
    assert status["node"] == "a"
    assert status["appliedPosition"] == status["clusterPosition"] > 0 and status["lag"] == 0
    assert status["indexes"]["docs"] == {"position": status["clusterPosition"], "state": "ready"}


def _eventually(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except NotReady:
            pass
        time.sleep(0.05)
    return False


def test_lost_database_connections_are_503s_then_recover(cluster):
    _reset(cluster.db)
    a, ea = cluster("a")
    a.create_index(INDEX)
    a.apply_batch("docs", _docs(2))
    with cluster.db.connect() as conn:  # as a PostgreSQL restart or failover does to every session
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    outcomes = []
    for attempt in range(10):
        try:
            a.apply_batch("docs", _docs(1, start=100))
            outcomes.append("ok")
            break
        except NotReady as exc:  # a 503 with Retry-After, which the SDKs retry
            assert exc.retry_after >= 1
            outcomes.append("503")
            time.sleep(0.2)
    assert outcomes[-1] == "ok", outcomes
    assert a.lookup("docs", "100") is not None  # applied locally: the apply loop reconnected too
    assert _eventually(lambda: ea.follower.alive and ea.status()["lag"] == 0)
