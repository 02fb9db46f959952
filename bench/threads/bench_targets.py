"""The conversation-storage targets of issue 16, measured in interleaved rounds on a shared machine:

* library appends on SQLite (target >= 1,800/s), against a raw INSERT measured in the same round;
* newest 20 items in process (target <= 0.6 ms) with read auditing on (buffered, the default), on
  with each read's record committed before the read returns (``buffer_read_audit=False``), and off;
* PostgreSQL appends with one writer (target >= 70% of a raw INSERT), against a raw single-statement
  autocommit INSERT (one round trip, the cheapest a raw client can do) in the same round;
* appends over HTTP on SQLite (target >= 1,000/s), one keep-alive client.

Each round runs every measurement once, in the same order, with the load average noted; the table
gives medians over the rounds and the median of the per-round ratios. Writes its section into
bench/threads/RESULTS.md (between the markers), keeping the rest of the file.

    .venv/bin/python -m bench.threads.bench_targets [--rounds 5] [--appends 800] [--no-postgresql] [--no-http]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.threads.bench_appends import BODY, PG_DSN, PG_URL, RESULTS, RawSqlite
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

BEGIN, END = "<!-- targets:begin -->", "<!-- targets:end -->"
ITEM = [{"role": "user", "content": BODY}]


class RawPostgresOneTrip:
    """A raw INSERT in autocommit mode: one statement, one round trip, committed (synchronous_commit=on)."""

    def __init__(self):
        import psycopg

        self.table = f"raw_one_{uuid.uuid4().hex[:8]}"
        self.conn = psycopg.connect(PG_DSN, autocommit=True)
        self.conn.execute(f"CREATE TABLE {self.table} (conversation_id TEXT, seq BIGINT, id TEXT, body BYTEA, PRIMARY KEY (conversation_id, seq))")
        self.sql = f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s)"
        self.n = 0

    def insert(self) -> None:
        self.n += 1
        self.conn.execute(self.sql, ("c", self.n, uuid.uuid4().hex, b"\x00" + json.dumps({"content": BODY}).encode()))

    def close(self) -> None:
        self.conn.execute(f"DROP TABLE {self.table}")
        self.conn.close()


def _rate(count: int, fn) -> float:
    began = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - began)


def weft_rate(url: str, count: int) -> float:
    store = SqlThreadStore(url, table_prefix=f"t{uuid.uuid4().hex[:8]}_")
    service = ThreadService(store)
    acme = Principal.library("bench")
    conv, _ = service.create_conversation(acme)
    for _ in range(20):  # warm: prepared statements, caches
        service.append_items(acme, conv.id, ITEM)
    rate = _rate(count, lambda: service.append_items(acme, conv.id, ITEM))
    assert service.get_conversation(acme, conv.id).item_count == count + 20
    store.close()
    _drop(url, store)
    return rate


def _drop(url: str, store: SqlThreadStore) -> None:
    from weft.threads.database import make_engine

    engine = make_engine(url)
    store.tables.metadata.drop_all(engine)
    engine.dispose()


def raw_sqlite_rate(folder: str, count: int) -> float:
    raw = RawSqlite(os.path.join(folder, f"raw-{uuid.uuid4().hex[:6]}.sqlite3"))
    counter = iter(range(10**9))
    return _rate(count, lambda: raw.insert(0, next(counter), 0))


def raw_pg_rate(count: int) -> float:
    raw = RawPostgresOneTrip()
    for _ in range(20):
        raw.insert()
    try:
        return _rate(count, raw.insert)
    finally:
        raw.close()


def list_ms(url: str, calls: int, *, audit_reads: bool, buffered: bool) -> float:
    prefix = f"l{uuid.uuid4().hex[:8]}_"
    store = SqlThreadStore(url, table_prefix=prefix)
    service = ThreadService(store, audit_reads=audit_reads, buffer_read_audit=buffered)
    acme = Principal.library("bench")
    conv, _ = service.create_conversation(acme, items=ITEM * 20)
    for _ in range(10):
        service.append_items(acme, conv.id, ITEM * 10)
    for _ in range(20):
        service.list_items(acme, conv.id, limit=20)
    began = time.perf_counter()
    for _ in range(calls):
        page = service.list_items(acme, conv.id, limit=20)
    elapsed = (time.perf_counter() - began) / calls * 1000
    assert len(page.data) == 20 and page.data[0].seq == 119
    store.close()
    if audit_reads:  # every read is in the trail after close
        check = SqlThreadStore(url, table_prefix=prefix)
        reads = [r for r in check.list_audit(tenant_id="bench", since_ms=None, until_ms=None, limit=100_000) if r.operation == "items.list"]
        assert len(reads) == calls + 20, len(reads)
        check.close()
    _drop(url, store)
    return elapsed


class HttpAppends:
    """A `weft serve` on SQLite and one keep-alive client (pre-encoded requests, stdlib socket)."""

    def __init__(self, folder: Path):
        bench_dir = str(Path(__file__).resolve().parents[1])
        if bench_dir not in sys.path:
            sys.path.insert(0, bench_dir)
        from httpclient import Connection  # noqa: E402  (bench/ helpers)
        from weft_server import WeftServer  # noqa: E402

        self.server = WeftServer(folder / "http-data", folder / "http-log.txt").start()
        self.conn = Connection(self.server.host, self.server.port, timeout=30)

    def request(self, method: str, path: str, payload) -> bytes:
        body = json.dumps(payload).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.server.host}:{self.server.port}\r\n"
                f"Authorization: Bearer {self.server.admin_key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def rate(self, count: int) -> float:
        status, body = self.conn.request(self.request("POST", "/v1/conversations", {}))
        assert status == 200, body
        cid = json.loads(body)["id"]
        append = self.request("POST", f"/v1/conversations/{cid}/items", {"items": [{"type": "message", "role": "user", "content": BODY}]})

        def one():
            status, body = self.conn.request(append)
            assert status == 200, body

        for _ in range(20):
            one()
        return _rate(count, one)

    def close(self) -> None:
        self.conn.close()
        self.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--appends", type=int, default=800)
    parser.add_argument("--list-calls", type=int, default=1000)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="weft-bench-targets-"))
    sqlite_url = f"sqlite:///{folder}/weft.sqlite3"
    http = None if args.no_http else HttpAppends(folder)
    rows: dict[str, list[float]] = {}
    loads: list[float] = []

    def note(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    try:
        for round_number in range(args.rounds):
            loads.append(os.getloadavg()[0])
            weft_sqlite, raw_sqlite = weft_rate(sqlite_url, args.appends), raw_sqlite_rate(str(folder), args.appends)
            note("sqlite weft", weft_sqlite), note("sqlite raw", raw_sqlite), note("sqlite ratio", weft_sqlite / raw_sqlite)
            for label, audit_reads, buffered in (("list buffered", True, True), ("list sync", True, False), ("list off", False, True)):
                note(label, list_ms(sqlite_url, args.list_calls, audit_reads=audit_reads, buffered=buffered))
            if not args.no_postgresql:
                weft_pg, raw_pg = weft_rate(PG_URL, args.appends), raw_pg_rate(args.appends)
                note("pg weft", weft_pg), note("pg raw", raw_pg), note("pg ratio", weft_pg / raw_pg)
                note("pg list buffered", list_ms(PG_URL, args.list_calls // 2, audit_reads=True, buffered=True))
            if http is not None:
                note("http", http.rate(args.appends))
            loads.append(os.getloadavg()[0])
            print(f"round {round_number + 1}: " + ", ".join(f"{k} {v[-1]:.3g}" for k, v in rows.items()), flush=True)
    finally:
        if http is not None:
            http.close()

    med = {k: statistics.median(v) for k, v in rows.items()}
    spread = {k: (min(v), max(v)) for k, v in rows.items()}

    def cell(key: str, fmt: str) -> str:
        lo, hi = spread[key]
        return f"{format(med[key], fmt)} ({format(lo, fmt)}-{format(hi, fmt)})"

    lines = [BEGIN, "## Issue 16 targets (conversation storage)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}: `python -m bench.threads.bench_targets --rounds {args.rounds} --appends {args.appends}`. "
             f"{args.rounds} interleaved rounds; median (min-max). The machine was shared with other work: load average "
             f"{min(loads):.1f}-{max(loads):.1f} during the run, so compare ratios within a round more than absolute rates.", "",
             "| measurement | result | target |", "| --- | --- | --- |",
             f"| SQLite library appends/s (1 writer, each committed with its audit row) | {cell('sqlite weft', '.0f')} | >= 1,800 |",
             f"| SQLite raw INSERT/s (same round, same durability) | {cell('sqlite raw', '.0f')} | |",
             f"| SQLite weft / raw (median of per-round ratios) | {cell('sqlite ratio', '.0%')} | |",
             f"| newest 20, in process, read audit on (buffered; default), ms | {cell('list buffered', '.3f')} | <= 0.6 |",
             f"| newest 20, read audit on, each record committed before returning, ms | {cell('list sync', '.3f')} | |",
             f"| newest 20, read audit off, ms | {cell('list off', '.3f')} | |"]
    if not args.no_postgresql:
        lines += [f"| PostgreSQL library appends/s (1 writer, one round trip each, audit row included) | {cell('pg weft', '.0f')} | |",
                  f"| PostgreSQL raw autocommit INSERT/s (one round trip) | {cell('pg raw', '.0f')} | |",
                  f"| PostgreSQL weft / raw (median of per-round ratios) | {cell('pg ratio', '.0%')} | >= 70% |",
                  f"| PostgreSQL newest 20, read audit on (buffered), ms | {cell('pg list buffered', '.3f')} | |"]
    if http is not None:
        lines += [f"| appends/s over HTTP on SQLite (1 keep-alive client, same machine) | {cell('http', '.0f')} | >= 1,000 |"]
    lines += ["", "Every list run checks afterwards that each read left its audit row (the buffer is stored by "
              "close at the latest). Per round: " + "; ".join(
                  f"{k}: " + ", ".join(f"{x:.3g}" for x in v) for k, v in rows.items()),
              "", "The sections below this one come from `bench_appends` and keep the date of their own run.", END]
    section = "\n".join(lines)
    text = RESULTS.read_text() if RESULTS.exists() else "# Thread store benchmark\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        head, _, rest = text.partition("\n")
        text = head + "\n\n" + section + "\n" + rest
    RESULTS.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
