"""Indexer benchmark: initial load from PostgreSQL vs the engine's raw ingest, peak RSS, and
commit-to-searchable lag in near-real-time (sub-second polling) mode.

    /work/main/.venv/bin/python bench/indexers/run.py [--rows 1000000] [--lag-seconds 30]

Each phase runs in its own subprocess so peak RSS is per phase. Writes bench/indexers/RESULTS.md
and bench/indexers/results.json. Needs PostgreSQL at WEFT_BENCH_PG_URL
(default postgresql://postgres@127.0.0.1:5432/test).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("WEFT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TABLE = "weft_bench_items"
INDEX = {"name": "bench", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "title", "type": "Edm.String", "searchable": True},
    {"name": "body", "type": "Edm.String", "searchable": True},
    {"name": "price", "type": "Edm.Double", "filterable": True, "sortable": True},
    {"name": "qty", "type": "Edm.Int32", "filterable": True},
    {"name": "ver", "type": "Edm.Int64", "filterable": True},
]}
WORDS = [f"w{i:x}" for i in range(5000)]


def row(i: int) -> tuple:
    rng = random.Random(i)
    title = " ".join(rng.choice(WORDS) for _ in range(6))
    body = " ".join(rng.choice(WORDS) for _ in range(40))
    return i, title, body, round(rng.uniform(1, 500), 2), rng.randint(0, 1000), 1


def document(r: tuple) -> dict:
    return {"@search.action": "mergeOrUpload", "id": str(r[0]), "title": r[1], "body": r[2], "price": float(r[3]), "qty": r[4], "ver": r[5]}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- phases (each in its own process) ---------------------------------------------------------------------

def phase_prepare(rows: int) -> dict:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, title TEXT, body TEXT, price NUMERIC(10,2), qty INT, ver BIGINT, "
                     f"updated_at TIMESTAMP(6) NOT NULL DEFAULT now())")
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY {TABLE} (id, title, body, price, qty, ver) FROM STDIN") as copy:
            for i in range(1, rows + 1):
                copy.write_row(row(i))
        conn.execute(f"VACUUM ANALYZE {TABLE}")
    return {"rows": rows, "copy_seconds": time.perf_counter() - started}


def phase_raw(rows: int, data_dir: str) -> dict:
    from weft.search.service import SearchService

    search = SearchService(Path(data_dir) / "raw")
    search.create_index(INDEX)
    started = time.perf_counter()
    batch = []
    for i in range(1, rows + 1):
        batch.append(document(row(i)))
        if len(batch) == 1000:
            search.apply_batch("bench", {"value": batch})
            batch = []
    if batch:
        search.apply_batch("bench", {"value": batch})
    seconds = time.perf_counter() - started
    search.close()
    # the documents are generated in this loop too; measure that share to report the engine alone
    started = time.perf_counter()
    for i in range(1, rows + 1):
        document(row(i))
    generate = time.perf_counter() - started
    return {"seconds": seconds, "generate_seconds": generate, "rows_per_s": rows / seconds,
            "rows_per_s_engine_only": rows / max(seconds - generate, 1e-9), "peak_rss_mb": peak_rss_mb()}


def phase_indexer(rows: int, data_dir: str) -> dict:
    from weft.indexers.service import IndexerService
    from weft.search.service import SearchService

    search = SearchService(Path(data_dir) / "ix-search")
    search.create_index(INDEX)
    service = IndexerService(Path(data_dir) / "ix", search, run_scheduler=False)
    service.create_datasource({"name": "pg", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": TABLE},
                               "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy",
                                                             "highWaterMarkColumnName": "updated_at"}})
    service.create_indexer({"name": "load", "dataSourceName": "pg", "targetIndexName": "bench", "disabled": True})
    started = time.perf_counter()
    result = service.run_and_wait("load")
    seconds = time.perf_counter() - started
    count = search.count("bench")
    service.close()
    search.close()
    return {"seconds": seconds, "rows_per_s": rows / seconds, "status": result["status"], "documents": count, "peak_rss_mb": peak_rss_mb()}


def phase_lag(seconds: float, data_dir: str, write_rate: float) -> dict:
    import psycopg

    from weft.indexers.service import IndexerService
    from weft.search.service import SearchService

    search = SearchService(Path(data_dir) / "lag-search")
    search.create_index(INDEX)
    service = IndexerService(Path(data_dir) / "lag", search, run_scheduler=True, resolution=0.02)
    service.create_datasource({"name": "pg", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": TABLE},
                               "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy",
                                                             "highWaterMarkColumnName": "updated_at"}})
    service.create_indexer({"name": "nrt", "dataSourceName": "pg", "targetIndexName": "bench", "schedule": {"interval": "PT0.2S"}})
    service.wait_idle("nrt", 3600)  # the initial load
    initial = service.status("nrt")["lastResult"]
    committed: dict[str, tuple[int, float]] = {}
    seen: list[float] = []
    stop = threading.Event()
    rows = search.count("bench")

    def writer():
        rng = random.Random(5)
        versions: dict[int, int] = {}
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            interval = 1.0 / write_rate
            next_at = time.perf_counter()
            while not stop.is_set():
                key = rng.randint(1, rows)
                ver = versions.get(key, 1) + 1
                versions[key] = ver
                conn.execute(f"UPDATE {TABLE} SET ver = %s, updated_at = now() WHERE id = %s", (ver, key))
                committed[str(key)] = (ver, time.perf_counter())
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))

    def watcher():
        pending: dict[str, tuple[int, float]] = {}
        while not stop.is_set():
            for key, value in list(committed.items()):
                if rng_sample(key):
                    pending[key] = value
            committed.clear()
            for key, (ver, at) in list(pending.items()):
                doc = search.lookup("bench", key)
                if doc is not None and doc["ver"] >= ver:
                    seen.append(time.perf_counter() - at)
                    del pending[key]
            time.sleep(0.005)

    def rng_sample(key: str) -> bool:
        return hash(key) % 4 == 0  # a quarter of the writes are followed to visibility

    threads = [threading.Thread(target=writer), threading.Thread(target=watcher)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    history = service.status("nrt")["executionHistory"]
    service.close()
    search.close()
    seen.sort()

    def pct(p):
        return seen[min(len(seen) - 1, int(p * len(seen)))] if seen else None

    return {"write_rate": write_rate, "samples": len(seen), "p50_s": pct(0.50), "p95_s": pct(0.95), "p99_s": pct(0.99),
            "max_s": seen[-1] if seen else None, "runs": len(history), "initial_load_status": initial["status"],
            "peak_rss_mb": peak_rss_mb()}


def in_subprocess(phase: str, *args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, *map(str, args)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"phase {phase} failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lag-seconds", type=float, default=30)
    parser.add_argument("--write-rate", type=float, default=100.0)
    parser.add_argument("--phase")
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    if ns.phase:
        fn = {"prepare": phase_prepare, "raw": phase_raw, "indexer": phase_indexer, "lag": phase_lag}[ns.phase]
        converted = [float(a) if "." in a else int(a) if a.isdigit() else a for a in ns.args]
        print(json.dumps(fn(*converted)))
        return
    data_dir = tempfile.mkdtemp(prefix="weft-bench-ix-")
    try:
        results = {"rows": ns.rows, "cpus": os.cpu_count()}
        results["prepare"] = in_subprocess("prepare", ns.rows)
        results["raw"] = in_subprocess("raw", ns.rows, data_dir)
        results["indexer"] = in_subprocess("indexer", ns.rows, data_dir)
        results["lag"] = in_subprocess("lag", f"{ns.lag_seconds:.1f}", data_dir, f"{ns.write_rate:.1f}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    (HERE / "results.json").write_text(json.dumps(results, indent=2))
    raw, ix, lag = results["raw"], results["indexer"], results["lag"]
    ratio = ix["rows_per_s"] / raw["rows_per_s"]
    lines = [
        "# Indexer benchmark",
        "",
        f"PostgreSQL table of {ns.rows:,} rows (~330 bytes each: id, 6-word title, 40-word body, numeric price, int qty, version),",
        f"{os.cpu_count()} CPUs, PostgreSQL and weft on the same machine. `python bench/indexers/run.py --rows {ns.rows}`.",
        "",
        "| measure | value | target (issue 3) |",
        "|---|---|---|",
        f"| raw ingest: `SearchService.apply_batch` in process, batches of 1000, documents generated in the loop | {raw['rows_per_s']:,.0f} docs/s (engine alone, generation excluded: {raw['rows_per_s_engine_only']:,.0f}) | |",
        f"| indexer initial load from PostgreSQL (read, map, validate, ledger, apply_batch, checkpoint) | {ix['rows_per_s']:,.0f} rows/s ({ix['seconds']:.1f} s, {ix['documents']:,} docs, {ix['status']}) | |",
        f"| indexer / raw ingest | {ratio:.0%} (vs engine alone: {ix['rows_per_s'] / raw['rows_per_s_engine_only']:.0%}) | >= 70% |",
        f"| peak RSS, indexer initial load process (search engine included) | {ix['peak_rss_mb']:.0f} MB | <= 512 MB |",
        f"| peak RSS, raw ingest process | {raw['peak_rss_mb']:.0f} MB | |",
        f"| commit-to-searchable lag, schedule PT0.2S, {lag['write_rate']:.0f} updates/s, {lag['samples']} sampled commits | p50 {lag['p50_s']:.2f} s, p95 {lag['p95_s']:.2f} s, p99 {lag['p99_s']:.2f} s, max {lag['max_s']:.2f} s | p99 <= 2 s |",
        "",
        "Lag is measured in process: a writer commits single-row updates at a steady rate and records the time",
        "COMMIT returned; a watcher looks the document up every few milliseconds until the new version is visible.",
        "In this mode each poll is one pass over the table's primary-key index filtered on `xmin` (PostgreSQL",
        "transaction-id fencing), so the lag grows with the table size.",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
