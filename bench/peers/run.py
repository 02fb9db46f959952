"""weft against the tools a user would pick instead, side by side on this machine, in one run.

    .venv/bin/python bench/peers/run.py            # 100k documents, 100k x 384 vectors, 800 appends
    .venv/bin/python bench/peers/run.py --small    # a quick check (5k / 5k / 100)

The peers are benchmark-only dependencies (bench/peers/requirements.txt). They live in their own
virtualenv, bench/peers/.venv (gitignored), which this script creates on first use and then re-runs
itself in; weft's own test venv stays lean. Phases: full-text load and queries (weft over HTTP,
SQLite FTS5, PostgreSQL tsvector+GIN, LanceDB native FTS), vectors (weft over HTTP, Chroma, Qdrant
local mode, FAISS HNSW, LanceDB), conversation storage (weft library and HTTP, openai-agents'
SQLiteSession, LangGraph's SQLite/PostgreSQL checkpointers, raw INSERT). Each phase notes the load
average; queries and appends are interleaved across systems. Writes its section of bench/RESULTS.md
(between the peers markers), keeping the other sections.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
VENV_PYTHON = VENV / "bin" / "python"


def ensure_venv() -> None:
    """Re-run inside bench/peers/.venv, creating it (peers + weft's own dependencies) when missing."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not VENV_PYTHON.exists():
        print(f"creating {VENV} (peers from {HERE / 'requirements.txt'})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "-r", str(HERE / "requirements.txt")], check=True)
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "-e", str(HERE.parents[1])], check=True)
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="5,000 documents / 5,000 vectors / 100 appends")
    parser.add_argument("--docs", type=int)
    parser.add_argument("--vectors", type=int)
    parser.add_argument("--appends", type=int)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--phases", default="text,vectors,conversations")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave bench/RESULTS.md alone")
    parser.add_argument("--load-rounds", type=int, default=3, help="rounds of the 'load' phase (bulk loading alone)")
    parser.add_argument("--load-systems", default="weft,sqlite,postgres,lancedb",
                        help="systems of the 'load' phase: weft, weft-defaults, sqlite, postgres, lancedb")
    parser.add_argument("--this-venv", action="store_true",
                        help="run in the current interpreter (weft's own venv): the 'load' phase needs no peer packages "
                             "for weft, SQLite and PostgreSQL; systems whose package is missing are skipped")
    args = parser.parse_args()
    if not args.this_venv:
        ensure_venv()

    sys.path.insert(0, str(HERE))
    import shutil
    import tempfile
    import time

    import conversation_peers
    import peers_report as report
    import text_peers
    import vector_peers
    from common import Phase, Weft, log

    docs = args.docs or (5_000 if args.small else 100_000)
    vectors = args.vectors or (5_000 if args.small else 100_000)
    appends = args.appends or (100 if args.small else 800)
    folder = Path(tempfile.mkdtemp(prefix="weft-peers-"))
    results: dict = {"sizes": {"docs": docs, "vectors": vectors, "dims": args.dims, "appends": appends},
                     "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": " ".join(sys.argv[1:])}
    phases = set(args.phases.split(","))
    weft = Weft(folder / "weft")
    try:
        if phases == {"load"}:  # bulk loading alone, repeated; its own block of bench/RESULTS.md
            import importlib.util

            systems = [s for s in args.load_systems.split(",")
                       if s != "lancedb" or importlib.util.find_spec("lancedb") is not None]
            results["text_load"] = text_peers.run_load(folder, weft, docs, args.load_rounds, systems)
            weft.close()
            shutil.rmtree(folder, ignore_errors=True)
            section = report.bulk_section(results, results["command"], results["started"])
            print(section)
            if not args.no_write:
                report.write_bulk(section)
                log("wrote bench/RESULTS.md (peers bulk-loading block)")
            return
        if "text" in phases:
            results["text"] = text_peers.run(folder, weft, docs, per_class=10 if args.small else 20, rounds=3)
        if "vectors" in phases:
            results["vectors"] = vector_peers.run(folder, weft, vectors, args.dims, n_queries=100 if args.small else 200, rounds=2)
        if "conversations" in phases:
            results["conversations"] = conversation_peers.run(folder, weft, appends, reads=200, rounds=3, writers=16,
                                                              per_writer=10 if args.small else 25)
    finally:
        weft.close()
        shutil.rmtree(folder, ignore_errors=True)
    results["loads"] = dict(Phase.loads)
    section = report.section(results)
    print(section)
    if not args.no_write:
        report.write(section, phases=phases)  # a run of some phases replaces only their blocks
        log("wrote bench/RESULTS.md (peers section)")


if __name__ == "__main__":
    main()
