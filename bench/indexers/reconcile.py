"""One hard-delete reconciliation over a large PostgreSQL table with a few deleted rows: the ledger
walk (every ledger key is sent to the source) against hash buckets (per-bucket count and checksum,
then only the keys of mismatched buckets).

    /work/main/.venv/bin/python bench/indexers/reconcile.py [--rows 1000000] [--deletes 100]

Builds its own table ``weft_bench_reconcile`` (``id BIGINT PRIMARY KEY, title TEXT``, by
``generate_series``), a key ledger holding every row as an indexer's would, deletes ``--deletes``
random rows, then runs ``weft.indexers.reconcile.reconcile`` once per method, each in its own
process (peak RSS per method) over its own copy of the ledger, with a target that only counts the
deletes (deleting from the index costs the same for both methods). Source statements are counted
with a SQLAlchemy ``before_cursor_execute`` listener. Writes ``--json`` (default
``bench/indexers/reconcile-results.json``) and prints a Markdown table. ``bench/indexers/run.py`` runs it
as its last step. Needs PostgreSQL at WEFT_BENCH_PG_URL
(default postgresql://postgres@127.0.0.1:5432/test). The table is dropped at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("WEFT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TABLE = "weft_bench_reconcile"
LEDGER_CHUNK = 20_000


def phase_prepare(rows: int, deletes: int, data_dir: str) -> dict:
    import psycopg

    from weft.indexers.store import IndexerStore

    started = time.perf_counter()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, title TEXT NOT NULL)")
        conn.execute(f"INSERT INTO {TABLE} SELECT i, 'title ' || i FROM generate_series(1, {int(rows)}) AS i")
        conn.execute(f"VACUUM ANALYZE {TABLE}")
    table_seconds = time.perf_counter() - started
    started = time.perf_counter()
    store = IndexerStore(Path(data_dir) / "ledger.sqlite3")
    for low in range(1, rows + 1, LEDGER_CHUNK):
        store.ledger_add("bench", [(str(i), i) for i in range(low, min(rows, low + LEDGER_CHUNK - 1) + 1)])
    store.close()
    ledger_seconds = time.perf_counter() - started
    gone = sorted(random.Random(11).sample(range(1, rows + 1), deletes))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", (gone,))
    return {"rows": rows, "deleted": gone, "table_seconds": table_seconds, "ledger_seconds": ledger_seconds}


def phase_reconcile(method: str, data_dir: str) -> dict:
    import sqlalchemy as sa

    from weft.indexers.model import parse_data_source, parse_indexer
    from weft.indexers.reconcile import reconcile
    from weft.indexers.runner import RunContext, RunOutcome
    from weft.indexers.sources import open_source
    from weft.indexers.sources.sql import create_source_engine
    from weft.indexers.store import IndexerStore
    from weft.indexers.targets import ItemOutcome

    class CountingTarget:
        def __init__(self):
            self.deleted: list[str] = []

        def apply(self, actions):
            keys = [a["id"] for a in actions]
            self.deleted += keys
            return [ItemOutcome(k, True, 200, None) for k in keys]

    ledger = Path(data_dir) / f"ledger-{method}.sqlite3"
    shutil.copy(Path(data_dir) / "ledger.sqlite3", ledger)
    ds = parse_data_source({"name": "pg", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": TABLE},
                            "dataDeletionDetectionPolicy": {"@odata.type": "#Weft.HardDeleteReconciliationPolicy"}})
    ix = parse_indexer({"name": "bench", "dataSourceName": "pg", "targetIndexName": "bench"})
    engine = create_source_engine(ds)
    statements = [0]
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))
    source = open_source(ds, engine)
    source.configure("id", None)
    store = IndexerStore(ledger)
    target = CountingTarget()
    ctx = RunContext(ix, ds, source, target, store)
    started = time.perf_counter()
    report = reconcile(ctx, RunOutcome(), "id", method=method)
    seconds = time.perf_counter() - started
    left = store.ledger_count("bench")
    store.close()
    engine.dispose()
    return {"method": method, "seconds": seconds, "statements": statements[0], "report": report.to_json(),
            "deleted": sorted(int(k) for k in target.deleted), "ledger_left": left,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def phase_cleanup() -> dict:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return {}


def in_subprocess(phase: str, *args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, *map(str, args)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"phase {phase} failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--deletes", type=int, default=100)
    parser.add_argument("--json", type=Path, default=HERE / "reconcile-results.json", help="where to write the results")
    parser.add_argument("--phase")
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    if ns.phase:
        fn = {"prepare": phase_prepare, "reconcile": phase_reconcile, "cleanup": phase_cleanup}[ns.phase]
        print(json.dumps(fn(*[int(a) if a.isdigit() else a for a in ns.args])))
        return
    data_dir = tempfile.mkdtemp(prefix="weft-bench-reconcile-")
    try:
        prepared = in_subprocess("prepare", ns.rows, ns.deletes, data_dir)
        runs = [in_subprocess("reconcile", method, data_dir) for method in ("ledgerWalk", "hashBuckets")]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        in_subprocess("cleanup")
    for run in runs:
        run["correct"] = run["deleted"] == prepared["deleted"] and run["ledger_left"] == ns.rows - ns.deletes
        del run["deleted"]
    results = {"rows": ns.rows, "deletes": ns.deletes, "cpus": os.cpu_count(), "prepare": {k: v for k, v in prepared.items() if k != "deleted"},
               "runs": runs}
    ns.json.write_text(json.dumps(results, indent=2))
    lines = [
        f"One reconciliation, PostgreSQL table of {ns.rows:,} rows with {ns.deletes} deleted, ledger of {ns.rows:,} keys, "
        f"{os.cpu_count()} CPUs. `python bench/indexers/reconcile.py --rows {ns.rows} --deletes {ns.deletes}`.",
        "",
        "| method | seconds | source statements | keys sent or listed | ledger entries read | deleted | correct | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        r = run["report"]
        lines.append(f"| {run['method']} | {run['seconds']:.2f} | {run['statements']:,} | {r['keysListed']:,} | {r['ledgerEntriesRead']:,} | "
                     f"{r['ghostsDeleted']} | {run['correct']} | {run['peak_rss_mb']:.0f} MB |")
    hashed = runs[1]["report"]
    lines.append("")
    lines.append(f"Hash buckets: {hashed['bucketsCompared']} buckets compared, {hashed['bucketsMismatched']} mismatched, "
                 f"{hashed['rangesListed']} ranges listed, {hashed['keysLookedUp']} ghost lookups.")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
