#!/usr/bin/env python3
"""Throughput only: one-term searches over HTTP with 8 clients on a data dir loaded once, old and new code alternating.

    /work/main/.venv/bin/python bench/qps.py --docs 1000000 --code old=/work/main/src --code new=src

The first run generates the corpus and bulk-loads it into weft over HTTP (no raw tantivy side; ~5 min at 1M on a
quiet machine), then keeps the data dir (`--data-dir`, default bench/data-qps). Later runs reuse it
(`--rebuild` starts again). Each round starts `weft serve` once per `--code` entry (its PYTHONPATH), ABBA order
across rounds, warms it up, runs the throughput mixes of bench/run.py and stops it. Reports q/s and server CPU ms
per query (the number less sensitive to other load on a shared machine) per code and round, and the medians.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import corpus  # noqa: E402
from httpclient import API_VERSION, Connection, json_request  # noqa: E402
from run import INDEX, LoadMonitor, Progress, create_index, http_bulk_chunk, http_throughput, log, make_queries  # noqa: E402
from weft_server import CLK_TCK, WeftServer  # noqa: E402


class _WeftCounts:
    """The two methods make_queries needs from RawIndex, answered by weft (document frequency = @odata.count)."""

    def __init__(self, server: WeftServer):
        self.server = server
        self.conn = Connection(server.host, server.port)
        self.path = f"/indexes/{INDEX}/docs/search?api-version={API_VERSION}"

    @staticmethod
    def text_query(words: list[str], mode: str) -> tuple[list[str], str]:
        return words, mode

    def count(self, query: tuple[list[str], str]) -> int:
        words, mode = query
        body = {"search": " ".join(words), "searchMode": mode, "count": True, "top": 0}
        status, raw = self.conn.request(json_request("POST", self.server.host, self.server.port, self.path,
                                                     self.server.admin_key, body))
        if status != 200:
            raise RuntimeError(f"count failed: {status} {raw[:300]!r}")
        return int(json.loads(raw)["@odata.count"])


def build(data: Path, n: int, batch: int, clients: int) -> dict:
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    corpus_path = data / "corpus.jsonl"
    log(f"generating {n:,} docs ...")
    info = corpus.generate(n, str(corpus_path))
    server = WeftServer(data / "weft", data / "weft.log", python=sys.executable)
    server.start()
    try:
        create_index(server)
        batches = corpus.read_batches(str(corpus_path), batch)
        progress = Progress("weft HTTP bulk", n)
        done = 0
        t0 = time.perf_counter()
        while True:  # slices of 100 batches, so the encoded requests of 1M docs never sit in memory at once
            chunk = list(itertools.islice(batches, 100))
            if not chunk:
                break
            done += http_bulk_chunk(server, chunk, clients, progress, done)["docs"]
        log(f"  loaded {done:,} docs in {time.perf_counter() - t0:.0f}s")
        qs = make_queries(_WeftCounts(server), info, n)
    finally:
        server.stop()
    corpus_path.unlink()
    meta = {"docs": n, "throughput": qs["throughput"], "df_rare": qs["meta"]["df_rare"],
            "df_mid_range": qs["meta"]["df_mid_range"], "df_common": qs["meta"]["df_common"]}
    (data / "qps-meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def user_sys(pid: int) -> tuple[float, float]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def start_server(data: Path, pythonpath: str) -> WeftServer:
    os.environ["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in pythonpath.split(os.pathsep))
    try:
        return WeftServer(data / "weft", data / "weft.log", python=sys.executable).start(timeout=180)
    finally:
        os.environ.pop("PYTHONPATH", None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data-qps", help="kept between runs (default bench/data-qps)")
    ap.add_argument("--rebuild", action="store_true", help="regenerate and reload even if the data dir holds --docs docs")
    ap.add_argument("--code", action="append", default=[], metavar="LABEL=SRC",
                    help="a weft source tree to measure (PYTHONPATH of the server); repeat to alternate (default this tree)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0, help="each throughput window (default 10)")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each code's windows (default 3)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--mix", choices=["rare", "common", "both"], default="rare",
                    help="rare: the rare + mid df mix (the issue's target); both adds the top-10 df mix")
    ap.add_argument("--wait-quiet", type=float, default=0.0, help="wait up to this many s for a quiet machine per window")
    ap.add_argument("--out", type=Path, default=None, help="write the per-window numbers as JSON here")
    args = ap.parse_args(argv)

    data = args.data_dir.resolve()
    meta_path = data / "qps-meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
    if args.rebuild or not meta or meta["docs"] != args.docs:
        meta = build(data, args.docs, 1000, 4)
    codes = [c.split("=", 1) for c in args.code] or [["this", str(BENCH_DIR.parent / "src")]]
    mixes = list(meta["throughput"].items())
    if args.mix == "rare":
        mixes = mixes[:1]
    elif args.mix == "common":
        mixes = mixes[1:]
    monitor = LoadMonitor(budget=args.wait_quiet * 20)
    rows: list[dict] = []
    for r in range(args.rounds):
        order = codes if r % 2 == 0 else codes[::-1]
        for label, src in order:
            server = start_server(data, src)
            monitor.server_pid = server.pid
            try:
                http_throughput(server, mixes[0][1], args.clients, args.warmup)
                for mix, words in mixes:
                    monitor.wait_quiet(args.wait_quiet)
                    tok = monitor.start()
                    u0, s0 = user_sys(server.pid)
                    h = http_throughput(server, words, args.clients, args.seconds)
                    u1, s1 = user_sys(server.pid)
                    h["server_user_ms_per_query"] = (u1 - u0) * 1000 / max(1, h["queries"])
                    h["server_sys_ms_per_query"] = (s1 - s0) * 1000 / max(1, h["queries"])
                    h["foreign_cores"] = monitor.stop(tok, "throughput")
                    h.update(code=label, round=r, mix=mix, loadavg=os.getloadavg()[0])
                    rows.append(h)
                    log(f"round {r} {label:>5} {mix[:24]}: {h['qps']:,.0f} q/s, server {h['server_cpu_ms_per_query']:.3f} ms/q "
                        f"(user {h['server_user_ms_per_query']:.3f} sys {h['server_sys_ms_per_query']:.3f}; {h['server_cpu_cores']:.2f} cores), p50 {h['latency_p50_ms']:.2f} ms, other load "
                        f"{h['foreign_cores']:.2f} cores, loadavg {h['loadavg']:.2f}")
            finally:
                server.stop()
    print(f"\n{args.docs:,} docs, {args.clients} clients, {args.rounds} rounds x {args.seconds:.0f} s (medians):")
    for mix, _ in mixes:
        base = None
        for label, _src in codes:
            mine = [x for x in rows if x["code"] == label and x["mix"] == mix]
            qps = statistics.median(x["qps"] for x in mine)
            ms = statistics.median(x["server_cpu_ms_per_query"] for x in mine)
            foreign = statistics.median(x["foreign_cores"] for x in mine)
            rel = f"  ({ms / base - 1:+.0%} ms/q vs {codes[0][0]})" if base else ""
            base = base or ms
            print(f"  {mix[:40]:40} {label:>6}: {qps:,.0f} q/s, server CPU {ms:.3f} ms/query, other load {foreign:.2f} cores{rel}")
    if args.out:
        args.out.write_text(json.dumps({"docs": args.docs, "codes": dict(map(tuple, codes)), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
