"""A node applies its own writes from what its transaction wrote (``Follower.offer``), not by reading them back; other
nodes' writes are read from the documents of record; an offer whose transaction rolled back is never applied."""
from __future__ import annotations

import pytest

import weft.cluster.apply as apply_module
import weft.cluster.documents as documents_module
from tests.cluster.test_cluster_engine import INDEX, _docs, _reset, cluster, cluster_db  # noqa: F401 (fixtures)


@pytest.fixture
def reads(monkeypatch):
    """The keys each read back of the apply loop asked for."""
    seen: list[list[str]] = []
    real = apply_module.fetch_documents

    def counting(conn, definition, uid, keys, sealing):
        seen.append(sorted(keys))
        return real(conn, definition, uid, keys, sealing)

    monkeypatch.setattr(apply_module, "fetch_documents", counting)
    return seen


def _ids(service) -> list[str]:
    return sorted(h["id"] for h in service.search("docs", {"search": "*", "top": 100, "select": "id"})["value"])


def test_own_writes_are_applied_from_the_offer_and_other_nodes_read_them_back(cluster, reads):
    _reset(cluster.db)
    a, ea = cluster("a")
    b, eb = cluster("b")
    a.create_index(INDEX)
    assert eb.follower.wait_for(ea.status()["clusterPosition"], 10)
    a.apply_batch("docs", _docs(20))
    a.apply_batch("docs", {"value": [{"@search.action": "merge", "id": "3", "text": "merged three"},
                                     {"@search.action": "delete", "id": "4"},
                                     {"@search.action": "mergeOrUpload", "id": "new", "text": "fresh"}]})
    assert a.lookup("docs", "3")["text"] == "merged three"  # read-your-write on the writing node
    assert a.lookup("docs", "4") is None
    assert eb.follower.wait_for(ea.follower.position, 10)
    assert _ids(a) == _ids(b) and "new" in _ids(b) and "4" not in _ids(b)
    assert b.lookup("docs", "3") == a.lookup("docs", "3")
    assert b.lookup("docs", "3")["v"] == [1.0, 3.0]  # merged over the stored document: the vector stays
    # a applied both batches from its offers; b read each back (possibly both in one round)
    fetched = sorted(k for keys in reads for k in keys)
    assert fetched.count("3") >= 1 and fetched.count("new") == 1 and len(reads) <= 2
    assert not ea.follower._offered  # used and gone
    reads.clear()
    b.apply_batch("docs", {"value": [{"@search.action": "upload", "id": "from-b", "text": "b wrote it"}]})
    assert ea.follower.wait_for(eb.follower.position, 10)
    assert a.lookup("docs", "from-b")["text"] == "b wrote it"
    assert reads == [["from-b"]]  # read back on a only: b had it from its own offer


def test_an_offer_of_a_transaction_that_rolled_back_is_never_applied(cluster, monkeypatch):
    _reset(cluster.db)
    a, ea = cluster("a")
    a.create_index(INDEX)
    a.apply_batch("docs", _docs(3))
    real_write = documents_module._write

    def failing(conn, definition, actions, sealing, offer=None):
        def offer_then_fail(position, uid, written):
            offer(position, uid, written)
            raise RuntimeError("the commit failed")  # after the offer: the transaction rolls back
        return real_write(conn, definition, actions, sealing, offer_then_fail)

    monkeypatch.setattr(documents_module, "_write", failing)
    with pytest.raises(RuntimeError):
        a.apply_batch("docs", {"value": [{"@search.action": "upload", "id": "ghost", "text": "never committed"}]})
    assert ea.follower._offered  # offered, under a position the log will never hold
    monkeypatch.setattr(documents_module, "_write", real_write)
    a.apply_batch("docs", {"value": [{"@search.action": "upload", "id": "real", "text": "committed"}]})
    assert a.lookup("docs", "ghost") is None
    assert a.lookup("docs", "real")["text"] == "committed"
    assert _ids(a) == ["0", "1", "2", "real"]
    assert not ea.follower._offered  # dropped as the loop passed it
