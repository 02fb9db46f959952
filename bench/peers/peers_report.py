"""The peers section of bench/RESULTS.md: tables, versions, loads per phase."""
from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

from common import PG_DSN, ROOT

BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
RESULTS = ROOT / "bench" / "RESULTS.md"
PACKAGES = ("lancedb", "pyarrow", "chromadb", "qdrant-client", "faiss-cpu", "openai-agents", "langgraph",
            "langgraph-checkpoint-sqlite", "langgraph-checkpoint-postgres", "psycopg", "tantivy", "numpy")


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (missing)")
    found.append(f"SQLite {sqlite3.sqlite_version}")
    try:
        import psycopg

        with psycopg.connect(PG_DSN) as conn:
            found.append("PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0])
    except Exception:  # noqa: BLE001
        found.append("PostgreSQL (unreachable)")
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return f"weft {commit}; " + ", ".join(found)


def _f(value: float, fmt: str = ",.0f") -> str:
    return "n/a" if value != value else format(value, fmt)


def section(r: dict) -> str:
    s = r["sizes"]
    out = [BEGIN, "## weft against its peers (`bench/peers/run.py`)", "",
           f"Run {r['started']} on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}: "
           f"`bench/peers/run.py {r['command']}` — "
           + ", ".join(part for key, part in (("text", f"{s['docs']:,} documents"), ("vectors", f"{s['vectors']:,} x {s['dims']} vectors"),
                                             ("conversations", f"{s['appends']} appends per round")) if key in r)
           + ". Peers run in process (their usual deployment); weft over HTTP unless "
           "marked library. Load average (1 min) at start/end of each phase: "
           + "; ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in r["loads"].items())
           + ". The machine is shared with other work, so absolute numbers move between runs; compare within a table.",
           "", f"Versions: {versions()}.", ""]
    if "text" in r:
        t = r["text"]
        first = next(iter(t["load"]))
        out += ["### Full text: bulk load and one-/two-term queries", "",
                "Load = documents/s until the last one is searchable (weft: `$count` sees them all; LanceDB: with its FTS "
                "index build). Query columns: p50 ms (in process for the peers, over HTTP for weft), top 10. "
                f"Overlap = mean top-10 overlap with {first}; a peer that does not rank with BM25 is marked.", "",
                "| system | ranking | durability | load docs/s | " + " | ".join(f"{c} p50 ms" for c in t["queries"]) +
                " | " + " | ".join(f"{c} overlap" for c in t["queries"]) + " |",
                "| --- | --- | --- | --- | " + " | ".join("---" for _ in t["queries"]) + " | " + " | ".join("---" for _ in t["queries"]) + " |"]
        for name, rate in t["load"].items():
            ranking, durability = t["meta"][name]
            mark = "" if ranking.startswith("BM25") else " **(ranks differently)**"
            out.append(f"| {name} | {ranking}{mark} | {durability} | {_f(rate)} | "
                       + " | ".join(_f(t["latency"][name][c], ".2f") for c in t["queries"]) + " | "
                       + " | ".join(_f(t["overlap"][name][c], ".2f") for c in t["queries"]) + " |")
        out += ["", f"Queries per class: {', '.join(f'{c} {n}' for c, n in t['queries'].items())}; 3 interleaved rounds "
                "(the order of systems rotates every query).", ""]
    if "vectors" in r:
        v = r["vectors"]
        out += ["### Vectors: build and top-10 queries (cosine)", "",
                "Build = vectors/s until all are queryable (weft: client JSON encoding excluded). Recall@10 against exact "
                "search. 2 interleaved rounds of every query.", "",
                "| system | method | build vectors/s | p50 ms | p99 ms | recall@10 |", "| --- | --- | --- | --- | --- | --- |"]
        for name in v["build"]:
            out.append(f"| {name} | {v['method'][name]} | {_f(v['build'][name])} | {_f(v['p50'][name], '.2f')} | "
                       f"{_f(v['p99'][name], '.2f')} | {_f(v['recall'][name], '.3f')} |")
        if "qdrant_persistent" in v:
            out.append(f"\nQdrant's persistent local mode (`QdrantClient(path=...)`) stored {_f(v['qdrant_persistent'])} vectors/s "
                       "on the first 2,000 vectors, so the table uses its in-memory local mode.")
        out.append("")
    if "conversations" in r:
        c = r["conversations"]
        out += ["### Conversation storage", "",
                "One writer appends one message at a time (each committed); then 200 reads of the newest 20. Medians of 3 "
                "interleaved rounds (min-max). weft audits every append in the same transaction and every read "
                "(read records are buffered and stored with the next write or within 0.2 s; see docs/threads.md).", "",
                "| system | appends/s (min-max) | newest 20, ms | weft / raw INSERT of the same engine |", "| --- | --- | --- | --- |"]
        for name, rate in c["appends"].items():
            lo, hi = c["spread"][name]
            ratio = c["ratios"].get(name)
            out.append(f"| {name} | {_f(rate)} ({_f(lo)}-{_f(hi)}) | {_f(c['newest20_ms'][name], '.3f')} | "
                       f"{'' if ratio is None else format(ratio, '.0%')} |")
        for name, (mid, lo, hi, blocks, size) in c.get("paired", {}).items():
            out.append(f"\n{name} / raw INSERT of the same engine in {blocks} alternating blocks of {size} appends (both "
                       f"systems in the same moments of a shared machine): median {mid:.0%} ({lo:.0%}-{hi:.0%}).")
        out += ["", "Concurrent writers on one conversation (16 threads, or 16 asyncio tasks for SQLiteSession):", "",
                "| system | appends attempted | stored | lost | refused with an error |", "| --- | --- | --- | --- | --- |"]
        for name, (attempted, stored, refused) in c["lost"].items():
            lost = attempted - stored - refused
            out.append(f"| {name} | {attempted} | {stored} | {lost} ({lost / attempted:.0%}) | {refused} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


PHASE_TITLES = {"text": "### Full text", "vectors": "### Vectors", "conversations": "### Conversation storage"}


def _blocks(section_text: str) -> tuple[str, list[str]]:
    """A peers section as its head (up to the first ``###``) and its ``###`` blocks, in order."""
    body = section_text.replace(BEGIN, "").replace(END, "").strip("\n")
    parts = body.split("\n### ")
    return parts[0], ["### " + p for p in parts[1:]]


def merge(text: str, previous: str, phases: set[str]) -> str:
    """The section for a run of only some phases: the new blocks of those phases replace the old ones in
    place; the other blocks (earlier runs' tables, notes) stay, under the earlier run's head, and the new
    blocks carry their own run line."""
    if phases >= set(PHASE_TITLES):
        return text
    new_head, new_blocks = _blocks(text)
    old_head, old_blocks = _blocks(previous)
    run_line = next((line for line in new_head.splitlines() if line.startswith("Run ")), "")
    versions = next((line for line in new_head.splitlines() if line.startswith("Versions: ")), "")
    head, _, listed = versions.partition("; ")
    versions = head + "; " + ", ".join(v for v in listed.split(", ") if not v.endswith("(missing)"))  # peers of phases not run
    fresh = {}
    for block in new_blocks:
        title, _, rest = block.partition("\n")
        fresh[next(p for p, t in PHASE_TITLES.items() if title.startswith(t))] = f"{title}\n\n{run_line}\n\n{versions}\n{rest}"
    out, placed = [], set()
    for block in old_blocks:
        phase = next((p for p, t in PHASE_TITLES.items() if block.startswith(t)), None)
        if phase in fresh:
            if phase not in placed:
                out.append(fresh[phase])
                placed.add(phase)
        else:
            out.append(block)
    out += [block for phase, block in fresh.items() if phase not in placed]
    return "\n".join([BEGIN, old_head.strip("\n"), "", *[b.rstrip("\n") + "\n" for b in out]]).rstrip("\n") + "\n" + END


def write(text: str, path: Path = RESULTS, phases: set[str] | None = None) -> None:
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        previous = current[current.index(BEGIN):current.index(END) + len(END)]
        if phases is not None:
            text = merge(text, previous, phases)
        current = current[:current.index(BEGIN)] + text + current[current.index(END) + len(END):]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(current)


BULK_BEGIN, BULK_END = "<!-- peers-bulk:begin -->", "<!-- peers-bulk:end -->"


def bulk_section(r: dict, command: str, started: str) -> str:
    """Bulk loading alone (`run.py --phases load`): medians of the rounds, the spread, load averages, weft's server CPU."""
    import statistics

    t = r["text_load"]
    out = [BULK_BEGIN, "### Full text bulk loading alone, repeated (`bench/peers/run.py --phases load`)", "",
           f"Run {started}: `bench/peers/run.py {command}` — {t['docs']:,} documents (id + one searchable text field, "
           f"1,000 per batch, one client waiting for each answer), {t['rounds']} rounds, the order of systems rotating "
           "each round. Medians (min-max). Load = 1-minute load average before each load (2 cores, shared).", "",
           f"Versions: {versions()}.", "",
           "| system | durability | load docs/s, median (min-max) | load average before each round | weft server CPU µs/doc |",
           "| --- | --- | --- | --- | --- |"]
    for name, rates in t["rates"].items():
        cpu = t["server_cpu_us"].get(name)
        out.append(f"| {name} | {t['meta'][name][1]} | {_f(statistics.median(rates))} ({_f(min(rates))}-{_f(max(rates))}) | "
                   + ", ".join(f"{x:.1f}" for x in t["loads"][name]) + " | "
                   + ("" if not cpu else f"{statistics.median(cpu):.0f}") + " |")
    out += ["", BULK_END]
    return "\n".join(out)


def write_bulk(text: str, path: Path = RESULTS) -> None:
    """Replaces only the bulk-loading block (kept right after the peers section), leaving the rest alone."""
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    if BULK_BEGIN in current and BULK_END in current:
        current = current[:current.index(BULK_BEGIN)] + text + current[current.index(BULK_END) + len(BULK_END):]
    elif END in current:
        at = current.index(END) + len(END)
        current = current[:at] + "\n\n" + text + current[at:]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(current)
