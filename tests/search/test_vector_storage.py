"""Vector storage in the engine's files: what a stored:false field keeps, and quantization under every metric."""
from __future__ import annotations

import numpy as np
import orjson
import pytest
from tantivy import Query

from weft.search.engine.tantivy_layout import ANN, SOURCE, VECTORS
from weft.search.service import SearchService

DIMS = 32
X = np.random.default_rng(5).standard_normal((400, DIMS)).astype(np.float32)


def _create(svc, name, metric="cosine", compression=None, stored=True):
    field = {"name": "v", "type": "Collection(Edm.Single)", "dimensions": DIMS, "vectorSearchProfile": "p"}
    if not stored:
        field.update(stored=False, retrievable=False)
    profile = {"name": "p", "algorithm": "h", **({"compression": "c"} if compression else {})}
    svc.create_index({"name": name, "fields": [{"name": "id", "type": "Edm.String", "key": True}, field],
                      "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw", "hnswParameters": {"metric": metric}}],
                                       "profiles": [profile], "compressions": [dict(compression, name="c")] if compression else []}})
    svc.apply_batch(name, {"value": [{"@search.action": "upload", "id": str(i), "v": X[i].tolist()} for i in range(len(X))]})


def _stored_columns(svc, name):
    handle = svc.engine._handles[name]
    searcher = handle.searcher()
    doc = searcher.doc(searcher.search(Query.all_query(), limit=1).hits[0][1])
    ann = doc.get_first(ANN) if handle.layout.columns.unstored else None
    return orjson.loads(bytes(doc.get_first(SOURCE))), orjson.loads(bytes(doc.get_first(VECTORS))), ann and orjson.loads(bytes(ann))


def test_stored_false_keeps_no_source_copy(tmp_path):
    svc = SearchService(tmp_path)
    _create(svc, "keep", stored=False)
    _create(svc, "codes", compression={"kind": "binaryQuantization", "rescoringOptions": {"rescoreStorageMethod": "discardOriginals"}},
            stored=False)
    _create(svc, "plain")
    source, vectors, ann = _stored_columns(svc, "keep")
    assert source["v"] is None and "v" not in vectors and ann["v"][0] == "o"  # the originals back the ANN index
    source, vectors, ann = _stored_columns(svc, "codes")
    assert source["v"] is None and "v" not in vectors and ann["v"][0] == "c" and ann["v"][1] == "uint8"  # only the bits
    source, vectors, ann = _stored_columns(svc, "plain")
    assert source["v"] is None and vectors["v"][0] == "float32" and ann is None
    svc.close()


@pytest.mark.parametrize("metric", ["cosine", "dotProduct", "euclidean"])
def test_scalar_quantization_keeps_the_order_under_each_metric(tmp_path, metric):
    svc = SearchService(tmp_path)
    _create(svc, "sq", metric=metric, compression={"kind": "scalarQuantization", "rescoringOptions": {"enableRescoring": False}})
    hits = 0
    for q in X[:20] + 0.1:
        if metric == "cosine":
            exact = -(X @ q) / np.linalg.norm(X, axis=1)
        elif metric == "dotProduct":
            exact = -(X @ q)
        else:
            exact = ((X - q) ** 2).sum(axis=1)
        truth = {str(i) for i in np.argsort(exact)[:10]}
        found = svc.search("sq", {"vectorQueries": [{"kind": "vector", "vector": q.tolist(), "fields": "v", "k": 10}], "select": "id"})
        hits += len(truth & {h["id"] for h in found["value"]})
    assert hits / 200 >= 0.85, hits
    svc.close()
