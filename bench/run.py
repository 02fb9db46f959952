#!/usr/bin/env python3
"""weft benchmark: HTTP (a live `weft serve`) side by side with tantivy used directly.

    /work/main/.venv/bin/python bench/run.py             # 1,000,000 documents (10-20 min on 2 cores)
    /work/main/.venv/bin/python bench/run.py --quick     # 50,000 documents, fewer rounds (1-2.5 min)

Phases, all in one run: corpus generation -> bulk indexing, weft over HTTP and raw tantivy in
alternating slices of the same documents -> query latency (weft over HTTP and raw tantivy
interleaved per query) -> throughput (8 HTTP clients; raw single thread) -> graceful stop ->
weft's SearchService in-process (no HTTP) vs raw, to split weft's overhead into HTTP and
service layers. Writes RESULTS.md (RESULTS-quick.md with --quick) and the raw numbers as JSON
next to it. See README.md.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import json
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import threading
import time
import queue as queue_mod
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import corpus  # noqa: E402
import report  # noqa: E402
from httpclient import API_VERSION, Connection, encode_request, json_request  # noqa: E402
from raw_engine import RawIndex  # noqa: E402
from weft_server import CLK_TCK, WeftServer, proc_cpu_seconds, proc_threads  # noqa: E402

INDEX = "products"
TOP = 10
SELECT = "id,title,price"
QUERY_KINDS = ["rare", "common", "and2", "or2", "phrase", "text_filter", "text_facet", "filter_sort"]
KIND_LABELS = {
    "rare": "rare term",
    "common": "common term (top-10 df)",
    "and2": "two-term AND (searchMode all)",
    "or2": "two-term OR",
    "phrase": "phrase (2 words)",
    "text_filter": "text + filter (category eq, price lt)",
    "text_facet": "text + facet(category)",
    "filter_sort": "filter-only + orderby price desc, created asc",
}

INDEX_DEFINITION = {
    "name": INDEX,
    "fields": [
        {"name": "id", "type": "Edm.String", "key": True, "searchable": False, "filterable": True, "sortable": False, "facetable": False},
        {"name": "title", "type": "Edm.String", "searchable": True, "filterable": False, "sortable": False, "facetable": False},
        {"name": "description", "type": "Edm.String", "searchable": True, "filterable": False, "sortable": False, "facetable": False},
        {"name": "category", "type": "Edm.String", "searchable": False, "filterable": True, "sortable": True, "facetable": True},
        {"name": "price", "type": "Edm.Double", "filterable": True, "sortable": True, "facetable": True},
        {"name": "inStock", "type": "Edm.Boolean", "filterable": True, "sortable": False, "facetable": False},
        {"name": "tags", "type": "Collection(Edm.String)", "searchable": False, "filterable": True, "sortable": False, "facetable": True},
        {"name": "created", "type": "Edm.DateTimeOffset", "filterable": True, "sortable": True, "facetable": False},
    ],
}


# --------------------------------------------------------------------------------------- utilities
def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


class Progress:
    """One progress line on stderr: rewritten in place on a terminal, a new line every few seconds otherwise."""

    def __init__(self, label: str, total: int):
        self.label, self.total = label, total
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.tty = sys.stderr.isatty()
        self.lock = threading.Lock()

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        with self.lock:
            if not force and now - self.last < (0.5 if self.tty else 10.0):
                return
            self.last = now
        el = now - self.t0
        rate = done / el if el > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        line = f"  {self.label}: {done:,}/{self.total:,} docs  {rate:,.0f} docs/s  {el:,.0f}s elapsed  ETA {eta:,.0f}s"
        if self.tty:
            print("\r" + line + " " * 8, end="", file=sys.stderr, flush=True)
        else:
            print(time.strftime("%H:%M:%S") + line, file=sys.stderr, flush=True)

    def done(self, n: int) -> None:
        self.update(n, force=True)
        if self.tty:
            print(file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def dir_mib(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / 2**20


def fsync_probe(directory: Path, n: int = 200) -> dict:
    path = directory / "fsync-probe.bin"
    times = []
    with open(path, "wb") as f:
        block = b"\0" * 4096
        for _ in range(n):
            t = time.perf_counter()
            f.write(block)
            f.flush()
            os.fsync(f.fileno())
            times.append((time.perf_counter() - t) * 1000)
    path.unlink()
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


def source_fingerprint() -> dict:
    """Which weft was measured (no git here): a hash over src/weft/**/*.py and the newest file time."""
    root = BENCH_DIR.parent / "src" / "weft"
    h = hashlib.sha256()
    newest = 0.0
    files = sorted(root.rglob("*.py"))
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
        newest = max(newest, f.stat().st_mtime)
    return {"sha256_12": h.hexdigest()[:12], "files": len(files),
            "newest_mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(newest)) + " UTC"}


def machine_notes(data_dir: Path) -> dict:
    import importlib.metadata as md

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    versions = {}
    for pkg in ("weft", "tantivy", "uvicorn", "fastapi", "starlette", "h11", "httptools", "uvloop"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": versions,
        "fsync_4k": fsync_probe(data_dir),
    }


# --------------------------------------------------------------------------------------- phases
def create_index(server: WeftServer) -> None:
    c = Connection(server.host, server.port)
    status, body = c.request(json_request("POST", server.host, server.port, f"/indexes?api-version={API_VERSION}",
                                          server.admin_key, INDEX_DEFINITION))
    c.close()
    if status != 201:
        raise RuntimeError(f"create index failed: {status} {body[:500]!r}")


class LoadMonitor:
    """CPU used by everything else on the machine (other users' tests, builds), per phase.

    Busy jiffies from /proc/stat minus the weft server's and this process's CPU time, in cores."""

    def __init__(self, budget: float = 300.0):
        self.budget = budget  # total seconds the whole run may spend waiting for a quiet machine
        self.server_pid: int | None = None
        self.phases: dict[str, float] = {}

    @staticmethod
    def _busy() -> float:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
        vals = [int(x) for x in parts]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        return (sum(vals[:8]) - idle) / CLK_TCK

    def _ours(self) -> float:
        total = self_cpu()
        if self.server_pid is not None:
            try:
                total += proc_cpu_seconds(self.server_pid)
            except OSError:
                pass
        return total

    def start(self) -> tuple[float, float, float]:
        return (time.perf_counter(), self._busy(), self._ours())

    def stop(self, token: tuple[float, float, float], phase: str) -> float:
        t0, b0, o0 = token
        el = time.perf_counter() - t0
        foreign = max(0.0, ((self._busy() - b0) - (self._ours() - o0)) / el) if el > 0 else 0.0
        self.phases[phase] = self.phases.get(phase, 0.0) + foreign * el
        self.phases[phase + ":seconds"] = self.phases.get(phase + ":seconds", 0.0) + el
        return foreign

    def foreign_now(self, window: float = 1.0) -> float:
        tok = self.start()
        time.sleep(window)
        t0, b0, o0 = tok
        el = time.perf_counter() - t0
        return max(0.0, ((self._busy() - b0) - (self._ours() - o0)) / el)

    def wait_quiet(self, max_wait: float, threshold: float = 0.3, need: int = 2) -> float:
        """Wait (at most max_wait s) until other processes use less than `threshold` cores for `need` consecutive
        1-s windows. Returns the seconds waited; the phase runs anyway after max_wait."""
        max_wait = min(max_wait, max(0.0, self.budget - getattr(self, "waited", 0.0)))
        t0 = time.perf_counter()
        quiet = 0
        announced = False
        while time.perf_counter() - t0 < max_wait:
            load = self.foreign_now()
            quiet = quiet + 1 if load < threshold else 0
            if quiet >= need:
                break
            if not announced and time.perf_counter() - t0 > 5:
                log(f"  machine busy (other processes use {load:.1f} cores); waiting up to {max_wait:.0f}s for quiet ...")
                announced = True
        waited = time.perf_counter() - t0
        self.waited = getattr(self, "waited", 0.0) + waited
        return waited

    def summary(self) -> dict[str, float]:
        return {k: v / self.phases[k + ":seconds"] for k, v in self.phases.items() if not k.endswith(":seconds")}


def http_bulk_chunk(server: WeftServer, batches, clients: int, progress: Progress, base: int) -> dict:
    """POST upload batches from `clients` threads; time from the first request to the last acknowledged batch."""
    path = f"/indexes/{INDEX}/docs/index?api-version={API_VERSION}"
    encoded = []
    for lines in batches:  # encode the chunk up front so the clients only send
        body = b'{"value":[' + b",".join(lines) + b"]}"
        encoded.append((len(lines), encode_request("POST", server.host, server.port, path, server.admin_key, body)))
    work: queue_mod.Queue = queue_mod.Queue()
    for item in encoded:
        work.put(item)
    for _ in range(clients):
        work.put(None)
    acked = [0]
    batch_ms: list[float] = []
    errors: list[str] = []
    last_ack = [0.0]
    lock = threading.Lock()
    conns = [Connection(server.host, server.port) for _ in range(clients)]
    for c in conns:
        c._connect()

    def worker(conn: Connection) -> None:
        while True:
            item = work.get()
            if item is None:
                break
            count, raw = item
            t = time.perf_counter()
            try:
                status, body = conn.request(raw)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            dt_ = time.perf_counter() - t
            with lock:
                if status != 200:
                    errors.append(f"HTTP {status}: {body[:300]!r}")
                else:
                    acked[0] += count
                batch_ms.append(dt_ * 1000)
                last_ack[0] = time.perf_counter()
                done = acked[0]
            progress.update(base + done)
        conn.close()

    cpu_srv0, cpu_self0 = server.cpu_seconds(), self_cpu()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} bulk batches failed, first: {errors[0]}")
    elapsed = last_ack[0] - t0
    cpu_srv1, cpu_self1 = server.cpu_seconds(), self_cpu()
    t1 = time.perf_counter()
    idle = server.wait_idle()  # background merges: drained before the other side runs
    return {"docs": acked[0], "seconds": elapsed, "drain_seconds": idle, "batch_ms": batch_ms,
            "server_cpu_s": cpu_srv1 - cpu_srv0, "client_cpu_s": cpu_self1 - cpu_self0, "wait_s": time.perf_counter() - t1}


def interleaved_ingest(server: WeftServer, raw_dir: Path, corpus_path: Path, n: int, batch_size: int, clients: int,
                       chunks: int, monitor: LoadMonitor, wait_quiet: float) -> tuple[RawIndex, dict, dict]:
    """Load the corpus into weft (HTTP) and raw tantivy in `chunks` alternating slices (ABBA order), so both
    sides share the machine's noise. Each side drains its background merges before the other side runs."""
    raw = RawIndex(str(raw_dir), create=True)
    http_batches = corpus.read_batches(str(corpus_path), batch_size)
    raw_batches = corpus.read_batches(str(corpus_path), batch_size)
    total_batches = -(-n // batch_size)
    per_chunk = -(-total_batches // chunks)
    hp = Progress("weft HTTP bulk", n)
    rp = Progress("raw tantivy", n)
    H = {"docs": 0, "seconds": 0.0, "drain_seconds": 0.0, "batch_ms": [], "server_cpu_s": 0.0, "client_cpu_s": 0.0,
         "chunks": []}
    R_ = {"docs": 0, "seconds": 0.0, "drain_seconds": 0.0, "commits": 0, "commit_seconds": 0.0, "cpu_s": 0.0, "chunks": []}
    hp_t = rp_t = 0.0
    for c in range(chunks):
        order = ("http", "raw") if c % 4 in (0, 3) else ("raw", "http")
        for side in order:
            monitor.wait_quiet(wait_quiet)
            if side == "http":
                batches = list(itertools.islice(http_batches, per_chunk))
                if not batches:
                    continue
                hp.t0 = time.perf_counter() - hp_t
                tok = monitor.start()
                st = http_bulk_chunk(server, batches, clients, hp, H["docs"])
                foreign = monitor.stop(tok, "ingest")
                hp_t += st["seconds"]
                H["docs"] += st["docs"]
                for k in ("seconds", "drain_seconds", "server_cpu_s", "client_cpu_s"):
                    H[k] += st[k]
                H["batch_ms"] += st["batch_ms"]
                H["chunks"].append({"docs": st["docs"], "seconds": st["seconds"], "drain": st["drain_seconds"],
                                    "foreign_cores": foreign})
            else:
                batches = itertools.islice(raw_batches, per_chunk)
                rp.t0 = time.perf_counter() - rp_t
                tok = monitor.start()
                cpu0 = self_cpu()
                st = raw.ingest(batches, on_batch=lambda k, base=R_["docs"]: rp.update(base + k))
                cpu = self_cpu() - cpu0
                foreign = monitor.stop(tok, "ingest")
                if not st["docs"]:
                    continue
                rp_t += st["seconds"]
                R_["docs"] += st["docs"]
                R_["seconds"] += st["seconds"]
                R_["drain_seconds"] += st["seconds_incl_merges"] - st["seconds"]
                R_["commits"] += st["commits"]
                R_["commit_seconds"] += st["commit_seconds"]
                R_["cpu_s"] += cpu
                R_["chunks"].append({"docs": st["docs"], "seconds": st["seconds"],
                                     "drain": st["seconds_incl_merges"] - st["seconds"], "foreign_cores": foreign})
        log(f"  chunk {c + 1}/{chunks}: weft {H['docs']:,} docs at {H['docs'] / max(H['seconds'], 1e-9):,.0f} docs/s, "
            f"raw {R_['docs']:,} at {R_['docs'] / max(R_['seconds'], 1e-9):,.0f} docs/s")
    hp.done(H["docs"])
    rp.done(R_["docs"])
    for d in (H, R_):
        d["docs_per_s"] = d["docs"] / d["seconds"]
        d["docs_per_s_incl_merges"] = d["docs"] / (d["seconds"] + d["drain_seconds"])
    import raw_engine
    R_["writer_heap_mb"] = raw_engine.WRITER_HEAP / 1e6
    R_["writer_threads"] = raw_engine.WRITER_THREADS
    H["clients"] = clients
    H["batch_size"] = batch_size
    H["batch_ms_p50"] = pct(H["batch_ms"], 50)
    H["batch_ms_p95"] = pct(H["batch_ms"], 95)
    del H["batch_ms"]
    ratios = [h["docs"] / h["seconds"] / (r["docs"] / r["seconds"]) for h, r in zip(H["chunks"], R_["chunks"])]
    H["chunk_ratio_min"], H["chunk_ratio_max"] = min(ratios), max(ratios)
    return raw, H, R_


def make_queries(raw: RawIndex, info: corpus.CorpusInfo, n: int) -> dict:
    """Query sets chosen from exact document frequencies (title or description) measured on the raw index."""
    rng = random.Random(corpus.SEED + 7)
    vocab = info.vocabulary
    df_cache: dict[str, int] = {}

    def df(word: str) -> int:
        if word not in df_cache:
            df_cache[word] = raw.count(raw.text_query([word], "any"))
        return df_cache[word]

    def pick(lo: float, hi: float, k: int) -> list[str]:
        ranks = corpus.rank_by_expected_df(info, lo * 0.6, hi * 1.4)
        rng.shuffle(ranks)
        out = []
        for r in ranks:
            if lo <= df(vocab[r]) <= hi:
                out.append(vocab[r])
                if len(out) == k:
                    break
        return out

    rare = pick(20, 200, 15)
    common = vocab[:10]
    mid = pick(0.005 * n, 0.05 * n, 40)
    upper = pick(0.05 * n, 0.30 * n, 40)
    frequent = set(upper) | set(common) | {vocab[r] for r in corpus.rank_by_expected_df(info, 0.05 * n, n)}
    phrases: list[list[str]] = []
    seen = set()
    samples = list(info.phrase_samples)
    rng.shuffle(samples)
    for words in samples:
        starts = list(range(len(words) - 1))
        rng.shuffle(starts)
        for j in starts:
            a, b = words[j], words[j + 1]
            if a != b and a in frequent and b in frequent and (a, b) not in seen:
                seen.add((a, b))
                phrases.append([a, b])
                break
        if len(phrases) == 15:
            break
    cats = info.categories
    q: dict[str, list[dict]] = {
        "rare": [{"words": [w], "mode": "any"} for w in rare],
        "common": [{"words": [w], "mode": "any"} for w in common],
        "and2": [{"words": [rng.choice(mid), rng.choice(upper)], "mode": "all"} for _ in range(15)],
        "or2": [{"words": [rng.choice(mid), rng.choice(upper)], "mode": "any"} for _ in range(15)],
        "phrase": [{"words": p, "mode": "phrase"} for p in phrases],
        "text_filter": [{"words": [rng.choice(upper)], "mode": "any", "category": rng.choice(cats[:20]),
                         "price_lt": round(info.median_price * rng.uniform(0.5, 2.0), 2)} for _ in range(15)],
        "text_facet": [{"words": [rng.choice(upper)], "mode": "any"} for _ in range(15)],
        "filter_sort": [{"category": c} for c in rng.sample(cats, 15)],
    }
    for kind, specs in q.items():
        for s in specs:
            s["kind"] = kind
    throughput = {
        "one-term, rare + mid df (<= 5% of docs)": [[w] for w in rare] + [[w] for w in mid[:25]],
        "one-term, common (top-10 df, 55-92% of docs)": [[w] for w in common],
    }
    meta = {
        "df_rare": sorted(df(w) for w in rare),
        "df_common": [df(w) for w in common],
        "df_mid_range": [min(df(w) for w in mid), max(df(w) for w in mid)] if mid else [],
        "df_upper_range": [min(df(w) for w in upper), max(df(w) for w in upper)] if upper else [],
    }
    return {"queries": q, "throughput": throughput, "meta": meta}


def weft_body(spec: dict) -> dict:
    kind = spec["kind"]
    body: dict = {"top": TOP, "select": SELECT}
    if kind == "filter_sort":
        body["filter"] = f"category eq '{spec['category']}' and inStock eq true"
        body["orderby"] = "price desc, created asc"
        return body
    words = spec["words"]
    body["search"] = f'"{" ".join(words)}"' if spec["mode"] == "phrase" else " ".join(words)
    body["searchMode"] = "all" if spec["mode"] == "all" else "any"
    if kind == "text_filter":
        body["filter"] = f"category eq '{spec['category']}' and price lt {spec['price_lt']}"
    if kind == "text_facet":
        body["facets"] = ["category,count:10"]
    return body


def parse_weft(body: bytes) -> dict:
    data = json.loads(body)
    out = {"ids": [v["id"] for v in data["value"]], "scores": [v["@search.score"] for v in data["value"]],
           "prices": [v["price"] for v in data["value"]]}
    facets = data.get("@search.facets")
    if facets is not None:
        out["facets"] = [(e["value"], e["count"]) for e in facets.get("category", [])]
    return out


def overlap(a: list, b: list) -> float:
    if not a and not b:
        return 1.0
    return len(set(a) & set(b)) / max(len(a), len(b))


def latency_phase(systems: dict, specs: list[dict], rounds: int, seed: int) -> dict:
    """systems: name -> callable(spec) returning a result dict with 'ids' (and 'facets').
    Each query runs once per round on every system, back to back, the order rotating per query."""
    names = list(systems)
    times = {name: {k: [] for k in QUERY_KINDS} for name in names}
    paired = {k: [] for k in QUERY_KINDS}
    first_results: dict[str, list] = {name: [] for name in names}
    rng = random.Random(seed)
    for spec in specs:  # warm-up, also checks that every system answers
        for name in names:
            systems[name](spec)
    for r in range(rounds):
        order = list(range(len(specs)))
        rng.shuffle(order)
        gc.collect()
        gc.disable()
        try:
            for j, i in enumerate(order):
                spec = specs[i]
                rot = (r + j) % len(names)
                seq = names[rot:] + names[:rot]
                got = {}
                for name in seq:
                    t = time.perf_counter()
                    res = systems[name](spec)
                    got[name] = (time.perf_counter() - t) * 1000
                    if r == 0:
                        first_results[name].append((i, res))
                for name in names:
                    times[name][spec["kind"]].append(got[name])
                paired[spec["kind"]].append(got[names[0]] - got[names[-1]])
        finally:
            gc.enable()
    return {"times": times, "paired_diff": paired, "first": first_results}


def agreement(specs: list[dict], first: dict, a: str, b: str) -> dict:
    ra = {i: res for i, res in first[a]}
    rb = {i: res for i, res in first[b]}
    per_kind: dict[str, dict] = {}
    for i, spec in enumerate(specs):
        x, y = ra[i], rb[i]
        d = per_kind.setdefault(spec["kind"], {"overlap": [], "facets_equal": 0, "facets_total": 0, "empty": 0,
                                               "same_ranking": 0, "total": 0})
        d["overlap"].append(overlap(x["ids"], y["ids"]))
        # Same ranking = the same sequence of sort keys (BM25 scores, or prices for the sorted query); ids may
        # still differ where keys tie, since the two indexes order tied documents by their own doc addresses.
        key = "prices" if spec["kind"] == "filter_sort" else "scores"
        d["total"] += 1
        d["same_ranking"] += int([round(v, 4) for v in x[key]] == [round(v, 4) for v in y[key]])
        if not y["ids"]:
            d["empty"] += 1
        if "facets" in y:
            d["facets_total"] += 1
            d["facets_equal"] += int([tuple(f) for f in x.get("facets", [])] == [tuple(f) for f in y["facets"]])
    return {k: {"overlap_mean": statistics.fmean(v["overlap"]), "facets_equal": v["facets_equal"],
                "facets_total": v["facets_total"], "queries_without_hits": v["empty"],
                "same_ranking": v["same_ranking"], "queries": v["total"]} for k, v in per_kind.items()}


def summarize(times: dict, paired: dict) -> dict:
    out = {}
    for name, per_kind in times.items():
        out[name] = {k: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "mean": statistics.fmean(v) if v else float("nan")}
                     for k, v in per_kind.items()}
    out["paired_diff_p50"] = {k: pct(v, 50) for k, v in paired.items()}
    return out


def http_throughput(server: WeftServer, word_lists: list[list[str]], clients: int, seconds: float) -> dict:
    path = f"/indexes/{INDEX}/docs/search?api-version={API_VERSION}"
    requests = [json_request("POST", server.host, server.port, path, server.admin_key,
                             {"search": " ".join(w), "top": TOP, "select": SELECT}) for w in word_lists]
    counts = [0] * clients
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(k: int) -> None:
        conn = Connection(server.host, server.port)
        i = k * 7
        conn.request(requests[i % len(requests)])  # open the connection before the clock starts
        start.wait()
        end = stop_at[0]
        mine = lat[k]
        while True:
            t = time.perf_counter()
            if t >= end:
                break
            status, body = conn.request(requests[i % len(requests)])
            mine.append((time.perf_counter() - t) * 1000)
            if status != 200:
                errors.append(f"HTTP {status}: {body[:200]!r}")
                break
            counts[k] += 1
            i += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    cpu_srv0, cpu_self0 = server.cpu_seconds(), self_cpu()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu_srv1, cpu_self1 = server.cpu_seconds(), self_cpu()
    if errors:
        raise RuntimeError(f"throughput errors: {errors[0]}")
    total = sum(counts)
    all_lat = [x for xs in lat for x in xs]
    return {"queries": total, "seconds": elapsed, "qps": total / elapsed, "clients": clients,
            "latency_p50_ms": pct(all_lat, 50), "latency_p95_ms": pct(all_lat, 95),
            "server_cpu_cores": (cpu_srv1 - cpu_srv0) / elapsed, "client_cpu_cores": (cpu_self1 - cpu_self0) / elapsed,
            "server_cpu_ms_per_query": (cpu_srv1 - cpu_srv0) * 1000 / max(1, total)}


def raw_throughput(raw: RawIndex, word_lists: list[list[str]], seconds: float) -> dict:
    specs = [{"kind": "rare", "words": w, "mode": "any"} for w in word_lists]
    n = 0
    cpu0 = self_cpu()
    t0 = time.perf_counter()
    end = t0 + seconds
    i = 0
    while time.perf_counter() < end:
        raw.run(specs[i % len(specs)])
        i += 1
        n += 1
    elapsed = time.perf_counter() - t0
    return {"queries": n, "seconds": elapsed, "qps": n / elapsed, "threads": 1, "cpu_cores": (self_cpu() - cpu0) / elapsed}


def read_segments(index_dir: Path) -> int | None:
    try:
        meta = json.loads((index_dir / "meta.json").read_text())
        return len(meta.get("segments", []))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=None, help="number of documents (default 1,000,000; 50,000 with --quick)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 50,000 docs, 3 rounds, short throughput windows")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved latency rounds (default 5; 3 with --quick)")
    ap.add_argument("--batch", type=int, default=1000, help="documents per batch/commit (default 1000)")
    ap.add_argument("--http-clients", type=int, default=4, help="concurrent bulk-indexing HTTP clients (default 4)")
    ap.add_argument("--wait-quiet", type=float, default=None,
                    help="before each timed phase wait up to this many seconds for other processes to use < 0.3 cores "
                         "(default 60; 10 with --quick; 0 disables)")
    ap.add_argument("--chunks", type=int, default=10, help="ingest slices, alternating weft/raw (default 10)")
    ap.add_argument("--qps-clients", type=int, default=8, help="concurrent clients in the throughput test (default 8)")
    ap.add_argument("--qps-seconds", type=float, default=None, help="duration of each HTTP throughput run (default 15; 5 with --quick)")
    ap.add_argument("--raw-qps-seconds", type=float, default=None, help="duration of each raw throughput run (default 10; 4 with --quick)")
    ap.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data", help="scratch dir, deleted and recreated (default bench/data)")
    ap.add_argument("--out", type=Path, default=None, help="report path (default bench/RESULTS.md; bench/RESULTS-quick.md with --quick)")
    args = ap.parse_args(argv)

    n = args.docs or (50_000 if args.quick else 1_000_000)
    rounds = args.rounds or (3 if args.quick else 5)
    if args.wait_quiet is None:
        args.wait_quiet = 10.0 if args.quick else 60.0
    qps_seconds = args.qps_seconds or (5.0 if args.quick else 15.0)
    raw_qps_seconds = args.raw_qps_seconds or (4.0 if args.quick else 10.0)
    out_md = args.out or (BENCH_DIR / ("RESULTS-quick.md" if args.quick else "RESULTS.md"))
    out_json = out_md.with_name(out_md.stem.replace("RESULTS", "results") + ".json")
    command = "/work/main/.venv/bin/python bench/run.py" + (" " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else "")

    data = args.data_dir.resolve()
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    run_t0 = time.perf_counter()
    results: dict = {"n": n, "rounds": rounds, "batch": args.batch, "command": command,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    log(f"weft benchmark: {n:,} docs, {rounds} latency rounds, data in {data}")
    results["machine"] = machine_notes(data)
    results["weft_source"] = source_fingerprint()
    monitor = LoadMonitor(budget=args.wait_quiet * 5)

    # 1. corpus
    corpus_path = data / "corpus.jsonl"
    log("generating corpus ...")
    gen_progress = Progress("generate", n)
    t = time.perf_counter()
    info = corpus.generate(n, str(corpus_path), progress=gen_progress.update)
    gen_progress.done(n)
    results["corpus"] = {"seconds": time.perf_counter() - t, "mib": info.bytes_written / 2**20,
                         "avg_desc_words": info.avg_desc_words, "median_price": info.median_price,
                         "vocabulary": corpus.VOCAB_SIZE, "categories": corpus.N_CATEGORIES, "tags": corpus.N_TAGS}

    # 2. weft over HTTP
    server = WeftServer(data / "weft", data / "weft.log", python=sys.executable)
    log(f"starting weft serve on 127.0.0.1:{server.port} ...")
    server.start()
    results["server_start_rss_mib"] = server.rss_mib()
    try:
        create_index(server)
        monitor.server_pid = server.pid
        log(f"bulk indexing: weft over HTTP ({args.http_clients} clients) and raw tantivy, {args.batch}-doc batches, "
            f"{args.chunks} interleaved chunks ...")
        raw, hb, rs = interleaved_ingest(server, data / "raw", corpus_path, n, args.batch, args.http_clients, args.chunks, monitor,
                                        args.wait_quiet)
        results["http_bulk"], results["raw_ingest"] = hb, rs
        log(f"  weft HTTP: {hb['docs_per_s']:,.0f} docs/s; raw: {rs['docs_per_s']:,.0f} docs/s; "
            f"ratio {hb['docs_per_s'] / rs['docs_per_s'] * 100:.0f}%")
        c = Connection(server.host, server.port)
        status, body = c.request(encode_request("GET", server.host, server.port,
                                                f"/indexes/{INDEX}/docs/$count?api-version={API_VERSION}", server.admin_key))
        c.close()
        hb["count_after"] = int(body) if status == 200 else None
        if hb["count_after"] != n:
            raise RuntimeError(f"weft holds {body!r} documents, expected {n}")
        weft_index_dir = data / "weft" / "search" / "indexes" / INDEX
        hb["segments"] = read_segments(weft_index_dir)
        hb["index_mib"] = dir_mib(weft_index_dir)
        hb["server_rss_mib"] = server.rss_mib()
        rs["segments"] = raw.num_segments()
        rs["index_mib"] = dir_mib(data / "raw")

        # 4. queries
        log("choosing queries from exact document frequencies ...")
        qs = make_queries(raw, info, n)
        results["query_meta"] = qs["meta"]
        results["queries"] = qs["queries"]
        specs = [s for k in QUERY_KINDS for s in qs["queries"][k]]
        conn = Connection(server.host, server.port)
        search_path = f"/indexes/{INDEX}/docs/search?api-version={API_VERSION}"
        encoded = {id(s): json_request("POST", server.host, server.port, search_path, server.admin_key, weft_body(s)) for s in specs}

        def weft_http(spec: dict) -> dict:
            status, body = conn.request(encoded[id(spec)])
            if status != 200:
                raise RuntimeError(f"search failed: {status} {body[:300]!r} for {weft_body(spec)}")
            return _Lazy(body)

        def raw_tantivy(spec: dict) -> dict:
            res = raw.run(spec, TOP)
            return _RawResult(res)

        log(f"query latency: {len(specs)} queries x {rounds} rounds, weft (HTTP) and raw interleaved ...")
        monitor.wait_quiet(args.wait_quiet)
        tok = monitor.start()
        lat = latency_phase({"weft_http": weft_http, "raw": raw_tantivy}, specs, rounds, corpus.SEED)
        monitor.stop(tok, "latency")
        # HTTP floor: the cheapest authenticated request weft serves (docs/$count)
        floor_req = encode_request("GET", server.host, server.port, f"/indexes/{INDEX}/docs/$count?api-version={API_VERSION}", server.admin_key)
        floor = []
        for _ in range(300):
            t = time.perf_counter()
            conn.request(floor_req)
            floor.append((time.perf_counter() - t) * 1000)
        conn.close()
        results["http_floor_ms"] = {"p50": pct(floor, 50), "p95": pct(floor, 95)}
        results["latency"] = summarize(lat["times"], lat["paired_diff"])
        results["agreement_http_vs_raw"] = agreement(specs, {k: [(i, r.materialize()) for i, r in v] for k, v in lat["first"].items()},
                                                     "weft_http", "raw")
        results["raw_samples_ms"] = lat["times"]

        # 5. throughput
        results["throughput"] = {}
        for label, words in qs["throughput"].items():
            log(f"throughput over HTTP, {args.qps_clients} clients, {qps_seconds:.0f}s: {label} ...")
            monitor.wait_quiet(args.wait_quiet)
            tok = monitor.start()
            h = http_throughput(server, words, args.qps_clients, qps_seconds)
            h["foreign_cores"] = monitor.stop(tok, "throughput")
            log(f"  weft: {h['qps']:,.0f} q/s (p50 {h['latency_p50_ms']:.2f} ms; server {h['server_cpu_cores']:.2f} cores)")
            monitor.wait_quiet(args.wait_quiet)
            tok = monitor.start()
            r_ = raw_throughput(raw, words, raw_qps_seconds)
            r_["foreign_cores"] = monitor.stop(tok, "throughput")
            log(f"  raw single thread: {r_['qps']:,.0f} q/s")
            results["throughput"][label] = {"weft_http": h, "raw_1thread": r_}
        results["server_rss_after_queries_mib"] = server.rss_mib()
        results["server_threads"] = proc_threads(server.pid)
    finally:
        code, secs = server.stop()
        results["server_stop"] = {"exit_code": code, "seconds": secs}
        log(f"weft stopped (exit {code}, {secs:.1f}s)")

    # 6. the service layer in-process, without HTTP (same index files), vs raw again
    log("weft SearchService in-process (no HTTP) vs raw, interleaved ...")
    from weft.search.service import SearchService  # noqa: E402

    service = SearchService(data / "weft" / "search")
    try:
        def weft_service(spec: dict) -> dict:
            return _ServiceResult(service.search(INDEX, weft_body(spec)))

        def raw_tantivy2(spec: dict) -> dict:
            return _RawResult(raw.run(spec, TOP))

        monitor.server_pid = None
        tok = monitor.start()
        lat2 = latency_phase({"weft_service": weft_service, "raw": raw_tantivy2}, specs, max(2, rounds - 2), corpus.SEED + 1)
        monitor.stop(tok, "latency (in-process)")
        results["latency_service"] = summarize(lat2["times"], lat2["paired_diff"])
    finally:
        service.close()

    results["total_seconds"] = time.perf_counter() - run_t0
    results["foreign_load_cores"] = monitor.summary()
    results["waited_for_quiet_s"] = getattr(monitor, "waited", 0.0)
    results.pop("raw_samples_ms", None)
    out_json.write_text(json.dumps(results, indent=1, default=str))
    rendered = report.render(results, KIND_LABELS, QUERY_KINDS, out_json.name)
    if out_md.exists():  # the sections other benchmarks keep in this file (<!-- name:begin --> ... <!-- name:end -->)
        import re

        kept = re.findall(r"<!-- [a-z-]+:begin -->.*?<!-- [a-z-]+:end -->", out_md.read_text(), flags=re.S)
        rendered = rendered.rstrip("\n") + "".join("\n\n" + block for block in kept) + "\n"
    out_md.write_text(rendered)
    log(f"done in {results['total_seconds'] / 60:.1f} min: {out_md} and {out_json}")
    print(report.summary_lines(results, KIND_LABELS, QUERY_KINDS))
    return 0


class _Lazy:
    """A weft HTTP response, decoded only when the agreement check needs it (outside the timings)."""

    def __init__(self, body: bytes):
        self.body = body

    def materialize(self) -> dict:
        return parse_weft(self.body)


class _RawResult:
    def __init__(self, res: dict):
        self.res = res

    def materialize(self) -> dict:
        hits = self.res["hits"]
        out = {"ids": [h["id"] for h in hits], "scores": [h["score"] for h in hits], "prices": [h["price"] for h in hits]}
        if "facets" in self.res:
            out["facets"] = self.res["facets"]
        return out


class _ServiceResult:
    def __init__(self, res: dict):
        self.res = res

    def materialize(self) -> dict:
        out = {"ids": [v["id"] for v in self.res["value"]]}
        if "@search.facets" in self.res:
            out["facets"] = [(e["value"], e["count"]) for e in self.res["@search.facets"].get("category", [])]
        return out


if __name__ == "__main__":
    sys.exit(main())
