"""What a stored response adds per turn: weft's /v1/responses loop against the model's own latency.

A fake OpenAI-compatible chat server (tests/threads/fake_llm.py, real HTTP) answers after a fixed delay.
Each round times, interleaved, turn by turn: the bare chat call to that server (the model's latency as
weft sees it), a response with ``store: false`` (no storage), a stored response, a stored response chained
with ``previous_response_id`` (chains of 10 turns: each turn reads its ancestors), and a stored response
on a conversation (lock, history, atomic append, record). The overhead of a kind is its p50 minus the
bare call's p50 in the same round. SQLite (file, WAL, synchronous=FULL) and PostgreSQL. In process, no
HTTP (the HTTP layer is the same for every kind). Writes its section of bench/threads/RESULTS.md.

    .venv/bin/python -m bench.threads.responses_overhead [--rounds 5] [--turns 60] [--latency-ms 20] [--backends sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.threads.bench_appends import PG_URL, RESULTS
from tests.threads.fake_llm import FakeChatServer
from weft.agents.responses import ResponsesService
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.policy import Principal
from weft.threads.records import AuditRecord
from weft.threads.service import ThreadService
from weft.threads.settings import ThreadsSettings
from weft.threads.store import SqlThreadStore

BEGIN, END = "<!-- responses:begin -->", "<!-- responses:end -->"
KINDS = ("bare chat call", "one committed store write (reference)", "store:false", "stored", "stored, previous_response_id chain", "stored, on a conversation")
CHAIN = 10


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def one_round(url: str, fake: FakeChatServer, turns: int) -> dict[str, float]:
    prefix = f"bresp_{uuid.uuid4().hex[:8]}_"
    store = SqlThreadStore(url, table_prefix=prefix)
    service = ThreadService(store)
    settings = ThreadsSettings(database_url=url, llm_base_url=fake.base_url, llm_model="fake", history_token_budget=100_000)
    responses = ResponsesService(service, settings)
    bare = ChatEndpoint(fake.base_url, None)
    who = Principal.library("bench")
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    conversation = service.create_conversation(who)[0].id
    previous = None
    try:
        for turn in range(turns):
            question = f"question {turn} " + "x" * 150
            started = time.perf_counter()
            bare.complete({"model": "fake", "messages": [{"role": "user", "content": question}]})
            times[KINDS[0]].append(time.perf_counter() - started)
            started = time.perf_counter()
            store.insert_audit(AuditRecord(0, "bench", "bench", "bench.write", "ok"))
            times[KINDS[1]].append(time.perf_counter() - started)
            for kind, body in ((KINDS[2], {"input": question, "store": False}), (KINDS[3], {"input": question}),
                               (KINDS[4], {"input": question, "previous_response_id": previous}),
                               (KINDS[5], {"input": question, "conversation": conversation})):
                started = time.perf_counter()
                made = responses.create(who, {k: v for k, v in body.items() if v is not None})
                times[kind].append(time.perf_counter() - started)
                if kind == KINDS[4]:
                    previous = made["id"] if (turn + 1) % CHAIN else None
            if turn % 20 == 19:  # a fresh conversation now and then: its history stays short, like the chains
                conversation = service.create_conversation(who)[0].id
    finally:
        responses.close()
        bare.close()
        store.flush_audit()
        store.tables.metadata.drop_all(store.engine)
        store.close()
    return {k: p50(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--turns", type=int, default=60)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args(argv)
    fake = FakeChatServer(delay=args.latency_ms / 1000).start()
    tmp = Path(tempfile.mkdtemp(prefix="weft-bench-resp-"))
    urls = {"sqlite": f"sqlite:///{tmp / 'threads.sqlite3'}", "postgresql": PG_URL}
    results: dict[str, list[dict]] = {}
    load = []
    try:
        for n in range(args.rounds):
            for backend in args.backends.split(","):
                if backend == "sqlite":
                    (tmp / "threads.sqlite3").unlink(missing_ok=True)
                load.append(os.getloadavg()[0])
                results.setdefault(backend, []).append(one_round(urls[backend], fake, args.turns))
                print(f"round {n + 1} {backend}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in results[backend][-1].items()))
    finally:
        fake.stop()
    lines = [BEGIN, "## Stored responses: overhead per turn (issue 15)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}: `python -m bench.threads.responses_overhead --rounds {args.rounds} --turns {args.turns} "
             f"--latency-ms {args.latency_ms:g}`. Fake chat model over HTTP at {args.latency_ms:g} ms; in process; per round the "
             f"p50 of {args.turns} turns of each kind, interleaved; median (min-max) over {args.rounds} rounds of the per-round "
             f"overhead = p50(kind) - p50(bare chat call). Load average {min(load):.1f}-{max(load):.1f} during the run "
             "(a shared machine).", "",
             "| backend | kind | p50 per turn, ms | weft's overhead, ms | overhead beyond one committed write, ms | target |",
             "| --- | --- | --- | --- | --- | --- |"]
    for backend, rounds in results.items():
        for kind in KINDS:
            totals = [r[kind] for r in rounds]
            over = [r[kind] - r[KINDS[0]] for r in rounds]
            beyond = [r[kind] - r[KINDS[0]] - r[KINDS[1]] for r in rounds]  # what is not the one durable commit's fsync
            cell = f"{statistics.median(over):.2f} ({min(over):.2f}-{max(over):.2f})" if kind not in KINDS[:2] else ""
            rest = f"{statistics.median(beyond):.2f}" if kind.startswith("stored") else ""
            lines.append(f"| {backend} | {kind} | {statistics.median(totals):.2f} | {cell} | {rest} | {'<= 5' if kind.startswith('stored') else ''} |")
    lines += ["", "A stored response commits once (its record with its input items: one transaction). A response on a "
              "conversation takes the conversation's lease (a write that is not flushed to disk: SQLite synchronous=NORMAL, "
              "PostgreSQL synchronous_commit off for it; weft.threads.turn_store) and, after the model answered, commits ONCE: "
              "input and output appended, the lease released and the response's record stored in one transaction, with "
              "the audit rows of the turn and of its reads. The reference row is one committed write of the same store "
              "(an audit row): on SQLite (synchronous=FULL) that is the disk's fsync, which no durable turn can go below.",
              "", f"Chains are {CHAIN} turns long (each turn reads its ancestors: the cost grows with the depth); "
              "conversations are renewed every 20 turns.", END]
    section = "\n".join(lines)
    text = RESULTS.read_text() if RESULTS.exists() else "# Thread store benchmark\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
