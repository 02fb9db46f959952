"""The measurements behind docs/cluster.md "Partitioning (design on paper)": how one node's whole copy of an index
grows with its document count.

For each size N: N documents (the cluster benchmark's 4-field documents) are committed to a fresh cluster database
through the cluster write path (``weft.cluster.documents.write_batch``, 1000 a batch, no node applying them); then a
node starts with an empty data dir in this process and rebuilds the index from the documents of record. Measured:
rebuild time (node start to index ready), the local copy's size on disk, the process's resident memory after the
rebuild and after the queries (VmRSS; one node per process, so it is the node's), and query latency p50/p95 on the
node (in process, ``SearchService.search``; text, two-term OR, text + filter, facet + orderby; interleaved).

    PYTHONPATH=src python bench/cluster/partition.py [--sizes 50000,100000,200000] [--queries 40]

Each size runs in its own subprocess (memory is per node). Writes partition.json here and a table into
bench/RESULTS.md between the cluster-partition markers.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.cluster.run import INDEX, WORDS, doc, pct  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def du_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def one_size(n: int, queries: int) -> dict:
    from tests.support.cluster import ClusterDatabase
    from weft.cluster.documents import write_batch
    from weft.cluster.pg import Database
    from weft.cluster.pg_catalog import PgCatalog
    from weft.cluster.search_node import build_search
    from weft.search.documents import parse_batch

    db = ClusterDatabase("bench_part")
    tmp = Path(tempfile.mkdtemp(prefix="weft-part-"))
    try:
        writer, _ = build_search(tmp / "writer", db.url, "writer")
        writer.create_index(INDEX)
        definition = writer.definition("bench")
        writer.close()
        database = Database(db.url)
        PgCatalog(database)
        rng = random.Random(7)
        started = time.perf_counter()
        for start in range(0, n, 1000):
            body = {"value": [doc(i, rng) for i in range(start, min(n, start + 1000))]}
            write_batch(database, definition, parse_batch(definition, body))
        load_s = time.perf_counter() - started
        database.close()
        base_rss = rss_mib()
        started = time.perf_counter()
        service, engine = build_search(tmp / "node", db.url, "node")
        deadline = time.monotonic() + 3600
        while engine.rebuilding or "bench" not in engine.indexes:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        rebuild_s = time.perf_counter() - started
        assert service.count("bench") == n
        rebuilt_rss = rss_mib()
        size = du_mib(tmp / "node" / "indexes" / "bench")
        qrng = random.Random(11)
        kinds = {
            "one term": lambda: {"search": qrng.choice(WORDS[:200]), "top": 10},
            "two terms OR": lambda: {"search": f"{qrng.choice(WORDS)} {qrng.choice(WORDS)}", "top": 10},
            "text + filter": lambda: {"search": qrng.choice(WORDS[:200]), "filter": f"price lt {qrng.randint(50, 400)}", "top": 10},
            "facet + orderby": lambda: {"search": qrng.choice(WORDS[:200]), "facets": ["cat"], "orderby": "price desc", "top": 10},
        }
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for make in kinds.values():  # warm-up
            service.search("bench", make())
        for _ in range(queries):
            for kind, make in kinds.items():
                q = make()
                t = time.perf_counter()
                service.search("bench", q)
                times[kind].append((time.perf_counter() - t) * 1000)
        out = {"docs": n, "load_s": round(load_s, 1), "rebuild_s": round(rebuild_s, 1), "rebuild_docs_per_s": round(n / rebuild_s),
               "index_mib": round(size, 1), "rss_before_mib": round(base_rss), "rss_rebuilt_mib": round(rebuilt_rss),
               "rss_after_queries_mib": round(rss_mib()),
               "p50_ms": {k: round(statistics.median(v), 2) for k, v in times.items()},
               "p95_ms": {k: round(pct(v, 95), 2) for k, v in times.items()}}
        service.close()
        return out
    finally:
        db.drop()
        subprocess.run(["rm", "-rf", str(tmp)])


def write_table(runs: list[dict], load: str) -> None:
    kinds = list(runs[0]["p50_ms"])
    lines = ["## Cluster mode: one node's whole copy against its document count (`bench/cluster/partition.py`, issue 18)", "",
             f"One run ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2 cores shared, load average {load}): for each size, the "
             "documents (4 fields: 4-word title, 40-word body over 2,000 words, price, category) are committed to a fresh cluster "
             "database, then a node with an empty data dir rebuilds the index in its own process; queries in process on that node "
             "(`SearchService.search`, top 10, interleaved). Memory is the node process's VmRSS.", "",
             "| documents | rebuild s | rebuild docs/s | local copy MiB | RSS after rebuild MiB | RSS after queries MiB | "
             + " | ".join(f"{k} p50 ms" for k in kinds) + " | " + " | ".join(f"{k} p95 ms" for k in kinds) + " |",
             "| " + " | ".join(["---"] * (6 + 2 * len(kinds))) + " |"]
    for r in runs:
        lines.append(f"| {r['docs']:,} | {r['rebuild_s']} | {r['rebuild_docs_per_s']:,} | {r['index_mib']} | {r['rss_rebuilt_mib']} | "
                     f"{r['rss_after_queries_mib']} | " + " | ".join(str(r["p50_ms"][k]) for k in kinds) + " | "
                     + " | ".join(str(r["p95_ms"][k]) for k in kinds) + " |")
    table = "\n".join(lines) + "\n"
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    begin, end = "<!-- cluster-partition:begin -->", "<!-- cluster-partition:end -->"
    block = f"{begin}\n{table}{end}"
    if begin in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,100000,200000")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: one size, JSON on stdout
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.queries)))
        return
    runs = []
    load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    for n in (int(s) for s in args.sizes.split(",")):
        child = subprocess.run([sys.executable, __file__, "--one", str(n), "--queries", str(args.queries)], capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"})
        if child.returncode != 0:
            raise SystemExit(child.stderr[-3000:])
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(runs[-1], flush=True)
    load = f"{load_start} at the start, {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end"
    (Path(__file__).parent / "partition.json").write_text(json.dumps({"load": load, "runs": runs}, indent=1) + "\n")
    write_table(runs, load)


if __name__ == "__main__":
    main()
