"""Vector compression benchmark: recall@10 and memory of scalar and binary quantization against float32.

    /work/main/.venv/bin/python bench/vectors/quantization.py                  # clustered 384-d, 20,000 vectors (~5 min)
    /work/main/.venv/bin/python bench/vectors/quantization.py --n 100000 --sets clustered,real

One run, the same vectors in every index: weft's ``SearchService`` in process (the whole service path:
validation, engine, rescoring, document fetch), one index per configuration, all with the same HNSW
parameters. Configurations: float32 (no compression); ``scalarQuantization`` int8 with and without
rescoring; ``binaryQuantization`` with rescoring against the preserved originals (oversampling 4, the
default, and 10), with ``discardOriginals`` (rescored by the dot product with the ±1 codes, as Azure
documents), and without rescoring; the compressed fields are ``stored: false``, as Azure recommends with
compression. Queries take turns across configurations (each query runs on every index before the next).
Recall@10 is against exact cosine search in numpy. Memory: ``vectorIndexSize`` from the index statistics
(the usearch index's serialized length: vectors as held plus the graph) and usearch's ``memory_usage``
(allocated arenas); disk: the index's ``storageSize`` less ``vectorIndexSize`` (tantivy's files: the
documents, including ``_vectors`` or ``_ann``).

Data sets: ``clustered`` (256 Gaussian clusters, centres x3, unit noise; queries are cluster centres plus
noise) and, opt-in, ``real`` (all-MiniLM-L6-v2 embeddings of real sentences, bench/vectors/realtext.py;
the first run embeds them, ~100 sentences/s). Writes bench/vectors/RESULTS-quantization.md, results as
JSON next to it, and its section of bench/RESULTS.md (<!-- vector-compression:begin --> ... end).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from weft.search.service import SearchService  # noqa: E402

CONFIGS = [
    # label, compression (None = float32), stored, query oversampling
    ("float32", None, True, None),
    ("scalar int8, rescored", {"kind": "scalarQuantization"}, False, None),
    ("scalar int8, no rescoring", {"kind": "scalarQuantization", "rescoringOptions": {"enableRescoring": False}}, False, None),
    ("binary, rescored (oversampling 4)", {"kind": "binaryQuantization"}, False, None),
    ("binary, rescored (oversampling 10)", {"kind": "binaryQuantization"}, False, 10.0),
    ("binary, discardOriginals (±1 rescoring)",
     {"kind": "binaryQuantization", "rescoringOptions": {"rescoreStorageMethod": "discardOriginals"}}, False, None),
    ("binary, no rescoring", {"kind": "binaryQuantization", "rescoringOptions": {"enableRescoring": False}}, False, None),
]


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def clustered(n: int, n_queries: int, dims: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((256, dims)) * 3.0
    docs = centres[rng.integers(0, 256, n)] + rng.standard_normal((n, dims))
    queries = centres[rng.integers(0, 256, n_queries)] + rng.standard_normal((n_queries, dims))
    return docs.astype(np.float32), queries.astype(np.float32)


def exact_top(docs: np.ndarray, queries: np.ndarray, k: int = 10) -> list[set[str]]:
    x = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    out = []
    for q in queries:
        scores = x @ (q / np.linalg.norm(q))
        out.append({str(i) for i in np.argpartition(-scores, k)[:k]})
    return out


def definition(name: str, dims: int, compression: dict | None, stored: bool, m: int, ef_c: int, ef_s: int) -> dict:
    field = {"name": "v", "type": "Collection(Edm.Single)", "dimensions": dims, "vectorSearchProfile": "p"}
    if not stored:
        field.update(stored=False, retrievable=False)
    profile = {"name": "p", "algorithm": "h"}
    if compression:
        profile["compression"] = "c"
    return {"name": name, "fields": [{"name": "id", "type": "Edm.String", "key": True}, field],
            "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw", "hnswParameters": {
                "metric": "cosine", "m": m, "efConstruction": ef_c, "efSearch": ef_s}}],
                "profiles": [profile], "compressions": [dict(compression, name="c")] if compression else []}}


def run_set(label: str, docs: np.ndarray, queries: np.ndarray, args) -> dict:
    dims = docs.shape[1]
    truth = exact_top(docs, queries)
    data = Path(tempfile.mkdtemp(prefix="weft-quant-", dir=args.scratch))
    service = SearchService(data)
    names = []
    builds = {}
    try:
        for i, (cfg, compression, stored, _) in enumerate(CONFIGS):
            name = f"q{i}"
            names.append(name)
            service.create_index(definition(name, dims, compression, stored, args.m, args.ef_construction, args.ef_search))
            t0 = time.perf_counter()
            for start in range(0, len(docs), 1000):
                batch = [{"@search.action": "upload", "id": str(j), "v": [round(float(x), 6) for x in docs[j]]}
                         for j in range(start, min(start + 1000, len(docs)))]
                service.apply_batch(name, {"value": batch})
            builds[cfg] = time.perf_counter() - t0
            log(f"{label}: built {cfg} in {builds[cfg]:.0f} s")
        times = {cfg: [] for cfg, *_ in CONFIGS}
        hits = {cfg: [] for cfg, *_ in CONFIGS}
        order = list(range(len(CONFIGS)))
        for qi, q in enumerate(queries):
            body_vector = [float(x) for x in q]
            for ci in (order if qi % 2 == 0 else order[::-1]):
                cfg, _, _, oversampling = CONFIGS[ci]
                vq = {"kind": "vector", "vector": body_vector, "fields": "v", "k": 10}
                if oversampling is not None:
                    vq["oversampling"] = oversampling
                t0 = time.perf_counter()
                result = service.search(names[ci], {"vectorQueries": [vq], "select": "id", "top": 10})
                elapsed = time.perf_counter() - t0
                if qi >= args.warmup:
                    times[cfg].append(elapsed * 1000)
                hits[cfg].append({h["id"] for h in result["value"]})
        rows = []
        for ci, (cfg, compression, stored, oversampling) in enumerate(CONFIGS):
            stats = service.index_stats(names[ci])
            engine_handle = service.engine._handles[names[ci]]  # noqa: SLF001 - the bench reads usearch's own counter
            arena = engine_handle.vectors["v"].index.memory_usage
            recall = statistics.mean(len(h & t) / 10 for h, t in zip(hits[cfg], truth))
            rows.append({"config": cfg, "recall@10": recall, "vectorIndexSize": stats["vectorIndexSize"],
                         "memory_usage": int(arena), "disk_bytes": stats["storageSize"] - stats["vectorIndexSize"],
                         "p50_ms": statistics.median(times[cfg]), "build_s": builds[cfg]})
        base = rows[0]
        for row in rows:
            row["size_ratio"] = row["vectorIndexSize"] / base["vectorIndexSize"]
            row["disk_ratio"] = row["disk_bytes"] / base["disk_bytes"]
        return {"set": label, "n": len(docs), "dims": dims, "queries": len(queries), "rows": rows}
    finally:
        service.close()
        shutil.rmtree(data, ignore_errors=True)


def render(results: list[dict], args) -> str:
    lines = [f"One run ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, `bench/vectors/quantization.py"
             f"{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`): the same vectors in one index per configuration, "
             f"HNSW m={args.m}, efConstruction={args.ef_construction}, efSearch={args.ef_search}, cosine, k=10, in process "
             "(`SearchService`). Recall@10 against exact search; `vectorIndexSize` is the ANN index's serialized size "
             "(vectors as held plus the graph), arena is usearch's allocated memory, disk is tantivy's files (documents with "
             "`_vectors` or, for the `stored: false` compressed fields, the `_ann` column: originals, or only codes with "
             "`discardOriginals`). Ratios are against float32 in the same run; p50 is the whole search call.", ""]
    for r in results:
        lines += [f"**{r['set']}**, {r['n']:,} vectors x {r['dims']} dims, {r['queries']} queries:", "",
                  "| configuration | recall@10 | vectorIndexSize | vs float32 | arena MiB | disk MiB | disk vs float32 | p50 ms |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in r["rows"]:
            lines.append(f"| {row['config']} | {row['recall@10']:.3f} | {row['vectorIndexSize'] / 2**20:.1f} MiB | "
                         f"{row['size_ratio']:.2f}x | {row['memory_usage'] / 2**20:.1f} | {row['disk_bytes'] / 2**20:.1f} | "
                         f"{row['disk_ratio']:.2f}x | {row['p50_ms']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--sets", default="clustered")
    parser.add_argument("--m", type=int, default=8)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", type=int, default=200)
    parser.add_argument("--scratch", default=None, help="directory for the temporary data dirs")
    args = parser.parse_args()
    results = []
    for name in args.sets.split(","):
        if name == "clustered":
            docs, queries = clustered(args.n, args.queries, args.dims)
        elif name == "real":
            from realtext import real_dataset

            docs, queries, _, _ = real_dataset(args.n, args.queries)
        else:
            raise SystemExit(f"unknown set {name}")
        results.append(run_set(name, docs, queries, args))
    table = render(results, args)
    here = Path(__file__).resolve().parent
    (here / "RESULTS-quantization.md").write_text("# Vector compression: recall and memory (bench/vectors/quantization.py)\n\n" + table + "\n")
    (here / "results-quantization.json").write_text(json.dumps(results, indent=1))
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    block = ("<!-- vector-compression:begin -->\n## Vector compression: recall@10 and memory against float32\n\n" + table
             + "\n<!-- vector-compression:end -->")
    if "<!-- vector-compression:begin -->" in text:
        text = re.sub(r"<!-- vector-compression:begin -->.*<!-- vector-compression:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
    print(table)


if __name__ == "__main__":
    main()
