"""CPU a classic run's turn costs weft (issue 15), load-independent: ``time.thread_time`` around a turn (run create
with the user's message, then the run's turn; the one bench.threads.runs_overhead times) minus the CPU of the model
client's own call, at 0 ms model latency. Prints one JSON line: the median and the mean CPU per turn (ms) over
``--turns`` turns after five warm-up turns (the history grows by two items a turn). ``--profile N`` prints cProfile's
N most expensive functions by their own time instead. Compare code versions by running it with each one's
``PYTHONPATH``, interleaved.

    PYTHONPATH=src:. /work/main/.venv/bin/python -m bench.threads.runs_cpu [--backend sqlite|postgresql] [--turns 100]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.threads.bench_appends import PG_URL
from bench.threads.runs_overhead import QUESTION, backend
from tests.threads.fake_llm import FakeChatServer
from weft.agents.assistants import Assistants
from weft.agents.runs import Runs
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.policy import Principal
from weft.threads.service import PendingItem


class TimedEndpoint:
    """The chat endpoint, counting the thread CPU of its calls (the model client's own, not weft's turn)."""

    def __init__(self, endpoint: ChatEndpoint):
        self.endpoint, self.cpu = endpoint, 0.0

    def complete(self, payload: dict) -> dict:
        t0 = time.thread_time()
        try:
            return self.endpoint.complete(payload)
        finally:
            self.cpu += time.thread_time() - t0


def run(url: str, turns: int, profile: int, sort: str = "tottime") -> dict:
    llm = FakeChatServer().start()
    endpoint = TimedEndpoint(ChatEndpoint(llm.base_url, "bench-key"))
    store, service = backend(url)
    principal = Principal.library("bench")
    runs = Runs(service, Assistants(service), endpoint, history_token_budget=8000)
    profiler = cProfile.Profile(time.thread_time) if profile else None
    cpu: list[float] = []
    try:
        agent = runs.assistants.create(principal, {"model": "fake-model", "instructions": "Answer briefly."})["id"]
        thread, _ = service.create_conversation(principal, kind="thread")
        for n in range(turns + 5):
            message = PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": QUESTION}]})
            model0 = endpoint.cpu
            if profiler is not None and n >= 5:
                profiler.enable()
            t0 = time.thread_time()
            run_ = runs.create(principal, thread.id, {"assistant_id": agent}, [message], start_now=True)
            runs.advance(principal, run_["id"], None)
            spent = time.thread_time() - t0 - (endpoint.cpu - model0)
            if profiler is not None:
                profiler.disable()
            assert runs.get(principal, thread.id, run_["id"])["status"] == "completed"
            if n >= 5:
                cpu.append(spent * 1000)
    finally:
        runs.close()
        service.close()
        store.tables.metadata.drop_all(store.engine)
        store.engine.dispose()
        endpoint.endpoint.close()
        llm.stop()
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats(sort).print_stats(profile)
    return {"median_ms": round(statistics.median(cpu), 3), "mean_ms": round(statistics.mean(cpu), 3), "turns": turns}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--turns", type=int, default=100)
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--sort", choices=("tottime", "cumulative"), default="tottime")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = PG_URL if args.backend == "postgresql" else f"sqlite:///{Path(tmp) / 'runs-cpu.sqlite3'}"
        print(json.dumps({"backend": args.backend, **run(url, args.turns, args.profile, args.sort)}))


if __name__ == "__main__":
    main()
