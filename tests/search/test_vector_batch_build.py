"""The vector build path (issue 16): a ``Collection(Edm.Single)`` vector is checked and packed to float32 once
(``vector_values.SingleVector``), the storage column and the ANN index take those bytes as they are, and a write
group's vectors go into the ANN index while its documents are written. Same rules, same stored bytes, same
answers as converting each list, and a failure while writing the documents leaves the last durable vectors."""
from __future__ import annotations

import base64
import struct

import numpy as np
import orjson
import pytest

from weft.errors import InvalidInput, Unavailable
from weft.search.documents import parse_batch
from weft.search.engine.tantivy_layout import Layout
from weft.search.engine.vector_codec import float_rows
from weft.search.engine.vector_index import VectorIndex
from weft.search.schema import parse_index_definition
from weft.search.service import SearchService
from weft.search.vector_values import SingleVector, single_vector

DIMS = 24
rng = np.random.default_rng(1616)
DATA = rng.standard_normal((600, DIMS)).astype(np.float32)
DEFINITION = {"name": "build-vec", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "vec", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": DIMS, "vectorSearchProfile": "p"}],
    "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw", "hnswParameters": {"m": 10, "efConstruction": 200, "efSearch": 128}}],
                     "profiles": [{"name": "p", "algorithm": "h"}]}}


def _refuse(v, why=None):
    raise ValueError((v, why))


def _vector(values: list) -> list:
    return [0.25] * (DIMS - len(values)) + values


@pytest.mark.parametrize("values", [
    DATA[0].tolist(), _vector([1.0, 0.0, -0.0]), _vector([2, -7, 0]), _vector([3.4028234663852886e38, -1e-45]),
])
def test_accepted_vectors_carry_their_float32_bytes(values):
    v = single_vector(values, _refuse)
    assert type(v) is SingleVector and v == values and v is not values
    assert v.f32 == np.asarray(values, dtype=np.float32).tobytes()


def test_numpy_numbers_are_numbers_on_both_paths():
    fast = single_vector([np.float32(0.5)] * DIMS, _refuse)  # no 1.0/0.0 bytes: the packed path
    exact = single_vector([np.float32(0.5)] * (DIMS - 2) + [np.float32(0.0), np.float64(1.0)], _refuse)  # value by value
    assert fast.f32 == np.full(DIMS, 0.5, dtype=np.float32).tobytes()
    assert exact.f32 == np.asarray([0.5] * (DIMS - 2) + [0.0, 1.0], dtype=np.float32).tobytes()
    with pytest.raises(ValueError):
        single_vector(_vector([np.bool_(True)]), _refuse)


@pytest.mark.parametrize("bad, rest, why", [
    (True, [], None), (False, [0.5], None), (float("nan"), [], None), (float("inf"), [], None), ("1.0", [], None),
    (None, [], None), ([1.0], [], None),
    (1e39, [], "is outside the range of Edm.Single (±3.40282e+38)"),
    (10 ** 400, [], "is outside the range of Edm.Single (±3.40282e+38)"),
])
def test_refused_vectors_name_the_value(bad, rest, why):
    with pytest.raises(ValueError) as refused:
        single_vector(_vector([bad, *rest]), _refuse)
    value, reason = refused.value.args[0]
    assert reason == why
    assert value is bad or value == bad or (value != value and bad != bad)


def test_parse_batch_messages_are_the_field_type_errors():
    definition = parse_index_definition(DEFINITION)
    good = parse_batch(definition, {"value": [{"id": "a", "vec": DATA[0].tolist()}]})
    assert type(good[0].values["vec"]) is SingleVector
    with pytest.raises(InvalidInput, match=r"actions : 1: Cannot convert the value True of field 'vec' to the expected type 'Edm.Single'"):
        parse_batch(definition, {"value": [{"id": "a", "vec": DATA[0].tolist()}, {"id": "b", "vec": _vector([True])}]})
    with pytest.raises(InvalidInput, match=r"The value 1e\+39 of vector field 'vec' is outside the range of Edm.Single"):
        parse_batch(definition, {"value": [{"id": "a", "vec": _vector([1e39])}]})


def test_float_rows_from_bytes_equal_the_list_conversion():
    lists = [DATA[i].tolist() for i in range(50)]
    packed = [single_vector(v, _refuse) for v in lists]
    rows = float_rows(packed)
    assert rows.flags.writeable and rows.dtype == np.float32
    assert np.array_equal(rows, np.asarray(lists, dtype=np.float32))
    assert np.array_equal(float_rows(packed[:3] + [lists[3]]), np.asarray(lists[:4], dtype=np.float32))  # mixed: converted


def test_the_storage_column_is_the_same_bytes():
    definition = parse_index_definition(DEFINITION)
    layout = Layout(definition)
    values = DATA[5].tolist()
    packed_list, _, _ = layout.columns.pack({"id": "x", "vec": values})
    packed_bytes, _, _ = layout.columns.pack({"id": "x", "vec": single_vector(values, _refuse)})
    assert packed_list == packed_bytes
    dtype, b64 = orjson.loads(packed_bytes)["vec"]
    assert dtype == "float32" and base64.b64decode(b64) == struct.pack(f"={DIMS}f", *values)


def _recall(vi: VectorIndex, queries: np.ndarray, k: int = 10) -> float:
    unit = DATA / np.linalg.norm(DATA, axis=1, keepdims=True)
    hits = 0
    for q in queries:
        truth = set(np.argsort(-(unit @ (q / np.linalg.norm(q))), kind="stable")[:k].tolist())
        hits += len(truth & {int(key) for key, _ in vi.search(q.tolist(), k)})
    return hits / (k * len(queries))


def test_one_batch_add_equals_per_document_adds():
    batch = VectorIndex(DIMS, "cosine", m=10, ef_construction=200, ef_search=128)
    batch.upsert_many([(str(i), single_vector(DATA[i].tolist(), _refuse)) for i in range(len(DATA))])
    single = VectorIndex(DIMS, "cosine", m=10, ef_construction=200, ef_search=128)
    for i in range(len(DATA)):
        single.upsert(str(i), DATA[i].tolist())
    labels = np.arange(len(DATA), dtype=np.uint64)
    assert np.array_equal(np.asarray(batch.index.get(labels)), np.asarray(single.index.get(labels)))  # the same unit vectors
    queries = rng.standard_normal((30, DIMS)).astype(np.float32)
    for q in queries[:10]:
        assert batch.search(q.tolist(), 10, exact=True) == single.search(q.tolist(), 10, exact=True)
    assert _recall(batch, queries) >= 0.99 and _recall(single, queries) >= 0.99


@pytest.fixture
def service(tmp_path):
    service = SearchService(tmp_path / "search")
    service.create_index(DEFINITION)
    yield service
    service.close()


def _docs(keys):
    return {"value": [{"@search.action": "upload", "id": str(k), "vec": DATA[k].tolist()} for k in keys]}


def _nearest(service, k: int) -> list[str]:
    body = {"vectorQueries": [{"kind": "vector", "vector": DATA[k].tolist(), "k": 3, "fields": "vec", "exhaustive": True}],
            "select": "id"}
    return [hit["id"] for hit in service.search("build-vec", body)["value"]]


def test_documents_read_back_as_float32_values(service):
    service.apply_batch("build-vec", _docs(range(20)))
    assert service.lookup("build-vec", "7")["vec"] == DATA[7].tolist()
    assert _nearest(service, 7)[0] == "7"


def test_a_failure_while_writing_the_documents_leaves_the_last_durable_vectors(service, monkeypatch):
    service.apply_batch("build-vec", _docs(range(30)))
    handle = service.engine._handle(service.definition("build-vec"))
    real = handle.layout.to_tantivy

    def failing(key, document, ann=None):
        if key == "45":
            raise OSError("cannot write (test)")
        return real(key, document, ann)

    monkeypatch.setattr(handle.layout, "to_tantivy", failing)
    with pytest.raises(Unavailable):
        service.apply_batch("build-vec", {"value": _docs(range(30, 50))["value"] + [{"@search.action": "delete", "id": "3"}]})
    assert len(handle.vectors["vec"]) == 30  # rebuilt from the last commit: none of the failed group, "3" still there
    assert _nearest(service, 3)[0] == "3" and _nearest(service, 40)[0] != "40"
    assert service.count("build-vec") == 30
    monkeypatch.setattr(handle.layout, "to_tantivy", real)
    service.apply_batch("build-vec", _docs(range(30, 50)))
    assert _nearest(service, 40)[0] == "40" and len(handle.vectors["vec"]) == 50


# ---- the optional float32 kernels (vector_kernels.py: numba when installed) ----------------------------------
from weft.search.engine import vector_kernels  # noqa: E402


def test_kernels_only_for_float32_inner_product_and_squared_euclidean(monkeypatch):
    for metric, dtype in (("cos", "f32"), ("hamming", "b1"), ("ip", "f16"), ("ip", "i8")):
        assert vector_kernels.metric_for(metric, dtype) is None
    monkeypatch.setattr(vector_kernels, "_compiled", lambda: None)  # numba not installed: usearch's own kernels
    assert vector_kernels.metric_for("ip", "f32") is None
    vi = VectorIndex(DIMS, "cosine", m=10, ef_construction=200, ef_search=128)
    assert not isinstance(vi.index.metric, vector_kernels.CompiledMetric)


needs_numba = pytest.mark.skipif(not vector_kernels.available(), reason="numba is not installed (the kernels are optional)")


@needs_numba
@pytest.mark.parametrize("metric", ["cosine", "dotProduct", "euclidean"])
def test_compiled_kernels_answer_as_usearch_does(monkeypatch, tmp_path, metric):
    items = [(str(i), DATA[i].tolist()) for i in range(len(DATA))]
    compiled = VectorIndex(DIMS, metric, m=10, ef_construction=200, ef_search=128)
    assert isinstance(compiled.index.metric, vector_kernels.CompiledMetric)
    compiled.upsert_many(items)
    with monkeypatch.context() as patch:
        patch.setattr(vector_kernels, "metric_for", lambda metric, dtype: None)
        own = VectorIndex(DIMS, metric, m=10, ef_construction=200, ef_search=128)
        own.upsert_many(items)
    queries = rng.standard_normal((20, DIMS)).astype(np.float32)
    for q in queries:
        a, b = compiled.search(q.tolist(), 10, exact=True), own.search(q.tolist(), 10, exact=True)
        assert [k for k, _ in a][:5] == [k for k, _ in b][:5]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], rel=1e-5)
    if metric == "cosine":
        assert _recall(compiled, queries) >= 0.99
    compiled.save(tmp_path, "vec", opstamp=3)
    loaded = VectorIndex(DIMS, metric, m=10, ef_construction=200, ef_search=128)
    assert loaded.load(tmp_path, "vec", opstamp=3)
    assert isinstance(loaded.index.metric, vector_kernels.CompiledMetric)  # put back after usearch's load
    for q in queries[:5]:
        assert loaded.search(q.tolist(), 10) == compiled.search(q.tolist(), 10)
