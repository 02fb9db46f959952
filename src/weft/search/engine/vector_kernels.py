"""Float32 distance kernels for the ANN index, compiled with numba when numba is installed (optional).

usearch's own float32 kernels (NumKong's, AVX2 here) accumulate in float64: half the lanes per instruction, and two
thirds of an HNSW build's time is spent in them (``perf`` on a 100k x 384 build). hnswlib (Chroma) and FAISS
accumulate in float32. When numba can be imported, float32 fields compared by inner product (cosine fields, held
as unit vectors, and dotProduct) or by squared euclidean distance use the kernels below, which LLVM vectorizes
with float32 accumulators: the same HNSW graph algorithm and parameters, the same metric, distances that differ
from usearch's in the seventh significant digit; a build takes about a quarter less CPU. Without numba (it is not
weft's dependencies install it; where it cannot be imported or compile), usearch's own kernels. Kernels are compiled once per process, on first use (~1 s).
"""
from __future__ import annotations

import functools
import logging

from usearch.index import CompiledMetric, MetricKind, MetricSignature

_KINDS = {"ip": MetricKind.IP, "l2sq": MetricKind.L2sq}


@functools.lru_cache(maxsize=1)
def _compiled() -> dict[str, int] | None:
    try:
        import numpy as np
        from numba import cfunc, types
    except ImportError:
        return None
    try:
        return _compile(np, cfunc, types)
    except Exception:  # a platform numba cannot compile for: usearch's own kernels, still correct
        logging.getLogger("weft.search").warning("numba could not compile the vector kernels; using usearch's", exc_info=True)
        return None


def _compile(np, cfunc, types) -> dict[str, int]:
    signature = types.float32(types.CPointer(types.float32), types.CPointer(types.float32), types.uint64)
    fast = {"reassoc", "contract"}  # lets LLVM keep several float32 partial sums (vector lanes); no other licence

    @cfunc(signature, fastmath=fast, cache=True)  # compiled once per machine (numba caches it beside this file)
    def inner_product(a, b, n):  # usearch's "ip" distance: 1 - a.b
        total = np.float32(0.0)
        for i in range(n):
            total += a[i] * b[i]
        return np.float32(1.0) - total

    @cfunc(signature, fastmath=fast, cache=True)  # compiled once per machine (numba caches it beside this file)
    def squared_euclidean(a, b, n):
        total = np.float32(0.0)
        for i in range(n):
            d = a[i] - b[i]
            total += d * d
        return total

    return {"ip": inner_product.address, "l2sq": squared_euclidean.address}


def metric_for(metric: "str | MetricKind", dtype: str) -> "CompiledMetric | None":
    """The compiled kernel for this usearch metric and element type, or None (usearch's own kernel)."""
    if dtype != "f32":
        return None
    name = metric if isinstance(metric, str) else {v: k for k, v in _KINDS.items()}.get(metric)
    if name not in _KINDS:
        return None
    compiled = _compiled()
    if compiled is None:
        return None
    return CompiledMetric(pointer=compiled[name], kind=_KINDS[name], signature=MetricSignature.ArrayArraySize)


def available() -> bool:
    return _compiled() is not None
