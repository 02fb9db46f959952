"""Cluster mode against embedded mode (docs/cluster.md), in one run:

- bulk indexing (1000-document batches over HTTP, the two sides alternating slices) into an embedded node and a
  cluster node;
- query latency of the same queries on the embedded node and on a cluster node (interleaved);
- lag from a write's acknowledgement on node A to the document being readable on node B, under a steady write rate
  (p50/p99);
- rebuild time of a node started with an empty data dir, against the initial load.

    PYTHONPATH=src python bench/cluster/run.py [--docs 20000] [--queries 300] [--lag-writes 300 --rate 20]
    PYTHONPATH=src python bench/cluster/run.py --load-rebuild --docs 1000000 [--embedded]

``--load-rebuild``: only the initial load (one cluster node, 1000-document batches over HTTP, optionally an embedded
node taking the same batches alternately) and the rebuild of a node started with an empty data dir from those
documents, side by side; the table goes between the cluster-rebuild markers. Ports come from WEFT_BENCH_PORTS when set.

Needs PostgreSQL (WEFT_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/test): a database is created for
the run and dropped after. Writes its table into bench/RESULTS.md (between the cluster markers) and results.json here.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import tests.support.server  # noqa: E402
from tests.support.cluster import ClusterDatabase, cluster_node  # noqa: E402
from tests.support.server import WeftServer  # noqa: E402

_kernel_port = tests.support.server.free_port


def _bench_port() -> int:
    """The nodes' ports: the first free one of WEFT_BENCH_PORTS ("low-high") when set (a shared machine)."""
    span = os.environ.get("WEFT_BENCH_PORTS")
    if not span:
        return _kernel_port()
    low, high = (int(x) for x in span.split("-"))
    for port in range(low, high + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in _taken:
            _taken.add(port)
            return port
    raise RuntimeError(f"no free port in WEFT_BENCH_PORTS={span}")


_taken: set[int] = set()  # handed out already (a node may not have bound its port yet)
tests.support.server.free_port = _bench_port

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
    ap.add_argument("--load-rebuild", action="store_true", help="only the initial load and the rebuild (the 1M comparison)")
    ap.add_argument("--embedded", action="store_true", help="with --load-rebuild: an embedded node takes the same batches")
    ap.add_argument("--db-prefix", default="weft_cluster", help="the run's database is <prefix>_bench_<hex>")
    args = ap.parse_args()
    if args.load_rebuild:
        return load_rebuild(args)
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="weft-bench-cluster-"))
    db = ClusterDatabase("bench", prefix=args.db_prefix)
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


def wait_count(client: httpx.Client, node, total: int, timeout: float = 7200) -> None:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(node.url("/indexes/bench/docs/$count"), headers={"api-key": node.admin_key})
        if r.status_code == 200 and int(r.text) == total:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{node.url('')} did not reach {total} documents")
        time.sleep(0.2)


def load_rebuild(args) -> None:
    """The initial load of --docs documents into a cluster node (and an embedded node, alternating slices of 10,000,
    with --embedded), then the rebuild of a node started with an empty data dir, in one run."""
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="weft-bench-rebuild-"))
    db = ClusterDatabase("bench", prefix=args.db_prefix)
    nodes = []
    progress = Path(__file__).parent / "rebuild_progress.jsonl"  # per slice, so a run cut short still says its rate
    progress.write_text("")
    load_start = os.getloadavg()
    for name in ("a", "c", "embedded"):
        (tmp / name).mkdir()
    try:
        sides = [("cluster", cluster_node(tmp / "a" / "data", db.url, "a"))]
        if args.embedded:
            sides.append(("embedded", WeftServer(tmp / "embedded" / "data")))
        for _, node in sides:
            node.start()
            nodes.append(node)
        client = httpx.Client(timeout=600)
        for _, node in sides:
            post(client, node, "/indexes", INDEX)
        spent = {label: 0.0 for label, _ in sides}
        slice_size = 10_000
        for n, start in enumerate(range(0, args.docs, slice_size)):
            batches = [[doc(i, rng) for i in range(s, min(s + 1000, args.docs))] for s in range(start, min(start + slice_size, args.docs), 1000)]
            order = sides if n % 2 == 0 else sides[::-1]
            for label, node in order:
                t = time.perf_counter()
                for batch in batches:
                    post(client, node, "/indexes/bench/docs/index", {"value": batch})
                spent[label] += time.perf_counter() - t
            done = min(start + slice_size, args.docs)
            with progress.open("a") as f:
                f.write(json.dumps({"docs": done, "seconds": {k: round(v, 1) for k, v in spent.items()},
                                    "loadavg": os.getloadavg()[0]}) + "\n")
            if done % 100_000 == 0:
                print(done, {k: f"{done / v:.0f} docs/s" for k, v in spent.items()}, f"load {os.getloadavg()[0]:.1f}", flush=True)
        load_end = os.getloadavg()
        total = args.docs
        wait_count(client, sides[0][1], total)
        t = time.perf_counter()
        c = cluster_node(tmp / "c" / "data", db.url, "c").start()
        nodes.append(c)
        wait_count(client, c, total)
        rebuild_seconds = time.perf_counter() - t
        results = {"docs": total, "load_seconds": {k: round(v, 1) for k, v in spent.items()},
                   "load_docs_per_s": {k: round(total / v) for k, v in spent.items()}, "rebuild_seconds": round(rebuild_seconds, 1),
                   "rebuild_docs_per_s": round(total / rebuild_seconds), "loadavg_start": load_start, "loadavg_after_load": load_end,
                   "loadavg_end": os.getloadavg(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    finally:
        for node in nodes:
            node.stop()
        db.drop()
        subprocess.run(["rm", "-rf", str(tmp)])
    (Path(__file__).parent / "rebuild.json").write_text(json.dumps(results, indent=2) + "\n")
    write_rebuild_table(results)
    print(json.dumps(results, indent=2))


def write_rebuild_table(r: dict) -> None:
    load = lambda v: " ".join(f"{x:.1f}" for x in v)  # noqa: E731
    rows = [f"| initial load, cluster node (write to PostgreSQL + local apply, over HTTP) | {r['load_seconds']['cluster']:,} | "
            f"{r['load_docs_per_s']['cluster']:,} |"]
    if "embedded" in r["load_seconds"]:
        rows.append(f"| initial load, embedded node (same batches, alternating) | {r['load_seconds']['embedded']:,} | "
                    f"{r['load_docs_per_s']['embedded']:,} |")
    rows.append(f"| rebuild of a node with an empty data dir (node start to all documents readable) | {r['rebuild_seconds']:,} | "
                f"{r['rebuild_docs_per_s']:,} |")
    lines = [
        "## Cluster mode: initial load against a node's rebuild from PostgreSQL (`bench/cluster/run.py --load-rebuild`, issue 18)",
        "",
        f"One run ({r['when']}, 2 cores shared with other sessions; load average {load(r['loadavg_start'])} at the start, "
        f"{load(r['loadavg_after_load'])} after the load, {load(r['loadavg_end'])} at the end): {r['docs']:,} documents (4 short "
        "fields), 1000-document batches over HTTP from one client, one at a time, into one cluster node over a local PostgreSQL"
        + (" and, alternating slices of 10,000, an embedded node" if "embedded" in r["load_seconds"] else "")
        + "; then a second cluster node starts with an empty data dir and rebuilds the index from the documents of record.",
        "",
        "| measure | seconds | docs/s |",
        "| --- | --- | --- |",
        *rows,
        "",
        f"Rebuild against initial load: {r['rebuild_seconds'] / r['load_seconds']['cluster']:.2f}x the time.",
    ]
    write_block("cluster-rebuild", lines)


def write_block(marker: str, lines: list[str]) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    block = begin + "\n" + "\n".join(lines) + "\n" + end
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n" + block + "\n"
    path.write_text(text)


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
        "The 1M initial load against the rebuild is its own run (`--load-rebuild --docs 1000000`, the cluster-rebuild section). "
        "Not measured yet: a load balancer spreading writers over several nodes.",
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
