#!/usr/bin/env python3
"""Scoring-profile cost: text queries with a freshness + magnitude profile against the same queries without a
profile, interleaved per query in one run, through weft's SearchService in-process (no HTTP, so the ratio is the
engine's and the ranking code's alone; HTTP would add the same fixed cost to both sides).

    /work/main/.venv/bin/python bench/ranking/run.py [--docs 1000000] [--rounds 5] [--keep DIR]

The corpus is bench/corpus.py's product catalogue (created 2020-2024, lognormal prices). The profile:
freshness on `created` (boost 3, P3000D, linear) + magnitude on `price` (boost 2, 0 -> 50, linear), sum.
Every profiled result page is also checked against the exact answer (all matches rescored by the same
formula) for a sample of queries. Writes bench/ranking/RESULTS.md and its section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
import corpus  # noqa: E402

from weft.search.service import SearchService  # noqa: E402

INDEX = "products"
PROFILE = {
    "name": "fresh_cheap",
    "functionAggregation": "sum",
    "functions": [
        {"type": "freshness", "fieldName": "created", "boost": 3, "interpolation": "linear", "freshness": {"boostingDuration": "P3000D"}},
        {"type": "magnitude", "fieldName": "price", "boost": 2, "interpolation": "linear",
         "magnitude": {"boostingRangeStart": 0, "boostingRangeEnd": 50, "constantBoostBeyondRange": False}},
    ],
}
DEFINITION = {
    "name": INDEX,
    "fields": [
        {"name": "id", "type": "Edm.String", "key": True, "filterable": True},
        {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "description", "type": "Edm.String", "searchable": True},
        {"name": "category", "type": "Edm.String", "filterable": True, "facetable": True},
        {"name": "price", "type": "Edm.Double", "filterable": True, "sortable": True},
        {"name": "inStock", "type": "Edm.Boolean", "filterable": True},
        {"name": "tags", "type": "Collection(Edm.String)", "filterable": True},
        {"name": "created", "type": "Edm.DateTimeOffset", "filterable": True, "sortable": True},
    ],
    "scoringProfiles": [PROFILE],
}
KINDS = {"rare": (20, 200), "mid": (2_000, 20_000), "common": (50_000, 400_000)}


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def queries(info, n_docs: int, per_kind: int, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    scale = n_docs / 1_000_000
    for kind, (lo, hi) in KINDS.items():
        ranks = corpus.rank_by_expected_df(info, max(5, lo * scale), max(10, hi * scale))
        picked = rng.sample(ranks, min(per_kind, len(ranks)))
        out += [(kind, info.vocabulary[r]) for r in picked]
        if kind == "mid":  # two-term OR queries of mid-frequency words
            out += [("or2", f"{info.vocabulary[a]} {info.vocabulary[b]}") for a, b in zip(picked, reversed(picked))][:per_kind]
    return out


def pct(values, q):
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (k - lo)


def _multiplier(doc: dict, now: float) -> float:
    """docs/ranking.md's formula for this profile, written out here."""
    import datetime as dt

    m = 1.0
    age_days = (now - dt.datetime.fromisoformat(doc["created"].replace("Z", "+00:00")).timestamp()) / 86400
    if 0 <= age_days <= 3000:
        m += (3 - 1) * (1 - age_days / 3000)
    x = doc["price"] / 50
    if 0 <= x <= 1:
        m += (2 - 1) * (1 - (1 - x))
    return m


def exact_check(service, text: str) -> bool | None:
    """The profiled top 10 against every match rescored here (None: too many matches to brute-force)."""
    plain = service.search(INDEX, {"search": text, "top": 1000, "select": "id,created,price"})
    if len(plain["value"]) >= 1000:
        return None
    now = time.time()
    top = service.search(INDEX, {"search": text, "top": 10, "select": "id", "scoringProfile": "fresh_cheap"})
    want = sorted(((v["@search.score"] * _multiplier(v, now), v["id"]) for v in plain["value"]), key=lambda t: -t[0])[:10]
    got = [(v["@search.score"], v["id"]) for v in top["value"]]
    return len(got) == len(want) and all(abs(a[0] - b[0]) <= 1e-6 * max(1.0, b[0]) for a, b in zip(got, want))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-kind", type=int, default=20)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--keep", metavar="DIR", help="build the index in DIR and keep it; a later run with the same DIR "
                    "and --docs reuses it (queries only)")
    args = ap.parse_args()
    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="weft-ranking-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    built = scratch / f"built-{args.docs}"
    try:
        path = scratch / "corpus.jsonl"
        if built.exists():
            info = corpus.corpus_info(args.docs)
        else:
            log(f"corpus of {args.docs:,} documents ...")
            info = corpus.generate(args.docs, str(path))
        service = SearchService(scratch / "search")
        if built.exists():
            load_seconds = float(built.read_text())
            log(f"reusing the index built in {scratch} ({load_seconds:.0f} s to load)")
        else:
            if args.keep:
                shutil.rmtree(scratch / "search", ignore_errors=True)
                service = SearchService(scratch / "search")
            service.create_index(DEFINITION)
            t0 = time.perf_counter()
            done = 0
            for batch in corpus.read_batches(str(path), args.batch):
                service.apply_batch(INDEX, {"value": [orjson.loads(line) for line in batch]})
                done += len(batch)
                if done % 100_000 < args.batch:
                    log(f"  loaded {done:,} ({done / (time.perf_counter() - t0):,.0f} docs/s)")
            load_seconds = time.perf_counter() - t0
            built.write_text(f"{load_seconds:.1f}")
            path.unlink()
        rng = random.Random(7)
        qs = queries(info, args.docs, args.per_kind, rng)
        load_at_queries = " ".join(f"{x:.1f}" for x in os.getloadavg())
        log(f"{len(qs)} queries x {args.rounds} rounds, interleaved ...")
        for _, text in qs:  # warm-up
            service.search(INDEX, {"search": text, "top": 10})
            service.search(INDEX, {"search": text, "top": 10, "scoringProfile": "fresh_cheap"})
        times: dict[str, dict[str, list[float]]] = {k: {"plain": [], "profile": []} for k in ("rare", "mid", "or2", "common")}
        for r in range(args.rounds):
            for kind, text in qs:
                order = ("plain", "profile") if (r + hash(text)) % 2 else ("profile", "plain")
                for side in order:
                    body = {"search": text, "top": 10, "select": "id,title,price"}
                    if side == "profile":
                        body["scoringProfile"] = "fresh_cheap"
                    t = time.perf_counter()
                    service.search(INDEX, body)
                    times[kind][side].append((time.perf_counter() - t) * 1000)
        checked = [exact_check(service, text) for _, text in qs[:: max(1, len(qs) // 20)]]
        service.close()
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    rows = []
    for kind, sides in times.items():
        if not sides["plain"]:
            continue
        p, q = statistics.median(sides["plain"]), statistics.median(sides["profile"])
        rows.append(f"| {kind} | {p:.2f} | {q:.2f} | {q / p:.2f}x | {pct(sides['plain'], 95):.2f} | {pct(sides['profile'], 95):.2f} |")
    allp = [x for s in times.values() for x in s["plain"]]
    allq = [x for s in times.values() for x in s["profile"]]
    rows.append(f"| **all** | {statistics.median(allp):.2f} | {statistics.median(allq):.2f} | "
                f"{statistics.median(allq) / statistics.median(allp):.2f}x | {pct(allp, 95):.2f} | {pct(allq, 95):.2f} |")
    table = "\n".join([
        f"{args.docs:,} documents (bench/corpus.py), loaded in-process in {load_seconds:.0f} s; {len(qs)} text queries "
        f"(rare df 20-200, mid df 2k-20k, two-term OR of mid words, common df 50k-400k, scaled to the corpus size) x "
        f"{args.rounds} rounds, top 10, the two sides interleaved per query; SearchService in-process (no HTTP). "
        "Profile `fresh_cheap`: freshness on `created` (boost 3, P3000D) + magnitude on `price` (boost 2, 0 -> 50), sum "
        "(largest multiplier 4 from the boosts; the window's bound uses the index's own newest date and largest price, "
        "docs/ranking.md \"Exactness and cost\"). Load average at the start of the queries: " + load_at_queries + "; at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores.",
        "",
        "| query | p50 ms, no profile | p50 ms, profile | ratio | p95 ms, no profile | p95 ms, profile |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Exactness: the profiled top-10 scores equalled every match rescored by the formula (computed by the benchmark "
        f"itself) for {sum(1 for c in checked if c)}/{sum(1 for c in checked if c is not None)} sampled queries with fewer than "
        "1,000 matches.",
    ])
    (ROOT / "bench" / "ranking" / "RESULTS.md").write_text("# Scoring-profile cost (bench/ranking/run.py)\n\n" + table + "\n")
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else ""
    block = "<!-- ranking:begin -->\n## Scoring profiles: text queries with and without a freshness + magnitude profile\n\n" + table + "\n<!-- ranking:end -->"
    if "<!-- ranking:begin -->" in text:
        text = re.sub(r"<!-- ranking:begin -->.*<!-- ranking:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
