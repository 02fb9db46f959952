"""Commit-to-searchable lag: LISTEN/NOTIFY wake-ups vs sub-second polling (PT0.5S), PostgreSQL table.

    /work/main/.venv/bin/python bench/indexers/notify_lag.py [--commits 200] [--rate 10] [--seed-rows 1000] [--json out.json]

For each mode, a writer commits ``--commits`` single-row transactions at a steady ``--rate`` per
second into a small table (``--seed-rows`` rows to start with) while a watcher looks each new key up
in the index every millisecond. Lag = first time the document is found - time the COMMIT returned
(same process, same monotonic clock). The indexer service and the index run in this process, as in
``weft serve``. Needs PostgreSQL at WEFT_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from weft.indexers.notify import trigger_sql
from weft.indexers.service import IndexerService
from weft.search.service import SearchService

PG_URL = os.environ.get("WEFT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
HWM = {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": "updated_at"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(mode: str, commits: int, rate: float, seed_rows: int) -> dict:
    table = f"weft_bench_lag_{mode}_{os.getpid()}"
    channel = f"{table}_changed"
    work = Path(tempfile.mkdtemp(prefix="weft-lag-"))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, title TEXT, updated_at TIMESTAMP(6) NOT NULL DEFAULT now())")
        conn.execute(f"INSERT INTO {table} (id, title) SELECT i, 'seed ' || i FROM generate_series(1, {seed_rows}) AS i")
        if mode == "notify":
            conn.execute(trigger_sql(table, channel))
    search = SearchService(work / "search")
    search.create_index({"name": "items", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                                      {"name": "title", "type": "Edm.String", "searchable": True}]})
    service = IndexerService(work / "indexers", search)
    try:
        ds = {"name": "src", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": table},
              "dataChangeDetectionPolicy": HWM}
        if mode == "notify":
            ds["weftNotify"] = {"channel": channel}
        service.create_datasource(ds)
        service.create_indexer({"name": "ix", "dataSourceName": "src", "targetIndexName": "items",
                                "schedule": {"interval": "PT1H" if mode == "notify" else "PT0.5S"}})
        deadline = time.monotonic() + 60
        while search.count("items") < seed_rows or service.is_running("ix"):
            if time.monotonic() > deadline:
                raise RuntimeError("the initial load did not finish")
            time.sleep(0.05)
        time.sleep(1.0)
        started = [0]  # runs started during the measurement (the history keeps only 50)
        start_run = service._start

        def counting(name: str) -> bool:
            ok = start_run(name)
            started[0] += ok
            return ok

        service._start = counting  # type: ignore[method-assign]

        committed: dict[int, float] = {}
        seen: dict[int, float] = {}
        lock = threading.Lock()
        done = threading.Event()

        def watch() -> None:
            while not done.is_set() or len(seen) < len(committed):
                with lock:
                    pending = [k for k in committed if k not in seen]
                for key in pending:
                    if search.lookup("items", str(key)) is not None:
                        seen[key] = time.monotonic()
                time.sleep(0.001)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            begin = time.monotonic()
            for i in range(commits):
                key = seed_rows + 1 + i
                delay = begin + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                conn.execute(f"INSERT INTO {table} (id, title) VALUES (%s, 'probe')", (key,))
                with lock:
                    committed[key] = time.monotonic()
        done.set()
        watcher.join(120)
        lags = [seen[k] - committed[k] for k in committed if k in seen]
        return {
            "mode": mode, "commits": commits, "rate": rate, "seedRows": seed_rows, "missing": commits - len(lags),
            "p50": percentile(lags, 0.50), "p90": percentile(lags, 0.90), "p99": percentile(lags, 0.99),
            "max": max(lags), "mean": statistics.fmean(lags),
            "runs": started[0],
        }
    finally:
        service.close()
        search.close()
        shutil.rmtree(work, ignore_errors=True)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="commits per second")
    parser.add_argument("--seed-rows", type=int, default=1000)
    parser.add_argument("--modes", default="notify,poll")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    results = [measure(mode, args.commits, args.rate, args.seed_rows) for mode in args.modes.split(",")]
    print(f"commit-to-searchable lag, {args.commits} single-row commits at {args.rate:g}/s, table of {args.seed_rows} rows\n")
    print("| mode | p50 ms | p90 ms | p99 ms | max ms | mean ms | runs | missing |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        label = "LISTEN/NOTIFY (schedule PT1H)" if r["mode"] == "notify" else "polling PT0.5S"
        print(f"| {label} | {r['p50'] * 1000:.0f} | {r['p90'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {r['max'] * 1000:.0f} | "
              f"{r['mean'] * 1000:.0f} | {r['runs']} | {r['missing']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
