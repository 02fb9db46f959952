"""Nearest-neighbour index of one vector field (usearch HNSW, with exact search on demand).

The tantivy index is the source of truth: every vector is also in the document's stored
``_vectors`` (or, for ``stored: false`` fields, in the ``_ann`` column that backs this index: the originals,
or the codes when the compression discards them). How a field's vectors are held (float32, float16, int8,
bits, scalar or binary quantization, truncation) is ``vector_codec.Codec``. This index is kept in memory, updated after each durable commit, saved on a
clean shutdown together with the tantivy commit opstamp it reflects, and rebuilt from the
stored documents whenever that opstamp does not match (after a crash), so vectors and
documents always agree.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from usearch.index import CompiledMetric, Index, MetricKind

from weft.search.engine import vector_kernels
from weft.search.engine.vector_codec import Codec, Codes
from weft.search.vector_options import VectorStorage

# (key, float32 vector of the full dimensions) for the keys asked, from where the originals are kept
Originals = Callable[[list[str]], dict[str, np.ndarray]]

MIN_CONNECTIVITY = 8  # Azure's default m=4 as 4 links lost recall here (0.978 against 0.9995 with 8)


def connectivity(m: int) -> int:
    """usearch ``connectivity`` for Azure's HNSW ``m``: the same quantity, links per node on the upper layers (twice
    that on the base layer, as in hnswlib, whose ``M`` Azure's ``m`` is), never below ``MIN_CONNECTIVITY``. weft
    used ``2m`` before: for m=10, twice the graph hnswlib (Chroma) and FAISS build for M=10 (docs/vectors.md)."""
    return max(MIN_CONNECTIVITY, m)


class VectorIndex:
    def __init__(self, dimensions: int, metric: str = "cosine", m: int = 4, ef_construction: int = 400, ef_search: int = 500,
                 storage: VectorStorage | None = None):
        self.dimensions = dimensions
        self.metric = metric
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.storage = storage or VectorStorage("Edm.Single", dimensions)
        self.codec = Codec(self.storage, metric)
        self.index = self._new_index()
        self.labels: dict[str, int] = {}
        self.keys: dict[int, str] = {}
        self.next_label = 0
        self.lock = threading.RLock()

    def _new_index(self, metric: "str | MetricKind | None" = None) -> Index:
        metric = metric or self.codec.usearch_metric
        return Index(
            ndim=self.codec.ndim,
            metric=vector_kernels.metric_for(metric, self.codec.dtype) or metric,
            dtype=self.codec.dtype,
            connectivity=connectivity(self.m),
            expansion_add=self.ef_construction,
            expansion_search=self.ef_search,
        )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def size_bytes(self) -> int:
        """Bytes of the ANN index (vectors as the index holds them, and the graph): its serialized length."""
        with self.lock:
            return int(self.index.serialized_length) if len(self.labels) else 0

    # ---- writes (called by the index writer after a durable commit) ---------------------------------
    def upsert(self, key: str, vector: "list[float] | Codes | None") -> None:
        self.upsert_many([(key, vector)])

    def upsert_many(self, items: list) -> None:
        """Apply a group's changes at once (usearch adds a batch on several threads). A vector is a list of
        numbers (encoded here) or ``Codes`` already encoded."""
        with self.lock:
            keys, vectors, coded_keys, coded = [], [], [], []
            for key, vector in items:
                self._remove(key)
                if vector is None:
                    continue
                if isinstance(vector, Codes):
                    coded_keys.append(key)
                    coded.append(self.codec.adopt(vector))
                else:
                    keys.append(key)
                    vectors.append(vector)
            if keys:
                self._add(keys, self.codec.encode(vectors))
            if coded_keys:
                self._add(coded_keys, np.asarray(coded))

    def _add(self, keys: list[str], encoded: np.ndarray) -> None:
        labels = np.arange(self.next_label, self.next_label + len(keys), dtype=np.uint64)
        self.next_label += len(keys)
        self.index.add(labels, encoded)
        for key, label in zip(keys, labels.tolist()):
            self.labels[key] = label
            self.keys[label] = key

    def delete(self, key: str) -> None:
        with self.lock:
            self._remove(key)

    def clear(self) -> None:
        """Empty the index (to be filled again from the stored documents)."""
        with self.lock:
            self.index = self._new_index()
            self.labels, self.keys, self.next_label = {}, {}, 0

    def _remove(self, key: str) -> None:
        label = self.labels.pop(key, None)
        if label is not None:
            self.keys.pop(label, None)
            self.index.remove(label)

    # ---- reads --------------------------------------------------------------------------------------------
    def score(self, distance: float) -> float:
        """Azure-style similarity score from a usearch distance."""
        return self.codec.score(distance)

    def search(self, vector: list[float], k: int, *, exact: bool = False, allowed: set[str] | None = None,
               oversampling: float | None = None, originals: Originals | None = None) -> list[tuple[str, float]]:
        """Top-k (key, score), best first. ``allowed`` restricts results to those keys (pre-filtering).

        On a compressed field ``k * oversampling`` candidates are found (the profile's defaultOversampling when
        rescoring is on, or the query's ``oversampling``, which turns rescoring on) and the best k are kept after
        rescoring them against the originals (``originals``) or, for binary codes without originals, the dot
        product with the ±1 codes."""
        query = np.asarray(vector, dtype=np.float32)
        storage = self.storage
        rescore = storage.compression is not None and (storage.rescoring or oversampling is not None)
        want = k
        if rescore:
            want = max(k, int(np.ceil(k * (oversampling or storage.oversampling))))
        with self.lock:
            n = len(self.labels)
            if n == 0 or k <= 0:
                return []
            if allowed is not None:
                if exact or len(allowed) <= 50_000 or len(allowed) * 4 <= n:
                    found = self._exact_over(query, want, [self.labels[key] for key in allowed if key in self.labels])
                else:
                    ask = want * 4
                    while True:
                        found = self._ann(query, min(ask, n), exact)
                        found = [(key, s) for key, s in found if key in allowed]
                        if len(found) >= want or ask >= n:
                            break
                        ask *= 4
                    found = found[:want]
            else:
                found = self._ann(query, min(want, n), exact)
        if rescore:
            found = self._rescore(query, found, originals)
        return found[:k]

    def _rescore(self, query: np.ndarray, found: list[tuple[str, float]], originals: Originals | None) -> list[tuple[str, float]]:
        if not found:
            return found
        if self.storage.preserve_originals and originals is not None:
            vectors = originals([key for key, _ in found])
            keys = [key for key, _ in found if key in vectors]
            if not keys:
                return found
            distances = self.codec.distances(query, np.stack([vectors[key] for key in keys]))
            rescored = [(keys[i], self.codec.score(distances[i])) for i in range(len(keys))]
        else:
            rescored = found  # binary codes: candidates were already scored against the ±1 codes
        rescored.sort(key=lambda item: (-item[1], item[0]))  # equal scores in key order: the same after a rebuild
        return rescored

    def _ann(self, query: np.ndarray, k: int, exact: bool) -> list[tuple[str, float]]:
        matches = self.index.search(self.codec.encode_query(query), k, exact=exact)
        if self.codec.scores_candidates:
            labels = [int(label) for label in matches.keys if int(label) in self.keys]
            return self._exact_over(query, k, labels)
        out = []
        for label, distance in zip(matches.keys, matches.distances):
            key = self.keys.get(int(label))
            if key is not None:
                out.append((key, self.score(distance)))
        return out

    def _exact_over(self, query: np.ndarray, k: int, labels: list[int]) -> list[tuple[str, float]]:
        if not labels:
            return []
        stored = np.asarray(self.index.get(np.asarray(labels, dtype=np.uint64), dtype=self.codec.dtype))
        stored = stored.reshape(len(labels), -1)
        if self.codec.metric == "hamming":  # packed bits compared as they are
            distances = self.codec.distances(query, stored)
        else:
            distances = self.codec.distances(query, self.codec.decode(stored))
        order = np.argsort(distances, kind="stable")
        if len(order) > k:  # keep every candidate tied with the k-th: ties are broken by key, not by label order
            order = order[: k + int(np.count_nonzero(distances[order[k:]] == distances[order[k - 1]]))] if k > 0 else order[:0]
        ranked = sorted(((float(distances[i]), self.keys[labels[i]]) for i in order))[:k]
        return [(key, self.score(distance)) for distance, key in ranked]

    def vectors_of(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        with self.lock:
            present = [(key, self.labels[key]) for key in keys if key in self.labels]
            if not present:
                return {}
            arr = np.asarray(self.index.get(np.asarray([l for _, l in present], dtype=np.uint64), dtype=self.codec.dtype))
            arr = self.codec.decode(arr.reshape(len(present), -1))
            return {key: arr[i] for i, (key, _) in enumerate(present)}

    # ---- persistence ----------------------------------------------------------------------------------------
    def save(self, directory: Path, name: str, opstamp: int) -> None:
        with self.lock:
            directory.mkdir(parents=True, exist_ok=True)
            index_path = directory / f"{name}.usearch"
            meta_path = directory / f"{name}.json"
            tmp = index_path.with_suffix(".tmp")
            self.index.save(str(tmp))
            tmp.replace(index_path)
            meta = {"opstamp": opstamp, "next_label": self.next_label, "labels": self.labels,
                    "dimensions": self.dimensions, "metric": self.metric, "m": self.m,
                    "storage": list(self.storage.signature()), "scale": self.codec.scale}
            tmp_meta = meta_path.with_suffix(".json.tmp")
            tmp_meta.write_text(json.dumps(meta))
            tmp_meta.replace(meta_path)

    def load(self, directory: Path, name: str, opstamp: int) -> bool:
        """Load a saved index if it reflects exactly this commit; returns False to ask for a rebuild."""
        index_path = directory / f"{name}.usearch"
        meta_path = directory / f"{name}.json"
        if not index_path.exists() or not meta_path.exists():
            return False
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("opstamp") != opstamp or meta.get("dimensions") != self.dimensions or meta.get("metric") != self.metric or meta.get("m") != self.m:
                return False
            if meta.get("storage", list(VectorStorage("Edm.Single", self.dimensions).signature())) != list(self.storage.signature()):
                return False
            # an index saved before cosine fields moved to unit vectors + inner product keeps its cosine metric
            # (unit vectors compare the same under it); a loaded file keeps the metric it was saved with anyway
            saved = Index.metadata(str(index_path))
            index = self._new_index(saved["kind_metric"] if saved and self.codec.unit else None)
            compiled = index.metric
            index.load(str(index_path))
            if isinstance(compiled, CompiledMetric):
                index.metric = compiled  # loading a file puts usearch's own kernel back
        except Exception:
            return False
        with self.lock:
            self.index = index
            self.labels = {k: int(v) for k, v in meta["labels"].items()}
            self.keys = {v: k for k, v in self.labels.items()}
            self.next_label = int(meta["next_label"])
            self.codec.scale = meta.get("scale")
        return True

    @staticmethod
    def discard(directory: Path, name: str) -> None:
        for suffix in (".usearch", ".json"):
            path = directory / f"{name}{suffix}"
            if path.exists():
                path.unlink()
