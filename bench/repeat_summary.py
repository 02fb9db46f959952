"""Medians over repeated full runs of bench/run.py: the bulk-indexing rows, into a block of bench/RESULTS.md.

    python bench/repeat_summary.py run1/results.json run2/results.json run3/results.json

bench/run.py rewrites bench/RESULTS.md on every run (keeping the marked blocks of other benchmarks); copy each
run's results.json aside, then run this to keep the repeated runs' bulk-indexing numbers beside the last run's
tables, in the `bulk-repeats` block.
"""
from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- bulk-repeats:begin -->", "<!-- bulk-repeats:end -->"


def block(runs: list[dict]) -> str:
    rows = []
    for r in runs:
        h, raw = r["http_bulk"], r["raw_ingest"]
        rows.append((r["started"], h["docs_per_s"], raw["docs_per_s"], h["docs_per_s"] / raw["docs_per_s"],
                     h["server_cpu_s"] / h["docs"] * 1e6, raw["cpu_s"] / raw["docs"] * 1e6, r["foreign_load_cores"].get("ingest", float("nan"))))
    med = lambda i: statistics.median(row[i] for row in rows)  # noqa: E731
    out = [BEGIN, f"## Bulk indexing, repeated full runs ({len(runs)} x {runs[0]['n']:,} documents, `bench/repeat_summary.py`)", "",
           "Each row one complete `bench/run.py` run (the tables above are the last one). CPU per document includes the "
           "background merges; other load = CPU of other processes on the machine during the ingest phase, in cores of 2.", "",
           "| run started | weft HTTP docs/s | raw tantivy docs/s | weft / raw | weft server CPU µs/doc | raw CPU µs/doc | other load, cores |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for started, w, rw, ratio, wc, rc, fl in rows:
        out.append(f"| {started} | {w:,.0f} | {rw:,.0f} | {ratio:.0%} | {wc:.0f} | {rc:.0f} | {fl:.2f} |")
    out.append(f"| **median** | **{med(1):,.0f}** | **{med(2):,.0f}** | **{med(3):.0%}** | {med(4):.0f} | {med(5):.0f} | {med(6):.2f} |")
    out += ["", END]
    return "\n".join(out)


def main(paths: list[str]) -> None:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    text = block(runs)
    current = RESULTS.read_text()
    if BEGIN in current:
        current = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: text, current, flags=re.S)
    else:
        marker = "\n## Query latency"
        at = current.index(marker) if marker in current else len(current)
        current = current[:at].rstrip("\n") + "\n\n" + text + "\n" + current[at:]
    RESULTS.write_text(current)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
