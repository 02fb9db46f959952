"""Round trips and statements per classic-run turn on PostgreSQL, counted on the wire (load-independent).

A TCP proxy between weft and PostgreSQL reads the messages the client sends (protocol 3): a round trip is a
simple query ('Q') or a Sync ('S': the end of an extended-protocol exchange, which the client then waits for);
a statement is a 'Q' or an Execute ('E'). The turn is the one bench.threads.runs_overhead times (run create with
the user's message, then the run's turn); the counts are over ``--turns`` turns after five warm-up turns. Also
counts the SQLite statements of the same turn (sqlite3's trace callback).

    /work/main/.venv/bin/python -m bench.threads.runs_roundtrips [--turns 50] [--port 19150]
"""
from __future__ import annotations

import argparse
import sqlite3
import sqlite3.dbapi2
import struct
import tempfile
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from bench.threads.bench_appends import PG_URL
from tests.support.relay import TcpRelay, via


class WireCounter:
    """A relay to PostgreSQL (tests.support.relay) that counts the client's messages by type."""

    def __init__(self, target: tuple[str, int], port: int):
        self.counts, self.lock = Counter(), threading.Lock()
        self.relay = TcpRelay(target, port, client_data=self._client_data)
        self.port = self.relay.port

    def _client_data(self, state: dict, data: bytes) -> None:
        buffer = state.get("buffer", b"") + data
        while True:
            if not state.get("started"):  # the startup message: length, then its body, no type byte
                if len(buffer) < 4:
                    break
                (size,) = struct.unpack("!I", buffer[:4])
                if len(buffer) < size:
                    break
                buffer, state["started"] = buffer[size:], True
                continue
            if len(buffer) < 5:
                break
            kind, (size,) = buffer[:1], struct.unpack("!I", buffer[1:5])
            if len(buffer) < 1 + size:
                break
            with self.lock:
                self.counts[kind.decode()] += 1
            buffer = buffer[1 + size:]
        state["buffer"] = buffer

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.counts)

    def close(self) -> None:
        self.relay.close()


def proxied(url: str, proxy: WireCounter) -> str:
    """``url`` (PostgreSQL) through ``proxy``, without TLS (the counter reads the messages in clear)."""
    return via(url, proxy.port, query="sslmode=disable")


def per_turn(url: str, turns: int, measure) -> tuple[float, float]:
    """(round trips or statements, statements) per turn, from ``measure()`` before and after the counted turns."""
    from bench.threads import runs_overhead as ro

    import weft.agents.runs  # noqa: F401 - imported before the counting starts
    from tests.threads.fake_llm import FakeChatServer
    from weft.agents.assistants import Assistants
    from weft.agents.runs import Runs
    from weft.threads.chat_endpoint import ChatEndpoint
    from weft.threads.policy import Principal
    from weft.threads.service import PendingItem

    llm = FakeChatServer(delay=0.001).start()
    endpoint = ChatEndpoint(llm.base_url, "bench-key")
    store, service = ro.backend(url)
    principal = Principal.library("bench")
    runs = Runs(service, Assistants(service), endpoint, history_token_budget=8000)
    try:
        agent = runs.assistants.create(principal, {"model": "fake-model", "instructions": "Answer briefly."})["id"]
        thread, _ = service.create_conversation(principal, kind="thread")
        before = None
        for n in range(turns + 5):
            if n == 5:
                store.read_audit.flush()
                before = measure()
            message = PendingItem("message", "user", {"type": "message", "role": "user",
                                                      "content": [{"type": "input_text", "text": ro.QUESTION}]})
            run = runs.create(principal, thread.id, {"assistant_id": agent}, [message], start_now=True)
            runs.advance(principal, run["id"], None)
        after = measure()
        assert runs.get(principal, thread.id, run["id"])["status"] == "completed"
        return tuple((a - b) / turns for a, b in zip(after, before))  # type: ignore[return-value]
    finally:
        runs.close()
        service.close()
        store.tables.metadata.drop_all(store.engine)
        store.engine.dispose()
        endpoint.close()
        llm.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=50)
    ap.add_argument("--port", type=int, default=19150)
    ap.add_argument("--no-postgresql", action="store_true")
    args = ap.parse_args()

    statements = [0]
    real_connect = sqlite3.dbapi2.connect  # what SQLAlchemy's pysqlite dialect calls

    def connect(*a, **kw):
        conn = real_connect(*a, **kw)

        def trace(sql: str) -> None:
            if not sql.startswith(("PRAGMA", "BEGIN", "COMMIT", "ROLLBACK")):
                statements[0] += 1
        conn.set_trace_callback(trace)
        return conn

    sqlite3.dbapi2.connect = connect
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = per_turn(f"sqlite:///{Path(tmp) / 'rt.sqlite3'}", args.turns, lambda: (statements[0], statements[0]))
    sqlite3.dbapi2.connect = real_connect
    print(f"SQLite: {sqlite[0]:.2f} statements per turn (BEGIN/COMMIT/PRAGMA not counted)")
    if args.no_postgresql:
        return
    parts = urlsplit(PG_URL)
    proxy = WireCounter((parts.hostname or "127.0.0.1", parts.port or 5432), args.port)
    url = proxied(PG_URL, proxy)
    try:
        pg = per_turn(url, args.turns, lambda: ((c := proxy.snapshot())["Q"] + c["S"], c["Q"] + c["E"]))
    finally:
        proxy.close()
    print(f"PostgreSQL: {pg[0]:.2f} round trips, {pg[1]:.2f} statements per turn")


if __name__ == "__main__":
    main()
