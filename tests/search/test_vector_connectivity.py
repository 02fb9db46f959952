"""How Azure's HNSW ``m`` becomes usearch's connectivity (issue 16, build rate): ``m`` links per node on the upper
layers as in hnswlib (whose ``M`` Azure's ``m`` is), never fewer than 8 so that Azure's default m=4 keeps the graph
(and recall) it had; an index saved with the former mapping (2m) keeps its graph; recall at Azure's defaults
against exact search."""
from __future__ import annotations

import numpy as np
import pytest

from weft.search.engine.vector_index import MIN_CONNECTIVITY, VectorIndex, connectivity


@pytest.mark.parametrize("m, links", [(4, 8), (5, 8), (7, 8), (8, 8), (9, 9), (10, 10)])
def test_m_maps_to_usearch_connectivity(m, links):
    assert connectivity(m) == links
    vi = VectorIndex(8, "cosine", m=m, ef_construction=100, ef_search=100)
    assert vi.index.connectivity == links


def test_azure_default_m_keeps_its_former_graph():
    assert MIN_CONNECTIVITY == 8
    assert VectorIndex(8, "cosine").index.connectivity == 8  # m=4 by default: 2m before, the floor now


def _clustered(n: int, dims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((32, dims)).astype(np.float32) * 3
    data = centers[rng.integers(0, 32, n)] + rng.standard_normal((n, dims)).astype(np.float32)
    queries = data[rng.integers(0, n, 50)] + rng.standard_normal((50, dims)).astype(np.float32) * 0.5
    return data, queries


def _recall(vi: VectorIndex, data: np.ndarray, queries: np.ndarray) -> float:
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    hits = []
    for q in queries:
        truth = {str(i) for i in np.argsort(-(unit @ (q / np.linalg.norm(q))), kind="stable")[:10]}
        hits.append(len(truth & {key for key, _ in vi.search(q.tolist(), 10)}) / 10)
    return float(np.mean(hits))


def test_recall_at_azure_defaults_against_exact_search():
    data, queries = _clustered(2000, 96, 4)
    vi = VectorIndex(96, "cosine")  # m=4, efConstruction=400, efSearch=500: Azure's defaults
    vi.upsert_many([(str(i), data[i].tolist()) for i in range(len(data))])
    assert _recall(vi, data, queries) >= 0.99


def test_an_index_saved_with_connectivity_2m_keeps_its_graph(tmp_path):
    data, queries = _clustered(600, 32, 5)
    old = VectorIndex(32, "cosine", m=10, ef_construction=100, ef_search=100)
    from usearch.index import Index

    old.index = Index(ndim=32, metric="ip", dtype="f32", connectivity=20, expansion_add=100, expansion_search=100)
    old.upsert_many([(str(i), data[i].tolist()) for i in range(len(data))])
    old.save(tmp_path, "vec", opstamp=3)
    new = VectorIndex(32, "cosine", m=10, ef_construction=100, ef_search=100)
    assert new.index.connectivity == 10
    assert new.load(tmp_path, "vec", opstamp=3)
    assert new.index.connectivity == 20 and len(new) == 600
    assert _recall(new, data, queries) >= 0.99
