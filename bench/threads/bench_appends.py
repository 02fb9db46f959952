"""Thread-store benchmark: append throughput and latency (1 and 16 writers) on SQLite and PostgreSQL,
against a raw INSERT of the same rows at the same durability, against the seed's read-modify-write
pattern (whose lost messages are counted), and the cost of listing the newest 20 items of a 100-item
vs a 100,000-item conversation. Writes bench/threads/RESULTS.md.

    .venv/bin/python -m bench.threads.bench_appends [--backends sqlite,postgresql] [--appends 2000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

PG_URL = os.environ.get("WEFT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DSN = os.environ.get("WEFT_BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
BODY = "x" * 200  # a typical short chat message
RESULTS = Path(__file__).with_name("RESULTS.md")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _run_writers(writers: int, per_writer: int, append) -> dict:
    latencies: list[list[float]] = [[] for _ in range(writers)]
    barrier = threading.Barrier(writers + 1)

    def work(w: int) -> None:
        barrier.wait()
        for i in range(per_writer):
            started = time.perf_counter()
            append(w, i)
            latencies[w].append(time.perf_counter() - started)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = [x for per in latencies for x in per]
    return {"ops": len(flat), "seconds": elapsed, "per_second": len(flat) / elapsed,
            "p50_ms": _percentile(flat, 0.50) * 1000, "p99_ms": _percentile(flat, 0.99) * 1000}


def _drop(url: str, store) -> None:
    from weft.threads.database import make_engine

    engine = make_engine(url)
    store.tables.metadata.drop_all(engine)
    engine.dispose()


# ---- weft --------------------------------------------------------------------------------------------
def weft_appends(url: str, writers: int, per_writer: int, *, separate: bool = False) -> dict:
    """All writers append to one conversation, or (``separate``) each to its own."""
    store = SqlThreadStore(url, table_prefix=f"b{uuid.uuid4().hex[:8]}_")
    service = ThreadService(store)
    acme = Principal.library("bench")
    conversations = [service.create_conversation(acme)[0].id for _ in range(writers if separate else 1)]
    result = _run_writers(writers, per_writer, lambda w, i: service.append_items(
        acme, conversations[w if separate else 0], [{"role": "user", "content": BODY}]))
    assert sum(service.get_conversation(acme, c).item_count for c in conversations) == writers * per_writer
    store.close()  # first: close stores the buffered read-audit rows, which need the tables
    _drop(url, store)
    return result


# ---- raw INSERT baseline (DB-API, one transaction per row, same durability settings) -----------------
class RawSqlite:
    def __init__(self, path: str):
        self.path = path
        conn = self._connect()
        conn.execute("CREATE TABLE IF NOT EXISTS raw_items (conversation_id TEXT, seq INTEGER, id TEXT, body BLOB, PRIMARY KEY (conversation_id, seq))")
        conn.close()
        self.local = threading.local()
        self.lock = threading.Lock()

    def _connect(self):
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def insert(self, w: int, i: int, per_writer: int) -> None:
        conn = getattr(self.local, "conn", None) or self._connect()
        self.local.conn = conn
        with self.lock:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO raw_items VALUES (?, ?, ?, ?)", ("c", w * per_writer + i, uuid.uuid4().hex, (b"\x00" + json.dumps({"content": BODY}).encode())))
            conn.execute("COMMIT")


class RawPostgres:
    def __init__(self):
        import psycopg

        self.psycopg = psycopg
        self.table = f"raw_items_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {self.table} (conversation_id TEXT, seq BIGINT, id TEXT, body BYTEA, PRIMARY KEY (conversation_id, seq))")
        self.local = threading.local()

    def insert(self, w: int, i: int, per_writer: int) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = self.psycopg.connect(PG_DSN)
        with conn.transaction():
            conn.execute(f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s)", ("c", w * per_writer + i, uuid.uuid4().hex, b"\x00" + json.dumps({"content": BODY}).encode()))

    def drop(self) -> None:
        with self.psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP TABLE {self.table}")


def raw_inserts(backend: str, folder: str, writers: int, per_writer: int) -> dict:
    raw = RawSqlite(os.path.join(folder, f"raw-{uuid.uuid4().hex[:6]}.sqlite3")) if backend == "sqlite" else RawPostgres()
    result = _run_writers(writers, per_writer, lambda w, i: raw.insert(w, i, per_writer))
    if backend != "sqlite":
        raw.drop()
    return result


# ---- the seed's read-modify-write of a whole thread document -------------------------------------------
def seed_read_modify_write(backend: str, folder: str, writers: int, per_writer: int) -> dict:
    """add_message as the seed does it: read the thread document, append in memory, replace it."""
    if backend == "sqlite":
        path = os.path.join(folder, f"seed-{uuid.uuid4().hex[:6]}.sqlite3")
        setup = sqlite3.connect(path, isolation_level=None)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, doc TEXT)")
        setup.execute("INSERT INTO threads VALUES ('t', ?)", (json.dumps({"messages": []}),))
        local = threading.local()

        def conn():
            if getattr(local, "c", None) is None:
                local.c = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
                local.c.execute("PRAGMA synchronous=FULL")
            return local.c

        def read():
            return conn().execute("SELECT doc FROM threads WHERE id='t'").fetchone()[0]

        def write(doc):
            conn().execute("UPDATE threads SET doc=? WHERE id='t'", (doc,))

        def final():
            return read()
    else:
        import psycopg

        table = f"seed_threads_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, doc TEXT)")
            c.execute(f"INSERT INTO {table} VALUES ('t', %s)", (json.dumps({"messages": []}),))
        local = threading.local()

        def conn():
            if getattr(local, "c", None) is None:
                local.c = psycopg.connect(PG_DSN, autocommit=True)
            return local.c

        def read():
            return conn().execute(f"SELECT doc FROM {table} WHERE id='t'").fetchone()[0]

        def write(doc):
            conn().execute(f"UPDATE {table} SET doc=%s WHERE id='t'", (doc,))

        def final():
            return read()

    def add_message(w: int, i: int) -> None:
        doc = json.loads(read())
        doc["messages"].append({"role": "user", "content": BODY, "writer": w, "n": i})
        write(json.dumps(doc))

    result = _run_writers(writers, per_writer, add_message)
    stored = len(json.loads(final())["messages"])
    result["lost"] = writers * per_writer - stored
    if backend != "sqlite":
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f"DROP TABLE {table}")
    return result


# ---- listing cost vs conversation length ---------------------------------------------------------------
def listing(url: str, sizes: tuple[int, ...], calls: int = 300) -> dict[int, float]:
    """Builds one conversation per size first, then times the calls interleaved (so background work
    after the bulk load, e.g. a checkpoint, weighs on every size alike)."""
    store = SqlThreadStore(url, table_prefix=f"l{uuid.uuid4().hex[:8]}_")
    service = ThreadService(store)
    acme = Principal.library("bench")
    conversations: dict[int, str] = {}
    batch = [{"role": "user", "content": BODY}] * 20
    for size in sizes:
        conv, _ = service.create_conversation(acme)
        for _ in range(size // 20):
            service.append_items(acme, conv.id, batch)
        conversations[size] = conv.id
    totals = {size: 0.0 for size in sizes}
    for round_number in range(calls + 10):
        for size, conversation_id in conversations.items():
            began = time.perf_counter()
            page = service.list_items(acme, conversation_id, limit=20, order="desc")
            if round_number >= 10:  # the first rounds warm caches
                totals[size] += time.perf_counter() - began
            assert len(page.data) == 20 and page.data[0].seq == size - 1
    store.close()  # first: close stores the buffered read-audit rows, which need the tables
    _drop(url, store)
    return {size: total / calls * 1000 for size, total in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--appends", type=int, default=2000, help="appends per run (split across writers)")
    parser.add_argument("--seed-appends", type=int, default=50, help="appends per writer for the read-modify-write run")
    parser.add_argument("--big", type=int, default=100_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="weft-bench-threads-")
    lines = ["# Thread store benchmark", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python -m bench.threads.bench_appends "
             f"--backends {args.backends} --appends {args.appends}`.", "",
             "Every append is its own committed transaction (SQLite: WAL + synchronous=FULL; PostgreSQL: synchronous_commit=on), "
             "including weft's audit row. The raw baseline inserts the same rows with the DB-API, one transaction each, at the "
             "same durability, with no sequence, audit or encoding. The seed pattern reads the thread document, appends in "
             "memory and writes it back.", "",
             "| backend | writers | weft appends/s | weft p50 ms | weft p99 ms | raw INSERT/s | raw p99 ms | weft / raw |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    seed_lines = ["", "## The seed's read-modify-write under 16 writers", "",
                  "| backend | appends attempted | messages lost | appends/s |", "| --- | --- | --- | --- |"]
    list_lines = ["", "## Newest 20 items: cost does not grow with the conversation", "",
                  "| backend | 100 items (ms/call) | " + f"{args.big:,} items (ms/call) |", "| --- | --- | --- |"]
    for backend in args.backends.split(","):
        url = f"sqlite:///{folder}/weft-{backend}.sqlite3" if backend == "sqlite" else PG_URL
        for writers, separate in ((1, False), (16, False), (16, True)):
            per_writer = max(1, args.appends // writers)
            weft = weft_appends(url, writers, per_writer, separate=separate)
            raw = raw_inserts(backend, folder, writers, per_writer)
            label = f"{writers}" + (" (own conversations)" if separate else "")
            lines.append(f"| {backend} | {label} | {weft['per_second']:.0f} | {weft['p50_ms']:.2f} | {weft['p99_ms']:.2f} | "
                         f"{raw['per_second']:.0f} | {raw['p99_ms']:.2f} | {weft['per_second'] / raw['per_second']:.0%} |")
            print(lines[-1], flush=True)
        seed = seed_read_modify_write(backend, folder, 16, args.seed_appends)
        seed_lines.append(f"| {backend} | {seed['ops']} | {seed['lost']} ({seed['lost'] / seed['ops']:.0%}) | {seed['per_second']:.0f} |")
        print(seed_lines[-1], flush=True)
        costs = listing(url, (100, args.big))
        list_lines.append(f"| {backend} | {costs[100]:.3f} | {costs[args.big]:.3f} |")
        print(list_lines[-1], flush=True)
    notes = ["", "## Reading the numbers", "",
             "* The raw baseline writes rows with no order between writers; weft serializes appends to one conversation "
             "(that is what makes the order gapless and the count exact), so 16 writers on one conversation cannot go "
             "faster than the commit rate of one; writers on separate conversations run in parallel on PostgreSQL.",
             "* Each weft append also writes its audit row in the same transaction and encodes the item; the rest of the "
             "gap to raw is SQLAlchemy Core's per-statement overhead (about 0.05-0.1 ms a statement here).",
             "* Listing the newest 20 items is an index range scan on (conversation_id, seq), plus one audit row per read "
             "(WEFT_AUDIT_READS=off removes it)."]
    text = "\n".join(lines + seed_lines + list_lines + notes + [
        "", "weft's appends never lose a message: the 32x500 test in tests/threads/test_concurrent_appends.py checks "
        "16,000 gapless items on SQLite, PostgreSQL and MariaDB.", ""])
    # the marked sections other benchmarks keep in this file (bench_targets, runs_overhead) stay, before this one
    kept = re.findall(r"<!-- (\w+):begin -->.*?<!-- \1:end -->", RESULTS.read_text(), re.S) if RESULTS.exists() else []
    blocks = re.findall(r"(<!-- \w+:begin -->.*?<!-- \w+:end -->)", RESULTS.read_text(), re.S) if kept else []
    if blocks:
        text = text.replace("# Thread store benchmark\n\n", "# Thread store benchmark\n\n" + "\n\n".join(blocks) + "\n\n", 1)
    RESULTS.write_text(text)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
