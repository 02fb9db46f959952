"""Sealed fields of the documents of record (weft.cluster.sealing), in-process: two and three search services over
one cluster database with a tenant keyring of their own each (as each node has: same keys, its own cache).

* index-only fields and vectors are ciphertext in PostgreSQL (no table holds the text), yet searchable on every node;
* a node rebuilt from an empty dir opens them;
* a tenant whose key is gone: its documents leave the node's copy (apply loop and rebuild), without an error;
* a compaction rewrites every node's copy (deleted documents leave each node's files), refilled from PostgreSQL;
* a sealed blob is bound to its row.
"""
from __future__ import annotations

import os
import time

import orjson
import pytest

from weft.cluster.pg import PREFIX
from weft.cluster.sealing import Sealing
from weft.cluster.search_node import build_search
from weft.search.schema import parse_index_definition
from weft.threads.crypto import ContentShredded, DecryptionFailed

INDEX = {"name": "sealed", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                      {"name": "kind", "type": "Edm.String", "filterable": True},
                                      {"name": "text", "type": "Edm.String", "searchable": True},
                                      {"name": "v", "type": "Collection(Edm.Single)", "dimensions": 2, "vectorSearchProfile": "p"}],
         "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h"}]}}
PLAIN = {"name": "plain", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                     {"name": "text", "type": "Edm.String", "searchable": True}]}
SECRET = "quokka"  # a word of every sealed text


class Keys:
    """A node's keyring: the cluster's keys (one dict for every node) and what this node can no longer open."""

    def __init__(self, keys: dict[str, bytes]):
        self.keys = keys
        self.gone: set[str] = set()

    def write_key(self, tenant: str) -> bytes:
        if tenant in self.gone:
            raise ContentShredded("shredded")
        if tenant not in self.keys:
            self.keys[tenant] = os.urandom(32)
        return self.keys[tenant]

    def read_key(self, tenant: str) -> bytes:
        if tenant in self.gone or tenant not in self.keys:
            raise ContentShredded("shredded")
        return self.keys[tenant]


@pytest.fixture(scope="module")
def cluster_db():
    from tests.support.cluster import ClusterDatabase

    db = ClusterDatabase("sealing")
    yield db
    db.drop()


@pytest.fixture
def cluster(cluster_db, tmp_path):
    opened = []
    keys: dict[str, bytes] = {}

    def node(name: str):
        service, engine = build_search(tmp_path / name, cluster_db.url, name)
        engine.keys = Keys(keys)
        engine.sealing.attach(engine.keys)
        opened.append(service)
        return service, engine

    node.db = cluster_db
    node.root = tmp_path
    with cluster_db.connect() as conn:  # a fresh cluster for every test
        conn.execute(f"DROP TABLE IF EXISTS {PREFIX}indexes, {PREFIX}documents, {PREFIX}log, {PREFIX}synonym_maps, "
                     f"{PREFIX}aliases, {PREFIX}settings")
    yield node
    for service in opened:
        try:
            service.close()
        except Exception:
            pass


def _eventually(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _follow(leader, follower) -> None:
    """The follower has applied what the leader wrote, and its copies are not being rebuilt (a rebuild would skip)."""
    assert follower.follower.wait_for(leader.follower.position, 10)
    assert _eventually(lambda: not follower.rebuilding)


def _docs(start: int, n: int) -> dict:
    return {"value": [{"@search.action": "upload", "id": f"d{i}", "kind": "note", "text": f"{SECRET} private number{i}",
                       "v": [1.0, float(i)]} for i in range(start, start + n)]}


def _found(service, query: str = SECRET) -> set[str]:
    return {h["id"] for h in service.search("sealed", {"search": query, "select": "id", "top": 100})["value"]}


def _scan_tables(db, needles: list[str]) -> list[str]:
    """Every row of every table of the cluster database, as text (bytea as hex): where a needle is."""
    hits = []
    with db.connect() as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t'):
                for needle in needles:
                    if needle in row or needle.encode().hex() in row:
                        hits.append(f"{table}: {needle}")
    return hits


def _create(service) -> None:
    service.create_index(INDEX, internal=True, index_only=("text",), sealed_for="acme")


def test_sealed_fields_are_ciphertext_in_postgres_and_searchable_on_every_node(cluster):
    a, ea = cluster("a")
    b, eb = cluster("b")
    _create(a)
    a.create_index(PLAIN)
    a.apply_batch("sealed", _docs(0, 20))
    a.apply_batch("plain", {"value": [{"@search.action": "upload", "id": "p1", "text": "wombat in the clear"}]})
    _follow(ea, eb)
    expected = {f"d{i}" for i in range(20)}
    assert _found(a) == expected and _found(b) == expected
    hits = b.search("sealed", {"vectorQueries": [{"kind": "vector", "vector": [1.0, 7.0], "fields": "v", "k": 1}], "select": "id"})
    assert [h["id"] for h in hits["value"]] == ["d7"]  # the vectors were sealed too, and opened on b
    # merge keeps the sealed fields it does not name
    b.apply_batch("sealed", {"value": [{"@search.action": "merge", "id": "d3", "kind": "merged"}]})
    assert ea.follower.wait_for(eb.follower.position, 10)
    assert _found(a, "number3") == {"d3"} and a.search("sealed", {"filter": "kind eq 'merged'", "select": "id"})["value"][0]["id"] == "d3"
    with cluster.db.connect() as conn:
        rows = conn.execute(f"SELECT d.source, d.sealed FROM {PREFIX}documents d JOIN {PREFIX}indexes i ON i.uid = d.index_uid "
                            "WHERE i.name = 'sealed'").fetchall()
    assert len(rows) == 20 and all(sealed is not None for _, sealed in rows)
    assert all(set(orjson.loads(source)) == {"id", "kind"} for source, _ in rows)  # text and vectors only sealed
    assert _scan_tables(cluster.db, [SECRET, "private number"]) == []
    assert _scan_tables(cluster.db, ["wombat"]) != []  # the scan does find what is stored in clear (the plain index)


def test_a_node_rebuilt_from_an_empty_dir_opens_the_sealed_fields(cluster):
    a, ea = cluster("a")
    _create(a)
    a.apply_batch("sealed", _docs(0, 30))
    c, ec = cluster("c")  # a new node: its copy is rebuilt from the documents of record
    assert ec.follower.wait_for(ea.follower.position, 10)
    assert _eventually(lambda: "sealed" not in ec.rebuilding)
    assert _found(c) == {f"d{i}" for i in range(30)}
    assert _found(c, "number12") == {"d12"}


def test_a_shredded_tenants_documents_leave_the_copy_without_an_error(cluster):
    a, ea = cluster("a")
    b, eb = cluster("b")
    _create(a)
    a.create_index(PLAIN)
    a.apply_batch("sealed", _docs(0, 10))
    _follow(ea, eb)
    assert _found(b) == {f"d{i}" for i in range(10)}
    eb.keys.gone.add("acme")  # b can no longer open acme's key (destroyed; b holds no cached copy)
    a.apply_batch("sealed", _docs(5, 10))  # d5..d14, written by a node that still held the key
    a.apply_batch("plain", {"value": [{"@search.action": "upload", "id": "p1", "text": "after"}]})
    assert eb.follower.wait_for(ea.follower.position, 10)  # the apply loop went past them, no failure
    assert eb.follower.alive
    assert _found(b) == {f"d{i}" for i in range(5)}  # the changed documents are unreadable: removed from b's copy
    assert b.lookup("plain", "p1") is not None  # other indexes went on
    eb.mark_rebuild("sealed")  # a rebuild leaves out every unreadable document
    assert _eventually(lambda: "sealed" not in eb.rebuilding)
    assert _found(b) == set() and b.count("sealed") == 0
    assert _found(a) == {f"d{i}" for i in range(15)}  # a still holds the key


def _files_with(root, needle: bytes) -> list[str]:
    found = []
    for dirpath, _, files in os.walk(root):  # os.walk skips what a rewrite renames away mid-scan
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    if needle in f.read():
                        found.append(path)
            except FileNotFoundError:
                continue
    return found


def test_a_compaction_rewrites_every_nodes_copy(cluster):
    a, ea = cluster("a")
    b, eb = cluster("b")
    _create(a)
    _follow(ea, eb)
    batch = _docs(0, 10)  # in one segment with live documents (a segment left with none is dropped at once)
    batch["value"].append({"@search.action": "upload", "id": "gone", "kind": "note", "text": "zqdeletedtoken", "v": [2.0, 2.0]})
    a.apply_batch("sealed", batch)
    _follow(ea, eb)  # b indexes it before the delete (not both in one round, nor a rebuild after it)
    a.apply_batch("sealed", {"value": [{"@search.action": "delete", "id": "gone"}]})
    assert eb.follower.wait_for(ea.follower.position, 10)
    b_root = cluster.root / "b" / "indexes" / "sealed"
    assert _files_with(b_root, b"zqdeletedtoken")  # tantivy keeps a deleted document until a merge (here: a fast field)
    a.compact("sealed")
    assert eb.follower.wait_for(ea.follower.position, 10)
    assert _files_with(cluster.root / "a" / "indexes" / "sealed", b"zqdeletedtoken") == []
    assert _eventually(lambda: _files_with(b_root, b"zqdeletedtoken") == [])  # b rewrote its own copy
    expected = {f"d{i}" for i in range(10)}
    assert _found(a) == expected and _found(b) == expected  # the index-only text was refilled from the documents of record
    a.apply_batch("sealed", _docs(10, 1))  # and both follow on
    assert eb.follower.wait_for(ea.follower.position, 10)
    assert _found(b) == expected | {"d10"}


def test_a_sealed_blob_opens_only_in_its_row():
    definition = parse_index_definition(INDEX)
    definition.index_only, definition.sealed_for = ("text",), "acme"
    sealing = Sealing()
    sealing.attach(Keys({}))
    source, sealed = sealing.seal(definition, "uid-1", "k1", {"id": "k1", "kind": "x", "text": "hello there", "v": [1.0, 2.0]})
    assert b"hello" not in source and b"hello" not in sealed
    assert sealing.open(definition, "uid-1", "k1", source, sealed) == {"id": "k1", "kind": "x", "text": "hello there", "v": [1.0, 2.0]}
    with pytest.raises(DecryptionFailed):
        sealing.open(definition, "uid-1", "k2", source, sealed)  # moved to another key
    with pytest.raises(DecryptionFailed):
        sealing.open(definition, "uid-2", "k1", source, sealed)  # or another incarnation
    plain = parse_index_definition(PLAIN)
    assert sealing.seal(plain, "uid-1", "k1", {"id": "k1", "text": "in clear"}) == (orjson.dumps({"id": "k1", "text": "in clear"}), None)
