"""Indexer benchmark for issue 3, in one command: initial load from PostgreSQL against the engine's raw
ingest of the same documents, peak RSS, commit-to-searchable lag in three near-real-time modes, and
one hard-delete reconciliation (old ledger walk against hash buckets).

    /work/main/.venv/bin/python bench/indexers/run.py                   # the full measurement (~30-40 min)
    /work/main/.venv/bin/python bench/indexers/run.py --rows 20000 --pair-rows 5000 --pairs 2 \
        --lag-seconds 8 --reconcile-rows 20000 --max-wait 0 --out /tmp/weft-smoke   # smoke test

What runs, in this order, every phase in its own subprocess (peak RSS is per phase):

1. ``--pairs`` interleaved pairs at ``--pair-rows`` rows (raw, indexer, raw, indexer, ...) on a table of
   that size: the median and the spread of the per-pair ratios indexer/raw. Pairing puts the two halves
   of a ratio a minute or two apart, so machine noise hits both alike.
2. One pair at ``--rows`` rows (1M): the headline rows/s and the indexer's peak RSS.
3. Commit-to-searchable lag on the ``--rows`` table indexed in step 2 (the indexer's cursor is past the
   initial load, so no mode pays for it): one subprocess per mode, ``--lag-modes`` of
   ``poll0.5`` (schedule PT0.5S), ``poll0.2`` (PT0.2S) and ``notify`` (LISTEN/NOTIFY wake-ups through
   :func:`weft.indexers.notify.trigger_sql`'s trigger, schedule PT1H so polling cannot explain the
   result). A writer commits single-row UPDATEs (``ver = ver + 1 ... RETURNING ver``) at
   ``--write-rate`` per second for ``--lag-seconds`` and records when COMMIT returned (autocommit); a
   watcher thread in the same process looks a quarter of the written keys up every 5 ms until the
   committed version is visible (lag = first seen - COMMIT returned, one monotonic clock). Each 5 ms
   pass walks the pending keys in commit order and stops at the first one not yet visible, with a
   full pass every 100 ms (see ``watcher``): the lookups compete with the indexer for the GIL. After
   the writer stops the watcher drains for up to 30 s, so slow commits are not dropped from the
   tail; commits still unseen then are reported as ``unseen``.
4. ``bench/indexers/reconcile.py --rows --reconcile-rows --deletes --deletes`` (its own table).

The raw phase is the engine's own path with the same documents: the same generator, batches of
1000, ``SearchService.apply_batch`` (the indexer's ``LocalTarget`` calls the same method), documents
generated inside the timed loop (the indexer pays for reading and converting rows in its loop too).

Before starting, waits (polling every 30 s, up to ``--max-wait`` seconds) until no process matches
``--wait-for`` (another benchmark sharing the machine); whether one was still running, and
``os.getloadavg()``, are recorded at every phase start. Writes ``--out``/results.json after every
phase (``"complete": false`` until the end) and ``--out``/RESULTS.md (generated tables) at the end;
progress goes to stderr. Needs PostgreSQL at WEFT_BENCH_PG_URL
(default postgresql://postgres@127.0.0.1:5432/test). Drops its tables at the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
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
CHANNEL = "weft_bench_items_changed"
BATCH = 1000
INDEX = {"name": "bench", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "title", "type": "Edm.String", "searchable": True},
    {"name": "body", "type": "Edm.String", "searchable": True},
    {"name": "price", "type": "Edm.Double", "filterable": True, "sortable": True},
    {"name": "qty", "type": "Edm.Int32", "filterable": True},
    {"name": "ver", "type": "Edm.Int64", "filterable": True},
]}
WORDS = [f"w{i:x}" for i in range(5000)]
LAG_MODES = {"poll0.5": ("PT0.5S", False), "poll0.2": ("PT0.2S", False), "notify": ("PT1H", True)}
DRAIN_SECONDS = 30.0


def row(i: int) -> tuple:
    rng = random.Random(i)
    title = " ".join(rng.choice(WORDS) for _ in range(6))
    body = " ".join(rng.choice(WORDS) for _ in range(40))
    return i, title, body, round(rng.uniform(1, 500), 2), rng.randint(0, 1000), 1


def document(r: tuple) -> dict:
    return {"@search.action": "mergeOrUpload", "id": str(r[0]), "title": r[1], "body": r[2], "price": float(r[3]), "qty": r[4], "ver": r[5]}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered: list[float], q: float) -> float | None:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


def datasource_body(notify: bool) -> dict:
    body = {"name": "pg", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": TABLE},
            "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy",
                                          "highWaterMarkColumnName": "updated_at"}}
    if notify:
        body["weftNotify"] = {"channel": CHANNEL}
    return body


def indexer_body(schedule: str | None) -> dict:
    body = {"name": "load", "dataSourceName": "pg", "targetIndexName": "bench", "parameters": {"batchSize": BATCH}}
    if schedule is None:
        body["disabled"] = True
    else:
        body["schedule"] = {"interval": schedule}
    return body


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
        size = conn.execute(f"SELECT pg_total_relation_size('{TABLE}')").fetchone()[0]
    return {"rows": rows, "copy_seconds": time.perf_counter() - started, "table_mb": size / 2**20}


def phase_drop() -> dict:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return {}


def phase_raw(rows: int, data_dir: str) -> dict:
    from weft.search.service import SearchService

    search = SearchService(Path(data_dir))
    search.create_index(INDEX)
    cpu0, started = cpu_seconds(), time.perf_counter()
    batch = []
    for i in range(1, rows + 1):
        batch.append(document(row(i)))
        if len(batch) == BATCH:
            search.apply_batch("bench", {"value": batch})
            batch = []
    if batch:
        search.apply_batch("bench", {"value": batch})
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    count = search.count("bench")
    search.close()
    # the documents are generated in the timed loop; measure that share to also report the engine alone
    started = time.perf_counter()
    for i in range(1, rows + 1):
        document(row(i))
    generate = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "cpu_seconds": cpu, "generate_seconds": generate, "rows_per_s": rows / seconds,
            "rows_per_s_engine_only": rows / max(seconds - generate, 1e-9), "documents": count, "peak_rss_mb": peak_rss_mb()}


def phase_indexer(rows: int, data_dir: str) -> dict:
    from weft.indexers.service import IndexerService
    from weft.search.service import SearchService

    search = SearchService(Path(data_dir) / "search")
    search.create_index(INDEX)
    service = IndexerService(Path(data_dir) / "indexers", search, run_scheduler=False)
    service.create_datasource(datasource_body(notify=False))
    service.create_indexer(indexer_body(schedule=None))
    cpu0, started = cpu_seconds(), time.perf_counter()
    result = service.run_and_wait("load")
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    count = search.count("bench")
    service.close()
    search.close()
    return {"rows": rows, "seconds": seconds, "cpu_seconds": cpu, "rows_per_s": rows / seconds, "status": result["status"],
            "error": result.get("errorMessage"), "documents": count, "peak_rss_mb": peak_rss_mb()}


def phase_lag(mode: str, seconds: float, write_rate: float, data_dir: str) -> dict:
    """One near-real-time mode over the index and indexer store left by the full-size indexer phase."""
    import psycopg

    from weft.indexers.notify import trigger_sql
    from weft.indexers.service import IndexerService
    from weft.search.service import SearchService

    schedule, notify = LAG_MODES[mode]
    opened = time.perf_counter()
    search = SearchService(Path(data_dir) / "search")
    rows = search.count("bench")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        if notify:
            conn.execute(trigger_sql(TABLE, CHANNEL))
        else:
            conn.execute(f"DROP TRIGGER IF EXISTS weft_notify ON {TABLE}")
    service = IndexerService(Path(data_dir) / "indexers", search, run_scheduler=True, resolution=0.02)
    starts: list[float] = []  # monotonic times of the runs started (the execution history keeps only 50)
    start_run = service._start

    def counting(name: str) -> bool:
        ok = start_run(name)
        if ok:
            starts.append(time.monotonic())
        return ok

    service._start = counting  # type: ignore[method-assign]
    try:
        service.create_or_update_datasource("pg", datasource_body(notify))
        service.create_or_update_indexer("load", indexer_body(schedule))
        open_seconds = time.perf_counter() - opened
        time.sleep(2.0)  # the first poll / the listener's connect catch-up run
        service.wait_idle("load", 600)

        commits: queue.SimpleQueue = queue.SimpleQueue()
        seen: list[float] = []
        commit_latency: list[float] = []
        writer_done = threading.Event()
        lookups = [0]
        unseen = [0]
        series: list[tuple[float, float]] = []  # (commit time from the start, lag) per sampled commit
        begin_at = [time.perf_counter()]

        def writer() -> None:
            rng = random.Random(5)
            interval = 1.0 / write_rate
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                begin = begin_at[0] = time.perf_counter()
                next_at = begin
                while time.perf_counter() - begin < seconds:
                    key = rng.randint(1, rows)
                    sent = time.perf_counter()
                    ver = conn.execute(f"UPDATE {TABLE} SET ver = ver + 1, updated_at = now() WHERE id = %s RETURNING ver", (key,)).fetchone()[0]
                    done = time.perf_counter()  # autocommit: COMMIT has returned
                    commit_latency.append(done - sent)
                    commits.put((str(key), ver, done))
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.perf_counter()))
            writer_done.set()

        def watcher() -> None:
            # pending keys in commit order. One writer connection commits one row at a time, so commit
            # order is transaction-id order, and the indexer reads [floor, ceiling) windows in that
            # order; a window of up to one batch (1000 rows, 10 s of writes) is one engine commit, made
            # visible at once. So a pass can stop at the first commit not yet visible: the later ones are
            # not either. Every 20th pass (100 ms) checks them all anyway (a window of several batches
            # is written in key order, not commit order). This keeps the watcher's own lookups, which
            # compete for the GIL with the indexer in this process, at a few hundred per second.
            pending: dict[str, tuple[int, float]] = {}
            drain_until = None
            passes = 0
            while True:
                while True:
                    try:
                        key, ver, at = commits.get_nowait()
                    except queue.Empty:
                        break
                    if hash(key) % 4 == 0:  # a quarter of the writes are followed to visibility
                        pending.pop(key, None)  # a later write of a pending key replaces it, at the end
                        pending[key] = (ver, at)
                passes += 1
                sweep = passes % 20 == 0
                for key, (ver, at) in list(pending.items()):
                    lookups[0] += 1
                    doc = search.lookup("bench", key)
                    if doc is not None and doc["ver"] >= ver:
                        now = time.perf_counter()
                        seen.append(now - at)
                        series.append((at - begin_at[0], now - at))
                        del pending[key]
                    elif not sweep:
                        break
                if writer_done.is_set() and commits.empty():
                    if drain_until is None:
                        drain_until = time.perf_counter() + DRAIN_SECONDS
                    if not pending or time.perf_counter() > drain_until:
                        break
                time.sleep(0.005)
            unseen[0] = len(pending)

        measure_start = time.monotonic()
        measure_wall = time.time()
        cpu0 = cpu_seconds()
        threads = [threading.Thread(target=writer), threading.Thread(target=watcher)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        measure_seconds = time.monotonic() - measure_start
        cpu = cpu_seconds() - cpu0
        status = service.status("load")
        durations = []
        for run in status["executionHistory"]:
            if run.get("startTime") and run.get("endTime") and run["status"] != "reset":
                begin = dt.datetime.fromisoformat(run["startTime"].replace("Z", "+00:00")).timestamp()
                if begin >= measure_wall:
                    end = dt.datetime.fromisoformat(run["endTime"].replace("Z", "+00:00")).timestamp()
                    durations.append(end - begin)
        durations.sort()
        failed = [r["status"] for r in status["executionHistory"] if r["status"] not in ("success", "reset", "inProgress")]
        notifications = status.get("weftNotify", {}).get("notificationsReceived")
    finally:
        service.close()
        search.close()
        if notify:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP TRIGGER IF EXISTS weft_notify ON {TABLE}")
    seen.sort()
    commit_latency.sort()
    buckets: dict[int, float] = {}
    for at, lag in series:  # worst lag per 5 s of commits: shows a stall, or a lag that grows
        buckets[int(at // 5)] = max(buckets.get(int(at // 5), 0.0), lag)
    runs = sum(1 for s in starts if s >= measure_start)
    return {"mode": mode, "schedule": schedule, "notify": notify, "rows": rows, "write_rate": write_rate, "seconds": seconds,
            "commits": len(commit_latency), "achieved_rate": len(commit_latency) / seconds, "samples": len(seen), "unseen": unseen[0],
            "p50_s": percentile(seen, 0.50), "p95_s": percentile(seen, 0.95), "p99_s": percentile(seen, 0.99),
            "max_s": seen[-1] if seen else None, "mean_s": statistics.fmean(seen) if seen else None,
            "commit_p50_ms": (percentile(commit_latency, 0.5) or 0) * 1000, "runs": runs, "runs_per_s": runs / measure_seconds,
            "run_seconds_p50": percentile(durations, 0.5), "run_seconds_p90": percentile(durations, 0.9),
            "run_seconds_max": durations[-1] if durations else None, "run_durations_sampled": len(durations),
            "failed_runs_in_history": len(failed),
            "max_lag_per_5s": [round(buckets[b], 3) for b in sorted(buckets)], "notifications": notifications, "lookups": lookups[0],
            "process_cpu_share": cpu / measure_seconds, "open_seconds": open_seconds, "peak_rss_mb": peak_rss_mb()}


PHASES = {"prepare": phase_prepare, "drop": phase_drop, "raw": phase_raw, "indexer": phase_indexer, "lag": phase_lag}


# ---- orchestration ---------------------------------------------------------------------------------------------

def other_running(pattern: str) -> bool:
    if not pattern:
        return False
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Runner:
    def __init__(self, out: Path, results: dict, wait_for: str):
        self.out = out
        self.results = results
        self.wait_for = wait_for
        self.t0 = time.monotonic()

    def save(self) -> None:
        (self.out / "results.json").write_text(json.dumps(self.results, indent=2))

    def phase(self, label: str, name: str, *args) -> dict:
        load = os.getloadavg()
        other = other_running(self.wait_for)
        log(f"{label}: start (load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}{', other benchmark running' if other else ''})")
        started = time.monotonic()
        out = subprocess.run([sys.executable, __file__, "--phase", name, "--phase-args", json.dumps(args)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"phase {label} failed: {out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result.update(label=label, loadavg_at_start=[round(x, 2) for x in load], other_bench_running=other,
                      wall_seconds=time.monotonic() - started, started_at_s=started - self.t0)
        self.results["phases"].append(result)
        self.save()
        shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()
                 if k in ("rows_per_s", "seconds", "peak_rss_mb", "status", "documents", "p50_s", "p99_s", "samples", "unseen", "runs")}
        log(f"{label}: done in {result['wall_seconds']:.0f} s {shown}")
        return result


def wait_for_idle(pattern: str, max_wait: float) -> dict:
    started = time.monotonic()
    while other_running(pattern):
        if time.monotonic() - started >= max_wait:
            log(f"'{pattern}' still running after {max_wait:.0f} s: going ahead")
            return {"waited_s": time.monotonic() - started, "still_running": True}
        log(f"waiting for '{pattern}' to finish")
        time.sleep(30)
    return {"waited_s": time.monotonic() - started, "still_running": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="the full-size pair, the lag table")
    parser.add_argument("--pair-rows", type=int, default=200_000, help="rows of each interleaved ratio pair")
    parser.add_argument("--pairs", type=int, default=3, help="interleaved raw/indexer pairs at --pair-rows")
    parser.add_argument("--lag-seconds", type=float, default=60.0)
    parser.add_argument("--write-rate", type=float, default=100.0, help="single-row commits per second in the lag phases")
    parser.add_argument("--lag-modes", default="poll0.5,poll0.2,notify")
    parser.add_argument("--reconcile-rows", type=int, default=None, help="default: --rows; 0 skips the reconciliation")
    parser.add_argument("--deletes", type=int, default=100)
    parser.add_argument("--wait-for", default="bench/vectors/run.py", help="pgrep -f pattern of another benchmark to wait for")
    parser.add_argument("--max-wait", type=float, default=2400.0)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--render-only", action="store_true", help="rewrite --out/RESULTS.md from --out/results.json")
    parser.add_argument("--phase")
    parser.add_argument("--phase-args", default="[]")
    ns = parser.parse_args()
    if ns.phase:
        print(json.dumps(PHASES[ns.phase](*json.loads(ns.phase_args))))
        return
    if ns.render_only:
        results = json.loads((ns.out / "results.json").read_text())
        results["summary"] = summarize(results)
        (ns.out / "results.json").write_text(json.dumps(results, indent=2))
        (ns.out / "RESULTS.md").write_text(render(results))
        return
    ns.out.mkdir(parents=True, exist_ok=True)
    reconcile_rows = ns.rows if ns.reconcile_rows is None else ns.reconcile_rows
    command = "python bench/indexers/run.py " + " ".join(sys.argv[1:])
    results = {"complete": False, "command": command.strip(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "cpus": os.cpu_count(),
               "config": {"rows": ns.rows, "pair_rows": ns.pair_rows, "pairs": ns.pairs, "lag_seconds": ns.lag_seconds,
                          "write_rate": ns.write_rate, "lag_modes": ns.lag_modes.split(","), "reconcile_rows": reconcile_rows,
                          "deletes": ns.deletes, "batch_size": BATCH},
               "phases": []}
    results["wait"] = wait_for_idle(ns.wait_for, ns.max_wait)
    runner = Runner(ns.out, results, ns.wait_for)
    data_dir = Path(tempfile.mkdtemp(prefix="weft-bench-ix-"))
    try:
        if ns.pairs:
            runner.phase(f"prepare {ns.pair_rows}", "prepare", ns.pair_rows)
            for p in range(1, ns.pairs + 1):
                for kind in ("raw", "indexer"):
                    where = data_dir / f"{kind}-pair{p}"
                    runner.phase(f"pair {p} {kind} {ns.pair_rows}", kind, ns.pair_rows, str(where))
                    shutil.rmtree(where, ignore_errors=True)
        runner.phase(f"prepare {ns.rows}", "prepare", ns.rows)
        runner.phase(f"full raw {ns.rows}", "raw", ns.rows, str(data_dir / "raw-full"))
        shutil.rmtree(data_dir / "raw-full", ignore_errors=True)
        runner.phase(f"full indexer {ns.rows}", "indexer", ns.rows, str(data_dir / "ix-full"))
        for mode in ns.lag_modes.split(","):
            if mode:
                runner.phase(f"lag {mode}", "lag", mode, ns.lag_seconds, ns.write_rate, str(data_dir / "ix-full"))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        runner.phase("drop table", "drop")
    if reconcile_rows:
        load = os.getloadavg()
        log(f"reconcile {reconcile_rows}: start (load {load[0]:.2f})")
        started = time.monotonic()
        target = ns.out / "reconcile-results.json"
        subprocess.run([sys.executable, str(HERE / "reconcile.py"), "--rows", str(reconcile_rows), "--deletes", str(ns.deletes),
                        "--json", str(target)], check=True, stdout=sys.stderr)
        results["reconcile"] = {**json.loads(target.read_text()), "loadavg_at_start": [round(x, 2) for x in load],
                                "other_bench_running": other_running(ns.wait_for), "wall_seconds": time.monotonic() - started}
    results["complete"] = True
    results["wall_seconds"] = time.monotonic() - runner.t0
    results["summary"] = summarize(results)
    runner.save()
    text = render(results)
    (ns.out / "RESULTS.md").write_text(text)
    print(text)
    log(f"all done in {results['wall_seconds'] / 60:.1f} min")


def summarize(results: dict) -> dict:
    phases = results["phases"]
    cfg = results["config"]
    pairs = []
    for p in range(1, cfg["pairs"] + 1):
        raw = next(x for x in phases if x["label"].startswith(f"pair {p} raw"))
        ix = next(x for x in phases if x["label"].startswith(f"pair {p} indexer"))
        pairs.append({"pair": p, "raw_rows_per_s": raw["rows_per_s"], "indexer_rows_per_s": ix["rows_per_s"],
                      "ratio": ix["rows_per_s"] / raw["rows_per_s"], "ratio_vs_engine_only": ix["rows_per_s"] / raw["rows_per_s_engine_only"]})
    raw = next(x for x in phases if x["label"].startswith("full raw"))
    ix = next(x for x in phases if x["label"].startswith("full indexer"))
    ratios = [p["ratio"] for p in pairs]
    lag = {x["mode"]: {k: x[k] for k in ("p50_s", "p95_s", "p99_s", "max_s", "samples", "unseen")} for x in phases if x["label"].startswith("lag")}
    summary = {
        "pairs": pairs,
        "ratio_median": statistics.median(ratios) if ratios else None,
        "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
        "full": {"raw_rows_per_s": raw["rows_per_s"], "indexer_rows_per_s": ix["rows_per_s"], "ratio": ix["rows_per_s"] / raw["rows_per_s"],
                 "indexer_peak_rss_mb": ix["peak_rss_mb"], "raw_peak_rss_mb": raw["peak_rss_mb"]},
        "lag": lag,
    }
    if "reconcile" in results:
        summary["reconcile"] = {r["method"]: {"seconds": r["seconds"], "statements": r["statements"], "correct": r["correct"]}
                                for r in results["reconcile"]["runs"]}
    return summary


def render(results: dict) -> str:
    cfg, s, phases = results["config"], results["summary"], results["phases"]
    full, ratio = s["full"], s["ratio_median"]
    ix_full = next(x for x in phases if x["label"].startswith("full indexer"))
    raw_full = next(x for x in phases if x["label"].startswith("full raw"))

    def met(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "**missed**")

    def verdict(median_ok: bool, full_ok: bool) -> str:
        if median_ok and full_ok:
            return "met"
        if median_ok:
            return "met by the median of the pairs; **missed** by the full-size pair"
        return "**missed**" if not full_ok else "**missed** by the median of the pairs; met by the full-size pair"

    lines = [
        "# Indexer benchmark (generated tables)",
        "",
        f"`{results['command']}`, started {results['started']}, {results['cpus']} CPUs, wall clock {results['wall_seconds'] / 60:.1f} min.",
        "",
        "## Against issue 3's targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    if ratio is not None:
        lines.append(f"| initial load >= 70% of raw ingest | median of {len(s['pairs'])} interleaved pairs at {cfg['pair_rows']:,} rows: "
                     f"{ratio:.0%} (spread {s['ratio_min']:.0%}-{s['ratio_max']:.0%}); {cfg['rows']:,}-row pair: {full['ratio']:.0%} | "
                     f"{verdict(ratio >= 0.70, full['ratio'] >= 0.70)} |")
    lines.append(f"| peak RSS <= 512 MB | indexer initial-load process at {cfg['rows']:,} rows: {full['indexer_peak_rss_mb']:.0f} MB "
                 f"(search engine in the same process) | {met(full['indexer_peak_rss_mb'] <= 512)} |")
    for mode, lag in s["lag"].items():
        schedule, notify = LAG_MODES[mode]
        label = f"LISTEN/NOTIFY, schedule {schedule}" if notify else f"polling {schedule}"
        p99 = lag["p99_s"]
        lines.append(f"| lag p99 <= 2 s ({label}) | p99 {p99:.2f} s over {lag['samples']} commits"
                     f"{', ' + str(lag['unseen']) + ' never seen' if lag['unseen'] else ''} | {met(p99 is not None and p99 <= 2.0 and not lag['unseen'])} |")
    lines += ["", "## Initial load: interleaved pairs", "",
              "| pair | rows | raw ingest rows/s | indexer rows/s | indexer / raw | indexer / engine alone | load avg at raw / indexer start |",
              "|---|---|---|---|---|---|---|"]
    for p in s["pairs"]:
        raw = next(x for x in phases if x["label"].startswith(f"pair {p['pair']} raw"))
        ix = next(x for x in phases if x["label"].startswith(f"pair {p['pair']} indexer"))
        lines.append(f"| {p['pair']} | {cfg['pair_rows']:,} | {p['raw_rows_per_s']:,.0f} | {p['indexer_rows_per_s']:,.0f} | {p['ratio']:.0%} | "
                     f"{p['ratio_vs_engine_only']:.0%} | {raw['loadavg_at_start'][0]:.2f} / {ix['loadavg_at_start'][0]:.2f} |")
    lines.append(f"| full | {cfg['rows']:,} | {full['raw_rows_per_s']:,.0f} | {full['indexer_rows_per_s']:,.0f} | {full['ratio']:.0%} | "
                 f"{full['indexer_rows_per_s'] / raw_full['rows_per_s_engine_only']:.0%} | "
                 f"{raw_full['loadavg_at_start'][0]:.2f} / {ix_full['loadavg_at_start'][0]:.2f} |")
    lines += ["", f"{cfg['rows']:,}-row phases: raw {raw_full['seconds']:.0f} s ({raw_full['cpu_seconds']:.0f} CPU-s, of which document "
              f"generation {raw_full['generate_seconds']:.0f} s), peak RSS {raw_full['peak_rss_mb']:.0f} MB; indexer {ix_full['seconds']:.0f} s "
              f"({ix_full['cpu_seconds']:.0f} CPU-s in the weft process, PostgreSQL's own CPU not included), {ix_full['documents']:,} documents, "
              f"{ix_full['status']}, peak RSS {ix_full['peak_rss_mb']:.0f} MB."]
    lines += ["", f"## Commit-to-searchable lag on the {cfg['rows']:,}-row table, {cfg['write_rate']:g} single-row commits/s for {cfg['lag_seconds']:g} s",
              "", "| mode | sampled commits | p50 s | p95 s | p99 s | max s | unseen | runs (per s) | run duration p50 / p90 / max s | "
              "notifications | commit p50 ms | process CPU | load avg at start |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in phases:
        if not x["label"].startswith("lag"):
            continue
        label = f"LISTEN/NOTIFY (schedule {x['schedule']})" if x["notify"] else f"polling {x['schedule']}"

        def f(v):
            return "-" if v is None else f"{v:.2f}"

        lines.append(f"| {label} | {x['samples']} of {x['commits']} commits | {f(x['p50_s'])} | {f(x['p95_s'])} | {f(x['p99_s'])} | "
                     f"{f(x['max_s'])} | {x['unseen']} | {x['runs']} ({x['runs_per_s']:.1f}) | "
                     f"{f(x['run_seconds_p50'])} / {f(x['run_seconds_p90'])} / {f(x['run_seconds_max'])} | "
                     f"{x['notifications'] if x['notifications'] is not None else '-'} | {x['commit_p50_ms']:.1f} | {x['process_cpu_share']:.0%} | "
                     f"{x['loadavg_at_start'][0]:.2f} |")
    if "reconcile" in results:
        rec = results["reconcile"]
        lines += ["", f"## Hard-delete reconciliation: {rec['rows']:,} rows, {rec['deletes']} deleted", "",
                  "| method | seconds | source statements | keys sent or listed | ledger entries read | deleted | correct | peak RSS |",
                  "|---|---|---|---|---|---|---|---|"]
        for run in rec["runs"]:
            r = run["report"]
            lines.append(f"| {run['method']} | {run['seconds']:.2f} | {run['statements']:,} | {r['keysListed']:,} | {r['ledgerEntriesRead']:,} | "
                         f"{r['ghostsDeleted']} | {run['correct']} | {run['peak_rss_mb']:.0f} MB |")
        hashed = next((r["report"] for r in rec["runs"] if r["method"] == "hashBuckets"), None)
        if hashed:
            lines += ["", f"Hash buckets: {hashed['bucketsCompared']} buckets compared, {hashed['bucketsMismatched']} mismatched, "
                      f"{hashed['rangesListed']} ranges listed, {hashed['keysLookedUp']} ghost lookups."]
    lines += ["", "## Phases (load average at start)", "", "| phase | started at min | wall s | load avg 1/5/15 | other benchmark running |", "|---|---|---|---|---|"]
    for x in phases:
        lines.append(f"| {x['label']} | {x['started_at_s'] / 60:.1f} | {x['wall_seconds']:.0f} | {' / '.join(f'{v:.2f}' for v in x['loadavg_at_start'])} | "
                     f"{'yes' if x['other_bench_running'] else 'no'} |")
    if "reconcile" in results:
        rec = results["reconcile"]
        lines.append(f"| reconcile {rec['rows']:,} | - | {rec['wall_seconds']:.0f} | {' / '.join(f'{v:.2f}' for v in rec['loadavg_at_start'])} | "
                     f"{'yes' if rec['other_bench_running'] else 'no'} |")
    wait = results["wait"]
    lines += ["", f"Waited {wait['waited_s']:.0f} s for other benchmarks before starting"
              f"{' and went ahead while one was still running' if wait['still_running'] else ''}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
