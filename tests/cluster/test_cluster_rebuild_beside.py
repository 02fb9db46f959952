"""A rebuild of one index runs beside the apply loop (docs/cluster.md, "Rebuilds"): while node b rebuilds index
`big` (held mid-way by the rebuild's test hook), writes to index `small` made on node a are searchable on b within
the lag bound, `big` answers 503 on b, and the writes to `big` made after the rebuild's snapshot are caught up from
the log at the hand-over, so `big` on b then answers exactly as on a node that started empty."""
from __future__ import annotations

import threading
import time

import pytest

from weft.cluster.pg import NotReady
from weft.cluster.search_node import build_search

LAG_BOUND = 1.0  # seconds: the benchmark's p99 target for commit-to-searchable on another node
BIG = 6000


def _index(name: str) -> dict:
    return {"name": name, "fields": [{"name": "id", "type": "Edm.String", "key": True, "sortable": True, "filterable": True},
                                     {"name": "text", "type": "Edm.String", "searchable": True}]}


def _docs(start: int, n: int, word: str = "common") -> dict:
    return {"value": [{"@search.action": "upload", "id": f"{i:05d}", "text": f"word{i % 97} {word}"} for i in range(start, start + n)]}


@pytest.fixture
def cluster(cluster_db, tmp_path):
    services = []

    def node(name: str):
        service, engine = build_search(tmp_path / name, cluster_db.url, name)
        services.append(service)
        return service, engine

    yield node
    for service in services:
        try:
            service.close()
        except Exception:
            pass


def _eventually(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except NotReady:
            pass
        time.sleep(0.01)
    return False


def _every_document(service, name: str) -> list[dict]:
    out = []
    while True:
        page = service.search(name, {"search": "*", "orderby": "id", "top": 1000, "skip": len(out), "select": "id,text"})["value"]
        out += [{"id": d["id"], "text": d["text"]} for d in page]
        if len(page) < 1000:
            return out


def test_a_rebuild_of_one_index_leaves_the_others_fresh_and_hands_over_exactly(cluster):
    a, ea = cluster("a")
    b, eb = cluster("b")
    a.create_index(_index("big"))
    a.create_index(_index("small"))
    for start in range(0, BIG, 1000):
        a.apply_batch("big", _docs(start, 1000))
    assert eb.follower.wait_for(ea.follower.position, 30)
    assert _eventually(lambda: b.count("big") == BIG)

    reached, release = threading.Event(), threading.Event()

    def hold(name, loaded):
        if name == "big":
            reached.set()
            release.wait(60)

    eb.follower.rebuilder.after_chunk = hold
    eb.mark_rebuild("big")  # as for a corrupt or missing local copy
    try:
        assert reached.wait(30), "the rebuild did not start"
        with pytest.raises(NotReady) as refused:
            b.search("big", {"search": "*"})
        assert refused.value.retry_after >= 1
        # changes to `big` after the rebuild's snapshot: new documents, a changed one, a deleted one
        a.apply_batch("big", _docs(BIG, 10, word="late"))
        a.apply_batch("big", {"value": [{"@search.action": "merge", "id": "00001", "text": "changed meanwhile"},
                                        {"@search.action": "delete", "id": "00002"}]})
        lags = []
        for i in range(5):
            started = time.monotonic()
            a.apply_batch("small", {"value": [{"@search.action": "upload", "id": f"s{i}", "text": f"fresh{i}"}]})
            assert _eventually(lambda: [d["id"] for d in b.search("small", {"search": f"fresh{i}"})["value"]] == [f"s{i}"], LAG_BOUND * 5)
            lags.append(time.monotonic() - started)
        # the rebuild is held until released (up to 60 s): a blocked apply loop would wait for it; the median keeps
        # the benchmark's bound and the slowest gets room for a loaded CI machine
        assert sorted(lags)[len(lags) // 2] < LAG_BOUND and max(lags) < LAG_BOUND * 5, lags
        assert "big" in eb.rebuilding  # all of that happened while `big` was still being rebuilt
    finally:
        # a writer keeps changing `big` across the hand-over: no change may fall between the rebuild and the loop
        stop, written = threading.Event(), []

        def keep_writing():
            while not stop.is_set() and len(written) < 2000:
                n = len(written)
                a.apply_batch("big", {"value": [{"@search.action": "upload", "id": f"w{n:04d}", "text": "during handover"},
                                                {"@search.action": "merge", "id": f"{n % BIG:05d}", "text": f"rewritten {n}"}]})
                written.append(n)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        time.sleep(0.2)
        release.set()
    try:
        assert _eventually(lambda: "big" not in eb.rebuilding)
        time.sleep(0.3)
    finally:
        stop.set()
        writer.join(30)
    assert eb.applied()["indexes"]["big"]["state"] == "ready"
    assert written
    assert eb.follower.wait_for(ea.follower.position, 30)

    c, ec = cluster("c")  # a node that starts empty rebuilds everything from the documents of record
    assert ec.follower.wait_for(ea.follower.position, 30)
    assert _eventually(lambda: not ec.rebuilding)
    assert b.count("big") == c.count("big") == a.count("big") == BIG + 10 - 1 + len(written)
    expected = _every_document(c, "big")
    assert _every_document(b, "big") == expected == _every_document(a, "big")
    assert b.lookup("big", "00002") is None
    query = {"search": "late OR changed", "select": "id", "orderby": "id"}
    assert [d["id"] for d in b.search("big", query)["value"]] == [d["id"] for d in c.search("big", query)["value"]]
    assert [d["id"] for d in b.search("small", {"search": "*", "orderby": "id"})["value"]] == [f"s{i}" for i in range(5)]
