"""Vector peers: weft over HTTP and in process (HNSW; the library: ``SearchService``, as Chroma runs), Chroma (HNSW, in process), Qdrant local mode, FAISS HNSW,
LanceDB (no index: exact scan). Same vectors (clustered synthetic, 384-d), same queries, cosine,
top 10; recall@10 against exact search. Build is timed until every vector is queryable."""
from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import numpy as np

from common import Phase, Weft, log, median

K = 10
HNSW_M, EF_CONSTRUCTION, EF_SEARCH = 10, 200, 128  # the same for every HNSW; 10 is the largest m the Azure API allows
WEFT_BATCH = 1000  # documents per upload: the Azure API's maximum (as the text rows send); Chroma adds 5,000 at a time


def clustered(n: int, dims: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((256, dims), dtype=np.float32) * 3
    data = centers[rng.integers(0, 256, n)] + rng.standard_normal((n, dims), dtype=np.float32)
    picks = np.random.default_rng(99).integers(0, n, n_queries)
    queries = data[picks] + np.random.default_rng(98).standard_normal((n_queries, dims), dtype=np.float32) * 0.5
    data = np.round(data / np.linalg.norm(data, axis=1, keepdims=True), 6).astype(np.float32)
    queries = np.round(queries / np.linalg.norm(queries, axis=1, keepdims=True), 6).astype(np.float32)
    return data, queries


def exact(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    out = np.empty((len(queries), K), dtype=np.int64)
    for s in range(0, len(queries), 64):
        scores = queries[s:s + 64] @ data.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        out[s:s + 64] = np.take_along_axis(top, order, axis=1)
    return out


def _index_definition(name: str, dims: int) -> dict:
    """The one vector index both weft rows use (over HTTP and in process)."""
    return {"name": name, "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "vec", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": dims, "vectorSearchProfile": "p"}],
        "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw", "hnswParameters": {
            "metric": "cosine", "m": HNSW_M, "efConstruction": EF_CONSTRUCTION, "efSearch": EF_SEARCH}}],
            "profiles": [{"name": "p", "algorithm": "h"}]}}


class WeftVectors:
    name, method = "weft (HTTP)", f"HNSW m={HNSW_M} efC={EF_CONSTRUCTION} efSearch={EF_SEARCH}"

    def __init__(self, weft: Weft, dims: int):
        self.weft = weft
        self.index = f"peers-vec-{uuid.uuid4().hex[:6]}"
        weft.call("POST", "/indexes", _index_definition(self.index, dims))
        self.encode_seconds = 0.0

    def build(self, data: np.ndarray) -> None:
        for s in range(0, len(data), WEFT_BATCH):
            t = time.perf_counter()
            value = [{"@search.action": "upload", "id": str(s + j), "vec": v} for j, v in enumerate(data[s:s + WEFT_BATCH].tolist())]
            request = self.weft.encode("POST", f"/indexes/{self.index}/docs/index", {"value": value})
            self.encode_seconds += time.perf_counter() - t
            self.weft.send(request)
        self.weft.wait_count(self.index, len(data))

    def prepare(self, q: np.ndarray):
        return self.weft.encode("POST", f"/indexes/{self.index}/docs/search",
                                {"vectorQueries": [{"kind": "vector", "vector": q.tolist(), "k": K, "fields": "vec"}], "select": "id", "top": K})

    def query(self, prepared) -> list[int]:
        return [int(v["id"]) for v in json.loads(self.weft.send(prepared))["value"]]

    def close(self) -> None:
        self.weft.call("DELETE", f"/indexes/{self.index}")


class WeftLibrary:
    """weft in process: ``SearchService`` on its own data folder, the same index definition and batches (``WEFT_BATCH``)
    as over HTTP (documents as Python lists, the JSON a client would send, decoded; making them is excluded
    like the HTTP client's encoding). Queries are the whole service path (validation, engine, rendering)."""

    name, method = "weft (library, in process)", f"HNSW m={HNSW_M} efC={EF_CONSTRUCTION} efSearch={EF_SEARCH}"

    def __init__(self, folder: Path, dims: int):
        from weft.search.service import SearchService

        self.path = folder / "weft-lib"
        shutil.rmtree(self.path, ignore_errors=True)
        self.service = SearchService(self.path / "search")
        self.index = "peers-vec-lib"
        self.service.create_index(_index_definition(self.index, dims))
        self.encode_seconds = 0.0

    def build(self, data: np.ndarray) -> None:
        for s in range(0, len(data), WEFT_BATCH):
            t = time.perf_counter()
            body = {"value": [{"@search.action": "upload", "id": str(s + j), "vec": v} for j, v in enumerate(data[s:s + WEFT_BATCH].tolist())]}
            self.encode_seconds += time.perf_counter() - t
            self.service.apply_batch(self.index, body)

    def prepare(self, q: np.ndarray):
        return {"vectorQueries": [{"kind": "vector", "vector": q.tolist(), "k": K, "fields": "vec"}], "select": "id", "top": K}

    def query(self, body) -> list[int]:
        return [int(v["id"]) for v in self.service.search(self.index, body)["value"]]

    def close(self) -> None:
        self.service.close()
        shutil.rmtree(self.path, ignore_errors=True)


class ChromaVectors:
    name, method = "Chroma (in process)", f"HNSW M={HNSW_M} efC={EF_CONSTRUCTION} efSearch={EF_SEARCH}"

    def __init__(self, folder: Path):
        import chromadb

        self.path = folder / "chroma"
        shutil.rmtree(self.path, ignore_errors=True)
        self.client = chromadb.PersistentClient(path=str(self.path))
        self.col = self.client.create_collection("vectors", configuration={"hnsw": {
            "space": "cosine", "max_neighbors": HNSW_M, "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH}})

    def build(self, data: np.ndarray) -> None:
        for s in range(0, len(data), 5000):
            part = data[s:s + 5000]
            self.col.add(ids=[str(s + j) for j in range(len(part))], embeddings=part)

    def prepare(self, q):
        return [q]

    def query(self, q) -> list[int]:
        return [int(i) for i in self.col.query(query_embeddings=q, n_results=K, include=[])["ids"][0]]

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class QdrantLocal:
    """Local mode in memory: the persistent local mode stores ~130-250 points/s here (its rate on the
    first 2,000 vectors is measured separately and reported), which would take many minutes at 100k."""

    name, method = "Qdrant local mode (in memory)", "exact scan (local mode has no HNSW)"

    def __init__(self, folder: Path, dims: int):
        from qdrant_client import QdrantClient
        from qdrant_client.models import Distance, VectorParams

        self.folder, self.dims = folder, dims
        self.client = QdrantClient(":memory:")
        self.client.create_collection("vectors", vectors_config=VectorParams(size=dims, distance=Distance.COSINE))
        self.persistent_rate = float("nan")

    def build(self, data: np.ndarray) -> None:
        self.client.upload_collection("vectors", vectors=data, ids=list(range(len(data))), batch_size=1000)

    def measure_persistent(self, data: np.ndarray) -> None:
        from qdrant_client import QdrantClient
        from qdrant_client.models import Distance, VectorParams

        path = self.folder / "qdrant"
        shutil.rmtree(path, ignore_errors=True)
        client = QdrantClient(path=str(path))
        client.create_collection("vectors", vectors_config=VectorParams(size=self.dims, distance=Distance.COSINE))
        sample = data[:2000]
        t0 = time.perf_counter()
        client.upload_collection("vectors", vectors=sample, ids=list(range(len(sample))), batch_size=1000)
        self.persistent_rate = len(sample) / (time.perf_counter() - t0)
        client.close()
        shutil.rmtree(path, ignore_errors=True)

    def prepare(self, q):
        return q.tolist()

    def query(self, q) -> list[int]:
        return [int(p.id) for p in self.client.query_points("vectors", query=q, limit=K).points]

    def close(self) -> None:
        self.client.close()


class FaissHnsw:
    name, method = "FAISS HNSW (in memory, not persisted)", f"HNSW M={HNSW_M} efC={EF_CONSTRUCTION} efSearch={EF_SEARCH}"

    def __init__(self, dims: int):
        import faiss

        self.index = faiss.IndexHNSWFlat(dims, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.index.hnsw.efSearch = EF_SEARCH

    def build(self, data: np.ndarray) -> None:
        self.index.add(data)

    def prepare(self, q):
        return q.reshape(1, -1)

    def query(self, q) -> list[int]:
        return [int(i) for i in self.index.search(q, K)[1][0]]

    def close(self) -> None:
        pass


class LanceVectors:
    name, method = "LanceDB (no index: exact scan)", "flat scan"

    def __init__(self, folder: Path):
        import lancedb

        self.path = folder / "lance-vec"
        shutil.rmtree(self.path, ignore_errors=True)
        self.db = lancedb.connect(str(self.path))
        self.table = None

    def build(self, data: np.ndarray) -> None:
        import pyarrow as pa

        for s in range(0, len(data), 10_000):
            part = data[s:s + 10_000]
            batch = pa.table({"id": np.arange(s, s + len(part)),
                              "vector": pa.FixedSizeListArray.from_arrays(pa.array(part.reshape(-1)), part.shape[1])})
            if self.table is None:
                self.table = self.db.create_table("v", data=batch)
            else:
                self.table.add(batch)

    def prepare(self, q):
        return q

    def query(self, q) -> list[int]:
        rows = self.table.search(q).metric("cosine").select(["id"]).limit(K).to_list()
        return [int(r["id"]) for r in rows]

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def run(folder: Path, weft: Weft, n: int, dims: int, n_queries: int, rounds: int) -> dict:
    data, queries = clustered(n, dims, n_queries)
    truth = exact(data, queries)
    result: dict = {"build": {}, "p50": {}, "p99": {}, "recall": {}, "method": {}}
    systems = []
    with Phase("vector build"):
        for make in (lambda: WeftVectors(weft, dims), lambda: WeftLibrary(folder, dims), lambda: ChromaVectors(folder),
                     lambda: QdrantLocal(folder, dims), lambda: FaissHnsw(dims), lambda: LanceVectors(folder)):
            try:
                system = make()
            except ImportError as exc:  # --this-venv: a peer whose package is not installed is left out
                log(f"  skipped: {exc}")
                continue
            t0 = time.perf_counter()
            system.build(data)
            seconds = time.perf_counter() - t0 - getattr(system, "encode_seconds", 0.0)
            result["build"][system.name] = n / seconds
            result["method"][system.name] = system.method
            log(f"  {system.name}: {n / seconds:,.0f} vectors/s")
            if isinstance(system, QdrantLocal):
                system.measure_persistent(data)
                result["qdrant_persistent"] = system.persistent_rate
                log(f"  Qdrant local mode on disk, first 2,000 vectors: {system.persistent_rate:,.0f} vectors/s")
            systems.append(system)
    with Phase("vector queries"):
        prepared = {s.name: [s.prepare(q) for q in queries] for s in systems}
        times: dict = {s.name: [] for s in systems}
        hits: dict = {s.name: [] for s in systems}
        for round_number in range(rounds):
            for qi in range(len(queries)):
                shift = (qi + round_number) % len(systems)
                for s in systems[shift:] + systems[:shift]:
                    t0 = time.perf_counter()
                    ids = s.query(prepared[s.name][qi])
                    times[s.name].append((time.perf_counter() - t0) * 1000)
                    if round_number == 0:
                        hits[s.name].append(len(set(ids) & set(truth[qi].tolist())) / K)
        for s in systems:
            result["p50"][s.name] = median(times[s.name])
            result["p99"][s.name] = sorted(times[s.name])[int(0.99 * (len(times[s.name]) - 1))]
            result["recall"][s.name] = float(np.mean(hits[s.name]))
    for s in systems:
        s.close()
    return result
