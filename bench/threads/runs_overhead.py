"""What a classic Foundry run (weft.agents.runs) adds to a turn, against a fake OpenAI-compatible model at a fixed
latency, on SQLite and PostgreSQL (issue 15 target: <= 5 ms p50 per turn).

A turn is what `runs.create_and_process` makes weft do: create the run with the user's message
(`additional_messages`: one atomic append plus the run record), then the run's turn (status to in_progress, the
thread's lock, its history, the model call, the assistant message appended, the run record completed). Each turn
is paired with a direct call of the same model with the same payload size, made right before it; the overhead
of a turn is the run's time minus its paired model call. In process (no HTTP: the routes add what every threads
route adds), rounds interleave the backends. Writes its section into bench/threads/RESULTS.md.

    /work/main/.venv/bin/python -m bench.threads.runs_overhead [--rounds 3] [--turns 100] [--latency-ms 20] [--no-postgresql]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

from bench.threads.bench_appends import PG_URL, RESULTS
from tests.threads.fake_llm import FakeChatServer
from weft.agents.assistants import Assistants
from weft.agents.runs import Runs
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService
from weft.threads.store import SqlThreadStore

BEGIN, END = "<!-- runs:begin -->", "<!-- runs:end -->"
QUESTION = "What is the capital of France, in one word please?"


def backend(url: str):
    store = SqlThreadStore(url, table_prefix=f"b{uuid.uuid4().hex[:8]}_")
    service = ThreadService(store)
    return store, service


class RecordingEndpoint:
    """The chat endpoint, keeping the payload of each call (for the paired direct call)."""

    def __init__(self, endpoint: ChatEndpoint, sent: list[dict]):
        self.endpoint, self.sent = endpoint, sent

    def complete(self, payload: dict) -> dict:
        self.sent.append(payload)
        return self.endpoint.complete(payload)


def one_backend(url: str, endpoint: ChatEndpoint, turns: int) -> tuple[list[float], list[float]]:
    store, service = backend(url)
    principal = Principal.library("bench")
    runs = Runs(service, Assistants(service), endpoint, history_token_budget=8000)
    try:
        agent = runs.assistants.create(principal, {"model": "fake-model", "instructions": "Answer briefly."})["id"]
        thread, _ = service.create_conversation(principal, kind="thread")
        overheads, appends = [], []
        side, _ = service.create_conversation(principal)
        sent: list[dict] = []
        runs.endpoint = RecordingEndpoint(endpoint, sent)
        for n in range(turns + 5):
            t0 = time.perf_counter()  # one committed append on the same backend: the unit a turn's cost is made of
            service.append_items(principal, side.id, [{"role": "user", "content": QUESTION}])
            append = (time.perf_counter() - t0) * 1000
            # the paired call sends what the run sent last turn (the history grows by one question and answer a turn)
            payload = sent[-1] if sent else {"model": "fake-model", "messages": [{"role": "system", "content": "Answer briefly."},
                                                                              {"role": "user", "content": QUESTION}]}
            t0 = time.perf_counter()
            endpoint.complete(payload)
            model = time.perf_counter() - t0
            message = PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": QUESTION}]})
            t0 = time.perf_counter()
            run = runs.create(principal, thread.id, {"assistant_id": agent}, [message], start_now=True)
            runs.advance(principal, run["id"], None)
            elapsed = time.perf_counter() - t0
            assert runs.get(principal, thread.id, run["id"])["status"] == "completed"
            if n >= 5:  # warm-up turns are not counted
                overheads.append((elapsed - model) * 1000)
                appends.append(append)
        return overheads, appends
    finally:
        runs.close()
        service.close()
        store.tables.metadata.drop_all(store.engine)
        store.engine.dispose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--turns", type=int, default=100)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--no-postgresql", action="store_true")
    args = ap.parse_args()
    llm = FakeChatServer(delay=args.latency_ms / 1000).start()
    endpoint = ChatEndpoint(llm.base_url, "bench-key")
    urls = {"SQLite": None}
    if not args.no_postgresql:
        urls["PostgreSQL"] = PG_URL
    results: dict[str, list[list[float]]] = {name: [] for name in urls}
    commits: dict[str, list[list[float]]] = {name: [] for name in urls}
    loads = []
    with __import__("tempfile").TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for name, url in urls.items():
                overheads, appends = one_backend(url or f"sqlite:///{Path(tmp) / f'runs-{r}.sqlite3'}", endpoint, args.turns)
                results[name].append(overheads)
                commits[name].append(appends)
                print(f"round {r + 1} {name}: p50 overhead {statistics.median(results[name][-1]):.2f} ms", file=sys.stderr)
    endpoint.close()
    llm.stop()
    lines = [BEGIN, "## Issue 15: classic run overhead per turn", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}: `python -m bench.threads.runs_overhead --rounds {args.rounds} --turns {args.turns} "
             f"--latency-ms {args.latency_ms:g}`. Fake model at {args.latency_ms:g} ms; in process; each turn minus its paired direct "
             f"model call (with the payload the run sent the turn before). Load average {min(loads):.1f}-{max(loads):.1f} (a shared machine).", "",
             "| backend | p50 overhead per turn, ms (median of rounds) | p90, ms | rounds' p50 | one committed append, p50 ms | overhead / append | target |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, rounds in results.items():
        p50s = [statistics.median(v) for v in rounds]
        p90s = [pct(v, 0.9) for v in rounds]
        append = statistics.median(statistics.median(v) for v in commits[name])
        lines.append(f"| {name} | {statistics.median(p50s):.2f} | {statistics.median(p90s):.2f} | "
                     f"{', '.join(f'{v:.2f}' for v in p50s)} | {append:.2f} | {statistics.median(p50s) / append:.1f}x | <= 5 |")
    lines += ["", "A turn (create_and_process) is two durable commits: at create, the user's message and the run record in "
              "one transaction; after the model answered, the assistant message, the release of the thread's lease and the "
              "run's final state in one transaction (weft.threads.turns), each with its audit rows and the buffered audit rows "
              "of the turn's reads; on PostgreSQL each is ONE statement in autocommit (data-modifying CTEs, "
              "weft.threads.turn_sql): one round trip. Nothing else goes to the database on PostgreSQL: the create's commit "
              "also takes the thread's lease for the turn and returns the newest page of its history (start_now, "
              "TurnWriter.commit_taking_lease; only the items after those the previous turn left are read, "
              "weft.threads.turn_store.HistoryWindow), and it checks the thread, the agent and the thread's newest runs as the "
              "previous turn left them instead of reading them first (a guard in the statement; any change by another "
              "process: nothing stored, read, built again); the run record is not read by its turn (it starts from what "
              "create stored, and its end is a compare-and-swap of those bytes). So 2 round trips per turn on PostgreSQL "
              "(4 in the previous version, 6-7 before that; bench/threads/runs_roundtrips.py counts them on the wire). On "
              "SQLite a durable commit is an fsync of the WAL: two of them are the floor of a create-and-run turn on this "
              "disk (the append column); on PostgreSQL the database is shared with the other work on this machine, and the "
              "append column says how busy it was.", END]
    section = "\n".join(lines)
    text = RESULTS.read_text() if RESULTS.exists() else "# Thread store benchmark\n"
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        head, _, rest = text.partition("\n\n")
        text = head + "\n\n" + section + "\n\n" + rest
    RESULTS.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
