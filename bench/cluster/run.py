"""Cluster mode against embedded mode (docs/cluster.md), in one run:

- bulk indexing (1000-document batches over HTTP, the two sides alternating slices) into an embedded node and a
  cluster node;
- query latency of the same queries on the embedded node and on a cluster node (interleaved);
- lag from a write's acknowledgement on node A to the document being readable on node B, under a steady write rate
  (p50/p99);
- rebuild time of a node started with an empty data dir, against the initial load.

    PYTHONPATH=src python bench/cluster/run.py [--docs 20000] [--queries 300] [--lag-writes 300 --rate 20]

Needs PostgreSQL (WEFT_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/test): a database is created for
the run and dropped after. Writes its table into bench/RESULTS.md (between the cluster markers) and results.json here.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.cluster import ClusterDatabase, cluster_node  # noqa: E402
from tests.support.server import WeftServer  # noqa: E402

WORDS = [f"w{i}" for i in range(2000)]
INDEX = {"name": "bench", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "title", "type": "Edm.String", "searchable": True},
    {"name": "body", "type": "Edm.String", "searchable": True},
    {"name": "price", "type": "Edm.Double", "filterable": True, "sortable": True},
    {"name": "cat", "type": "Edm.String", "filterable": True, "facetable": True},
]}


def doc(i: int, rng: random.Random) -> dict:
    return {"@search.action": "upload", "id": str(i), "title": " ".join(rng.choices(WORDS[:200], k=4)),
            "body": " ".join(rng.choices(WORDS, k=40)), "price": round(rng.uniform(1, 500), 2), "cat": f"c{i % 20}"}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def post(client: httpx.Client, node, path: str, body: dict, headers: dict | None = None) -> httpx.Response:
    r = client.post(node.url(path), json=body, headers={"api-key": node.admin_key, **(headers or {})})
    r.raise_for_status()
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--lag-writes", type=int, default=300)
    ap.add_argument("--rate", type=float, default=20.0, help="writes per second for the lag measurement")
    args = ap.parse_args()
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="weft-bench-cluster-"))
    db = ClusterDatabase("bench")
    nodes = []
    for name in ("embedded", "a", "b", "c"):
        (tmp / name).mkdir()
    try:
        embedded = WeftServer(tmp / "embedded" / "data").start()
        nodes.append(embedded)
        a = cluster_node(tmp / "a" / "data", db.url, "a").start()
        nodes.append(a)
        b = cluster_node(tmp / "b" / "data", db.url, "b").start()
        nodes.append(b)
        client = httpx.Client(timeout=120)
        for node in (embedded, a):
            post(client, node, "/indexes", INDEX)
        # ---- bulk indexing: alternate slices of 2,000 documents ----
        docs = [doc(i, rng) for i in range(args.docs)]
        spent = {"embedded": 0.0, "cluster": 0.0}
        slice_size = 2000
        for start in range(0, args.docs, slice_size):
            for label, node in (("embedded", embedded), ("cluster", a)) if (start // slice_size) % 2 == 0 else (("cluster", a), ("embedded", embedded)):
                t = time.perf_counter()
                for s in range(start, min(start + slice_size, args.docs), 1000):
                    post(client, node, "/indexes/bench/docs/index", {"value": docs[s:s + 1000]})
                spent[label] += time.perf_counter() - t
        bulk = {k: args.docs / v for k, v in spent.items()}
        # ---- query latency: the same queries, interleaved ----
        queries = []
        for i in range(args.queries):
            kind = i % 3
            if kind == 0:
                queries.append({"search": " ".join(rng.choices(WORDS[:200], k=2)), "top": 10, "select": "id,title"})
            elif kind == 1:
                queries.append({"search": rng.choice(WORDS), "filter": f"price lt {rng.randint(50, 400)}", "top": 10, "select": "id"})
            else:
                queries.append({"search": "*", "facets": ["cat"], "orderby": "price desc", "top": 10, "select": "id,price"})
        lat = {"embedded": [], "cluster": []}
        for q in queries[:20]:  # warm-up
            post(client, embedded, "/indexes/bench/docs/search", q)
            post(client, a, "/indexes/bench/docs/search", q)
        for q in queries:
            for label, node in (("embedded", embedded), ("cluster", a)):
                t = time.perf_counter()
                post(client, node, "/indexes/bench/docs/search", q)
                lat[label].append((time.perf_counter() - t) * 1000)
        # ---- lag: a steady rate of one-document writes on A, read on B ----
        post(client, a, "/indexes/bench/docs/index", {"value": [doc(10**9, rng)]}, headers={})
        lags: list[float] = []
        reader = httpx.Client(timeout=30)
        interval = 1 / args.rate
        for i in range(args.lag_writes):
            key = f"lag{i}"
            started = time.perf_counter()
            post(client, a, "/indexes/bench/docs/index", {"value": [{"@search.action": "upload", "id": key, "title": "lag probe"}]})
            acked = time.perf_counter()
            while True:
                r = reader.get(b.url(f"/indexes/bench/docs/{key}"), headers={"api-key": b.admin_key})
                if r.status_code == 200:
                    break
                time.sleep(0.001)
            lags.append((time.perf_counter() - acked) * 1000)
            left = interval - (time.perf_counter() - started)
            if left > 0:
                time.sleep(left)
        # ---- rebuild: a node with an empty data dir ----
        total = int(client.get(a.url("/indexes/bench/docs/$count"), headers={"api-key": a.admin_key}).text)
        t = time.perf_counter()
        c = cluster_node(tmp / "c" / "data", db.url, "c").start()
        nodes.append(c)
        while True:
            r = client.get(c.url("/indexes/bench/docs/$count"), headers={"api-key": c.admin_key})
            if r.status_code == 200 and int(r.text) == total:
                break
            time.sleep(0.05)
        rebuild_seconds = time.perf_counter() - t
        load = os.getloadavg()
        results = {
            "docs": args.docs, "bulk_docs_per_s": bulk, "initial_load_seconds_cluster": spent["cluster"],
            "query_ms": {k: {"p50": statistics.median(v), "p95": pct(v, 95)} for k, v in lat.items()},
            "lag_ms": {"p50": statistics.median(lags), "p99": pct(lags, 99), "max": max(lags), "writes": len(lags), "rate": args.rate},
            "rebuild_seconds": rebuild_seconds, "rebuild_docs": total, "loadavg": load,
        }
    finally:
        for node in nodes:
            node.stop()
        db.drop()
    (Path(__file__).parent / "results.json").write_text(json.dumps(results, indent=2))
    write_table(results)
    print(json.dumps(results, indent=2))


def write_table(r: dict) -> None:
    q = r["query_ms"]
    lines = [
        "## Cluster mode: bulk indexing, query latency, replication lag, rebuild (`bench/cluster/run.py`, issue 18)",
        "",
        f"One run: {r['docs']:,} documents (4 short fields), 1000-document batches over HTTP, one embedded node and two cluster "
        f"nodes over one local PostgreSQL (same machine, 2 cores); load average at the end {r['loadavg'][0]:.1f} "
        f"{r['loadavg'][1]:.1f} {r['loadavg'][2]:.1f}. Query latency: the same queries (text, text + filter, "
        "facet + orderby), interleaved, on the embedded node and on cluster node A. Lag: one-document writes on A at "
        f"{r['lag_ms']['rate']:.0f}/s, each polled on B by key lookup every ms from A's acknowledgement.",
        "",
        "| measure | embedded | cluster | ratio |",
        "| --- | --- | --- | --- |",
        f"| bulk indexing, docs/s | {r['bulk_docs_per_s']['embedded']:.0f} | {r['bulk_docs_per_s']['cluster']:.0f} | "
        f"{r['bulk_docs_per_s']['cluster'] / r['bulk_docs_per_s']['embedded']:.2f}x |",
        f"| query p50, ms | {q['embedded']['p50']:.2f} | {q['cluster']['p50']:.2f} | {q['cluster']['p50'] / q['embedded']['p50']:.2f}x |",
        f"| query p95, ms | {q['embedded']['p95']:.2f} | {q['cluster']['p95']:.2f} | {q['cluster']['p95'] / q['embedded']['p95']:.2f}x |",
        "",
        f"Lag from A's acknowledgement to readable on B ({r['lag_ms']['writes']} writes): p50 {r['lag_ms']['p50']:.1f} ms, "
        f"p99 {r['lag_ms']['p99']:.1f} ms, max {r['lag_ms']['max']:.1f} ms (target p99 <= 1 s).",
        "",
        f"Rebuild of a node started with an empty data dir: {r['rebuild_docs']:,} documents readable in "
        f"{r['rebuild_seconds']:.1f} s (node start included), against {r['initial_load_seconds_cluster']:.1f} s for the initial "
        "cluster load.",
        "",
        "Not measured yet: the rebuild at 1M documents the issue asks for (on this shared machine the 1M initial load alone "
        "would take about an hour: run `--docs 1000000`), and a load balancer spreading writers over several nodes.",
    ]
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    begin, end = "<!-- cluster:begin -->", "<!-- cluster:end -->"
    block = begin + "\n" + "\n".join(lines) + "\n" + end
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
