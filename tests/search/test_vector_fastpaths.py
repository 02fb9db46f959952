"""The vector fast paths of issue 16: cosine float32 fields held as unit vectors compared by inner product, an
index saved with the former cosine metric still answering, vector values checked at C speed, and key-only
vector queries answered without reading documents."""
from __future__ import annotations

import numpy as np
import pytest
from usearch.index import Index, MetricKind

from weft.errors import InvalidInput
from weft.search.engine.vector_index import VectorIndex
from weft.search.search_request import finite_numbers
from weft.search.service import SearchService

rng = np.random.default_rng(16)
DATA = rng.standard_normal((400, 16)).astype(np.float32) * rng.uniform(0.1, 9.0, (400, 1)).astype(np.float32)
QUERIES = rng.standard_normal((20, 16)).astype(np.float32)


def _exact_cosine(q: np.ndarray, k: int = 10) -> list[str]:
    cos = DATA @ q / (np.linalg.norm(DATA, axis=1) * np.linalg.norm(q))
    return [str(i) for i in np.argsort(-cos, kind="stable")[:k]]


def _filled(vi: VectorIndex) -> VectorIndex:
    vi.upsert_many([(str(i), DATA[i].tolist()) for i in range(len(DATA))])
    return vi


def test_cosine_index_holds_unit_vectors_and_scores_the_cosine():
    vi = _filled(VectorIndex(16, "cosine", m=8, ef_construction=200, ef_search=200))
    assert vi.index.metric_kind == MetricKind.IP
    stored = np.asarray(vi.index.get(np.arange(5, dtype=np.uint64)))
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)
    for q in QUERIES:
        found = vi.search(q.tolist(), 10, exact=True)
        assert [key for key, _ in found] == _exact_cosine(q)
        key, score = found[0]
        v = DATA[int(key)]
        cosine = float(v @ q / (np.linalg.norm(v) * np.linalg.norm(q)))
        assert score == pytest.approx(1.0 / (2.0 - cosine), rel=1e-5)


def test_an_index_saved_with_the_cosine_metric_still_answers(tmp_path):
    old = VectorIndex(16, "cosine", m=8, ef_construction=200, ef_search=200)
    old.codec.unit = False  # how indexes were saved before unit vectors: the raw values, cosine metric
    old.index = old._new_index("cos")
    old.upsert_many([(str(i), DATA[i].tolist()) for i in range(len(DATA))])
    stored = np.asarray(old.index.get(np.arange(3, dtype=np.uint64)))
    assert np.allclose(stored, DATA[:3])
    old.save(tmp_path, "vec", opstamp=7)
    new = VectorIndex(16, "cosine", m=8, ef_construction=200, ef_search=200)
    assert new.load(tmp_path, "vec", opstamp=7)
    assert new.index.metric_kind == MetricKind.Cos
    assert np.allclose(np.asarray(new.index.get(np.arange(3, dtype=np.uint64))), stored)
    hits = [[key for key, _ in new.search(q.tolist(), 10, exact=True)] for q in QUERIES]
    assert hits == [_exact_cosine(q) for q in QUERIES]
    new.upsert_many([("new", (QUERIES[0] * 5).tolist())])  # unit vectors added to a cosine index compare alike
    assert new.search(QUERIES[0].tolist(), 1)[0][0] == "new"


@pytest.mark.parametrize("values, ok", [
    ([0.5, -1, 3], True), ([1e308, 1e308], True), ([], True),
    ([True, 1.0], False), ([float("nan")], False), ([float("inf"), 1.0], False), (["1.0"], False),
    ([10 ** 400], False), ([None], False),
])
def test_vector_values_checked_at_c_speed_keep_the_rules(values, ok):
    assert finite_numbers(values) is ok


@pytest.fixture()
def service(tmp_path):
    svc = SearchService(tmp_path / "search")
    svc.create_index({"name": "fast-vec", "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "vec", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": 16, "vectorSearchProfile": "p"}],
        "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h"}]}})
    svc.apply_batch("fast-vec", {"value": [{"@search.action": "upload", "id": str(i), "title": f"t{i}", "vec": DATA[i].tolist()}
                                           for i in range(len(DATA))]})
    yield svc
    svc.close()


def test_key_only_vector_queries_answer_the_same_ids_and_scores(service):
    for q in QUERIES[:5]:
        vq = [{"kind": "vector", "vector": q.tolist(), "k": 10, "fields": "vec", "exhaustive": True}]
        keyed = service.search("fast-vec", {"vectorQueries": vq, "select": "id"})["value"]
        full = service.search("fast-vec", {"vectorQueries": vq})["value"]
        assert [d["id"] for d in keyed] == [d["id"] for d in full] == _exact_cosine(q)
        assert [d["@search.score"] for d in keyed] == [d["@search.score"] for d in full]
        assert all(set(d) == {"@search.score", "id"} for d in keyed)
        assert all(d["title"] == f"t{d['id']}" for d in full)
    top = service.search("fast-vec", {"vectorQueries": [{"kind": "vector", "vector": QUERIES[0].tolist(), "k": 3, "fields": "vec"}],
                                      "select": "id"})["value"][0]["id"]
    service.apply_batch("fast-vec", {"value": [{"@search.action": "delete", "id": top}]})
    again = service.search("fast-vec", {"vectorQueries": [{"kind": "vector", "vector": QUERIES[0].tolist(), "k": 3, "fields": "vec"}],
                                        "select": "id"})["value"]
    assert top not in [d["id"] for d in again] and len(again) == 3


def test_bad_query_vectors_are_refused(service):
    for bad in ([True] * 16, [float("nan")] * 16, ["1"] * 16, [10 ** 400] * 16):
        with pytest.raises(InvalidInput):
            service.search("fast-vec", {"vectorQueries": [{"kind": "vector", "vector": bad, "k": 3, "fields": "vec"}]})
