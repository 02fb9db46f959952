"""Nearest-neighbour index of one vector field (usearch HNSW, with exact search on demand).

The tantivy index is the source of truth: every vector is also in the document's stored
``_source``. This index is kept in memory, updated after each durable commit, saved on a
clean shutdown together with the tantivy commit opstamp it reflects, and rebuilt from the
stored documents whenever that opstamp does not match (after a crash), so vectors and
documents always agree.
"""
from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Iterable

import numpy as np
from usearch.index import Index

_METRICS = {"cosine": "cos", "euclidean": "l2sq", "dotProduct": "ip"}


class VectorIndex:
    def __init__(self, dimensions: int, metric: str = "cosine", m: int = 4, ef_construction: int = 400, ef_search: int = 500):
        self.dimensions = dimensions
        self.metric = metric
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.index = self._new_index()
        self.labels: dict[str, int] = {}
        self.keys: dict[int, str] = {}
        self.next_label = 0
        self.lock = threading.RLock()

    def _new_index(self) -> Index:
        return Index(
            ndim=self.dimensions,
            metric=_METRICS[self.metric],
            dtype="f32",
            connectivity=max(4, self.m * 2),
            expansion_add=self.ef_construction,
            expansion_search=self.ef_search,
        )

    def __len__(self) -> int:
        return len(self.labels)

    # ---- writes (called by the index writer after a durable commit) ---------------------------------
    def upsert(self, key: str, vector: list[float] | None) -> None:
        with self.lock:
            self._remove(key)
            if vector is None:
                return
            label = self.next_label
            self.next_label += 1
            self.index.add(label, np.asarray(vector, dtype=np.float32))
            self.labels[key] = label
            self.keys[label] = key

    def upsert_many(self, items: list[tuple[str, list[float] | None]]) -> None:
        """Apply a group's changes at once (usearch adds a batch on several threads)."""
        with self.lock:
            keys, vectors = [], []
            for key, vector in items:
                self._remove(key)
                if vector is not None:
                    keys.append(key)
                    vectors.append(vector)
            if not keys:
                return
            labels = np.arange(self.next_label, self.next_label + len(keys), dtype=np.uint64)
            self.next_label += len(keys)
            self.index.add(labels, np.asarray(vectors, dtype=np.float32))
            for key, label in zip(keys, labels.tolist()):
                self.labels[key] = label
                self.keys[label] = key

    def delete(self, key: str) -> None:
        with self.lock:
            self._remove(key)

    def _remove(self, key: str) -> None:
        label = self.labels.pop(key, None)
        if label is not None:
            self.keys.pop(label, None)
            self.index.remove(label)

    # ---- reads --------------------------------------------------------------------------------------------
    def score(self, distance: float) -> float:
        """Azure-style similarity score from a usearch distance."""
        if self.metric == "cosine":
            return 1.0 / (1.0 + float(distance))
        if self.metric == "euclidean":
            return 1.0 / (1.0 + math.sqrt(max(0.0, float(distance))))
        return 1.0 - float(distance)  # dotProduct: usearch reports 1 - dot

    def search(self, vector: list[float], k: int, *, exact: bool = False, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top-k (key, score), best first. ``allowed`` restricts results to those keys (pre-filtering)."""
        query = np.asarray(vector, dtype=np.float32)
        with self.lock:
            n = len(self.labels)
            if n == 0 or k <= 0:
                return []
            if allowed is not None:
                if exact or len(allowed) <= 50_000 or len(allowed) * 4 <= n:
                    return self._exact_over(query, k, [self.labels[key] for key in allowed if key in self.labels])
                want = k * 4
                while True:
                    found = self._ann(query, min(want, n), exact)
                    kept = [(key, s) for key, s in found if key in allowed]
                    if len(kept) >= k or want >= n:
                        return kept[:k]
                    want *= 4
            return self._ann(query, min(k, n), exact)

    def _ann(self, query: np.ndarray, k: int, exact: bool) -> list[tuple[str, float]]:
        matches = self.index.search(query, k, exact=exact)
        out = []
        for label, distance in zip(matches.keys, matches.distances):
            key = self.keys.get(int(label))
            if key is not None:
                out.append((key, self.score(distance)))
        return out

    def _exact_over(self, query: np.ndarray, k: int, labels: list[int]) -> list[tuple[str, float]]:
        if not labels:
            return []
        vectors = np.asarray(self.index.get(np.asarray(labels, dtype=np.uint64)), dtype=np.float32).reshape(len(labels), self.dimensions)
        if self.metric == "cosine":
            qn = query / (np.linalg.norm(query) or 1.0)
            norms = np.linalg.norm(vectors, axis=1)
            norms[norms == 0] = 1.0
            distances = 1.0 - (vectors @ qn) / norms
        elif self.metric == "euclidean":
            diff = vectors - query
            distances = np.einsum("ij,ij->i", diff, diff)
        else:
            distances = 1.0 - vectors @ query
        order = np.argsort(distances, kind="stable")[:k]
        return [(self.keys[labels[i]], self.score(distances[i])) for i in order]

    def vectors_of(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        with self.lock:
            present = [(key, self.labels[key]) for key in keys if key in self.labels]
            if not present:
                return {}
            arr = np.asarray(self.index.get(np.asarray([l for _, l in present], dtype=np.uint64)), dtype=np.float32)
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
                    "dimensions": self.dimensions, "metric": self.metric, "m": self.m}
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
            index = self._new_index()
            index.load(str(index_path))
        except Exception:
            return False
        with self.lock:
            self.index = index
            self.labels = {k: int(v) for k, v in meta["labels"].items()}
            self.keys = {v: k for k, v in self.labels.items()}
            self.next_label = int(meta["next_label"])
        return True

    @staticmethod
    def discard(directory: Path, name: str) -> None:
        for suffix in (".usearch", ".json"):
            path = directory / f"{name}{suffix}"
            if path.exists():
                path.unlink()
