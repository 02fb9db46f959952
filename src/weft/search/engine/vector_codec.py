"""How the vectors of one field are held in the ANN index (usearch), by element type and compression.

* ``Collection(Edm.Single)``, ``Collection(Edm.Int16)``: float32 (int16 values are exact in float32; usearch
  has no int16 type).
* ``Collection(Edm.Half)``: float16.
* ``Collection(Edm.SByte)``: int8, stored as given.
* ``Collection(Edm.Byte)`` packedBit: usearch ``b1`` (one bit per dimension), metric hamming.
* ``scalarQuantization``: int8 codes, ``round(x * 127 / absmax)``. Under cosine each vector has its own
  scale (cosine ignores length); under dotProduct and euclidean one scale per field, taken from the first
  batch written and kept (values beyond it are clipped), so dot and distance order survives.
* ``binaryQuantization``: one sign bit per dimension (``x > 0``), hamming distance in the graph.

Cosine over float32 vectors: the index holds each vector scaled to unit length and compares with the inner
product (``ip``), which is the cosine of unit vectors at a third of the arithmetic per comparison (a cosine
kernel also computes both lengths every time); the query is scaled the same way. A zero vector stays zero
(distance 1, as cosine reports it). Indexes saved with the ``cos`` metric keep it (``VectorIndex.load``).

``truncationDimension`` keeps the first dimensions only (Matryoshka truncation) before compressing.
Quantized and narrow-integer fields score their candidates in numpy (``score_candidates``), against the
decoded codes or, when rescoring, against the full-precision originals; binary codes decode to ±1, so
``discardOriginals`` rescoring is the dot product of the float query with the ±1 codes, as Azure
documents.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from weft.search.vector_options import VectorStorage
from weft.search.vector_values import SingleVector

USEARCH_METRICS = {"cosine": "cos", "euclidean": "l2sq", "dotProduct": "ip", "hamming": "hamming"}


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (zero rows stay zero)."""
    if x.ndim == 1:
        x = x[None, :]
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
    norms[norms == 0] = 1.0
    return x / norms[:, None]


def float_rows(vectors: list) -> np.ndarray:
    """Vectors (rows) as one float32 array: ``SingleVector`` rows from their packed bytes in one step (no
    conversion of their numbers), other rows (lists, arrays) converted."""
    if vectors and all(type(v) is SingleVector for v in vectors):
        width = len(vectors[0])
        if all(len(v) == width for v in vectors):
            return np.frombuffer(bytearray(b"".join([v.f32 for v in vectors])), dtype=np.float32).reshape(len(vectors), width)
    return np.asarray(vectors, dtype=np.float32)


@dataclass(frozen=True)
class Codes:
    """Vectors already encoded for the ANN index (from the ``_ann`` column, originals discarded)."""

    codes: np.ndarray
    scale: float | None = None


class Codec:
    def __init__(self, storage: VectorStorage, metric: str):
        self.storage = storage
        self.metric = metric
        self.kind = storage.compression or {"Edm.Half": "half", "Edm.SByte": "sbyte", "Edm.Byte": "bits"}.get(storage.element, "float")
        bits = self.kind in ("binary", "bits")
        width = storage.index_dimensions if storage.compression else storage.dimensions
        self.width = width  # dimensions the index compares (before bit packing)
        self.ndim = (math.ceil(width / 8) * 8) if bits else width
        self.dtype = {"float": "f32", "half": "f16", "sbyte": "i8", "bits": "b1", "scalar": "i8", "binary": "b1"}[self.kind]
        # float32 under cosine: unit vectors compared by inner product (see the module's docstring)
        self.unit = self.kind == "float" and metric == "cosine"
        self.usearch_metric = "hamming" if bits else ("ip" if self.unit else USEARCH_METRICS[metric])
        self.scale: float | None = None  # scalar quantization under dotProduct/euclidean: one scale per field
        # fields whose ANN distances are not the field's metric on the true values: candidates are scored in numpy
        self.scores_candidates = self.kind in ("scalar", "binary", "sbyte")

    @property
    def per_vector_scale(self) -> bool:
        return self.kind == "scalar" and self.metric == "cosine"

    # ---- encoding ------------------------------------------------------------------------------------------
    def _truncate(self, x: np.ndarray) -> np.ndarray:
        return x[..., : self.width] if x.shape[-1] > self.width else x

    def encode(self, vectors: list) -> np.ndarray:
        """Document vectors (rows) as the index stores them."""
        if self.kind == "float":
            x = float_rows(vectors)
            return unit_rows(x) if self.unit else x
        if self.kind == "half":
            return np.asarray(vectors, dtype=np.float16)
        if self.kind == "sbyte":
            return np.asarray(vectors, dtype=np.int8)
        if self.kind == "bits":
            return np.asarray(vectors, dtype=np.uint8)
        x = self._truncate(float_rows(vectors))
        if self.kind == "binary":
            return np.packbits(x > 0, axis=-1)
        return self._quantize(x)

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        if self.per_vector_scale:
            absmax = np.abs(x).max(axis=-1, keepdims=True)
            absmax[absmax == 0] = 1.0
            return np.clip(np.rint(x * (127.0 / absmax)), -127, 127).astype(np.int8)
        if self.scale is None:
            absmax = float(np.abs(x).max()) if x.size else 0.0
            self.scale = 127.0 / absmax if absmax > 0 else 1.0
        return np.clip(np.rint(x * self.scale), -127, 127).astype(np.int8)

    def adopt(self, codes: Codes) -> np.ndarray:
        """Codes read back from storage, in this index's scale."""
        if self.kind == "scalar" and not self.per_vector_scale and codes.scale:
            if self.scale is None:
                self.scale = codes.scale
            elif codes.scale != self.scale:
                return np.clip(np.rint(codes.codes.astype(np.float32) * (self.scale / codes.scale)), -127, 127).astype(np.int8)
        return codes.codes

    def encode_query(self, query: np.ndarray) -> np.ndarray:
        if self.kind == "sbyte":
            if self.metric == "cosine":
                return query.astype(np.float32)  # usearch scales a float query into the i8 space; cosine ignores length
            return np.clip(np.rint(query), -128, 127).astype(np.int8)
        if self.kind == "scalar":
            x = self._truncate(query)
            if self.per_vector_scale:
                return self._quantize(x[None, :])[0]
            scale = self.scale or 1.0
            return np.clip(np.rint(x * scale), -127, 127).astype(np.int8)
        if self.kind == "binary":
            return np.packbits(self._truncate(query) > 0)
        if self.kind == "bits":
            return query.astype(np.uint8)
        if self.unit:
            return unit_rows(query.astype(np.float32)[None, :])[0]
        return query.astype(np.float32)

    # ---- decoding and scoring ----------------------------------------------------------------------------
    def decode(self, stored: np.ndarray) -> np.ndarray:
        """Float approximations of stored codes (rows), in the index's (possibly truncated) space."""
        if self.kind == "binary":
            return np.unpackbits(stored.astype(np.uint8), axis=-1)[..., : self.width].astype(np.float32) * 2.0 - 1.0
        if self.kind == "scalar" and not self.per_vector_scale:
            return stored.astype(np.float32) / (self.scale or 1.0)
        return stored.astype(np.float32)

    def distances(self, query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """The field metric's usearch-style distance of float ``vectors`` (rows) to ``query``."""
        if self.metric == "hamming":
            q = np.unpackbits(query.astype(np.uint8))
            v = np.unpackbits(vectors.astype(np.uint8), axis=-1)
            return (v != q).sum(axis=-1).astype(np.float32)
        n = min(query.shape[-1], vectors.shape[-1])
        q = query[:n].astype(np.float32)
        v = vectors[:, :n].astype(np.float32)
        if self.metric == "cosine":
            qn = q / (np.linalg.norm(q) or 1.0)
            norms = np.linalg.norm(v, axis=1)
            norms[norms == 0] = 1.0
            return 1.0 - (v @ qn) / norms
        if self.metric == "euclidean":
            diff = v - q
            return np.einsum("ij,ij->i", diff, diff)
        return 1.0 - v @ q

    def score(self, distance: float) -> float:
        """Azure-style similarity score from a distance."""
        if self.metric in ("cosine", "hamming"):
            return 1.0 / (1.0 + float(distance))
        if self.metric == "euclidean":
            return 1.0 / (1.0 + math.sqrt(max(0.0, float(distance))))
        return 1.0 - float(distance)  # dotProduct: usearch reports 1 - dot
