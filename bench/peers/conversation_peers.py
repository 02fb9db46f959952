"""Conversation-storage peers: weft (library on SQLite and PostgreSQL, HTTP on SQLite), openai-agents'
SQLiteSession, LangGraph's SQLite and PostgreSQL checkpointers (a one-node MessagesState graph, the
way an agent appends a message), and a raw INSERT (SQLite WAL+FULL; PostgreSQL autocommit, one
round trip). One writer appends N messages; then the newest 20 are read; then 16 concurrent
writers append to one conversation and the stored messages are counted."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from common import PG_DSN, PG_URL, Phase, Weft, log, median

BODY = "x" * 200
MESSAGE = {"role": "user", "content": BODY}


class WeftLibrary:
    def __init__(self, url: str, label: str):
        from weft.threads.policy import Principal
        from weft.threads.service import ThreadService
        from weft.threads.store import SqlThreadStore

        self.name = f"weft library ({label})"
        self.prefix = f"peers{uuid.uuid4().hex[:6]}_"
        self.url = url
        self.store = SqlThreadStore(url, table_prefix=self.prefix)
        self.service = ThreadService(self.store)
        self.principal = Principal.library("peers")
        self.conv = self.service.create_conversation(self.principal)[0].id

    def append(self) -> None:
        self.service.append_items(self.principal, self.conv, [MESSAGE])

    def newest(self) -> int:
        return len(self.service.list_items(self.principal, self.conv, limit=20).data)

    def stored(self) -> int:
        return self.service.get_conversation(self.principal, self.conv).item_count

    def fresh(self) -> None:
        self.conv = self.service.create_conversation(self.principal)[0].id

    def close(self) -> None:
        self.store.close()
        from weft.threads.database import make_engine

        engine = make_engine(self.url)
        self.store.tables.metadata.drop_all(engine)
        engine.dispose()


class WeftHttp:
    name = "weft HTTP (SQLite)"

    def __init__(self, weft: Weft):
        self.weft = weft
        self.fresh()

    def fresh(self) -> None:
        self.conv = self.weft.call("POST", "/v1/conversations", {}, v1=True)["id"]
        self.req_append = self.weft.encode("POST", f"/v1/conversations/{self.conv}/items", {"items": [{"type": "message", **MESSAGE}]}, v1=True)
        self.req_list = self.weft.encode("GET", f"/v1/conversations/{self.conv}/items?limit=20", None, v1=True)

    def append(self) -> None:
        self.weft.send(self.req_append)

    def newest(self) -> int:
        return len(json.loads(self.weft.send(self.req_list))["data"])

    def close(self) -> None:
        pass


class AgentsSession:
    name = "openai-agents SQLiteSession"

    def __init__(self, folder: Path):
        from agents import SQLiteSession

        self.cls = SQLiteSession
        self.path = str(folder / f"agents-{uuid.uuid4().hex[:6]}.sqlite3")
        self.loop = asyncio.new_event_loop()
        self.fresh()

    def fresh(self) -> None:
        self.session = self.cls(f"s-{uuid.uuid4().hex[:6]}", self.path)

    def append(self) -> None:
        self.loop.run_until_complete(self.session.add_items([dict(MESSAGE)]))

    def newest(self) -> int:
        return len(self.loop.run_until_complete(self.session.get_items(limit=20)))

    def stored(self) -> int:
        return len(self.loop.run_until_complete(self.session.get_items()))

    def concurrent(self, writers: int, per_writer: int) -> None:
        async def writer():
            for _ in range(per_writer):
                await self.session.add_items([dict(MESSAGE)])

        async def all_writers():
            await asyncio.gather(*(writer() for _ in range(writers)))

        self.loop.run_until_complete(all_writers())

    def close(self) -> None:
        self.session.close()
        self.loop.close()


class LangGraphSaver:
    def __init__(self, kind: str, folder: Path):
        from langgraph.graph import END, START, MessagesState, StateGraph

        self.name = f"LangGraph {kind} checkpointer"
        self.kind = kind
        if kind == "SQLite":
            from langgraph.checkpoint.sqlite import SqliteSaver

            self.conn = sqlite3.connect(str(folder / f"lg-{uuid.uuid4().hex[:6]}.sqlite3"), check_same_thread=False)
            self.saver = SqliteSaver(self.conn)
        else:
            import psycopg
            from langgraph.checkpoint.postgres import PostgresSaver

            self.schema = f"peers_lg_{uuid.uuid4().hex[:6]}"
            with psycopg.connect(PG_DSN, autocommit=True) as c:
                c.execute(f"CREATE SCHEMA {self.schema}")
            self.conn = psycopg.connect(PG_DSN + f" options='-c search_path={self.schema}'", autocommit=True, prepare_threshold=0)
            self.saver = PostgresSaver(self.conn)
        self.saver.setup()
        graph = StateGraph(MessagesState)
        graph.add_node("noop", lambda state: {})
        graph.add_edge(START, "noop")
        graph.add_edge("noop", END)
        self.app = graph.compile(checkpointer=self.saver)
        self.fresh()

    def fresh(self) -> None:
        self.config = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:6]}"}}

    def append(self) -> None:
        self.app.invoke({"messages": [dict(MESSAGE)]}, self.config)

    def newest(self) -> int:
        return len(self.app.get_state(self.config).values["messages"][-20:])

    def stored(self) -> int:
        return len(self.app.get_state(self.config).values.get("messages", []))

    def close(self) -> None:
        self.conn.close()
        if self.kind != "SQLite":
            import psycopg

            with psycopg.connect(PG_DSN, autocommit=True) as c:
                c.execute(f"DROP SCHEMA {self.schema} CASCADE")


class RawSqlite:
    name = "raw INSERT (SQLite, WAL, synchronous=FULL)"

    def __init__(self, folder: Path):
        self.db = sqlite3.connect(str(folder / f"raw-{uuid.uuid4().hex[:6]}.sqlite3"), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE m (conversation_id TEXT, seq INTEGER, id TEXT, body BLOB, PRIMARY KEY (conversation_id, seq))")
        self.n = 0

    def append(self) -> None:
        self.n += 1
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO m VALUES ('c', ?, ?, ?)", (self.n, uuid.uuid4().hex, json.dumps(MESSAGE).encode()))
        self.db.execute("COMMIT")

    def newest(self) -> int:
        return len(self.db.execute("SELECT body FROM m WHERE conversation_id = 'c' ORDER BY seq DESC LIMIT 20").fetchall())

    def close(self) -> None:
        self.db.close()


class RawPostgres:
    name = "raw INSERT (PostgreSQL, autocommit, one round trip)"

    def __init__(self):
        import psycopg

        self.conn = psycopg.connect(PG_DSN, autocommit=True)
        self.table = f"peers_raw_{uuid.uuid4().hex[:8]}"
        self.conn.execute(f"CREATE TABLE {self.table} (conversation_id TEXT, seq BIGINT, id TEXT, body BYTEA, PRIMARY KEY (conversation_id, seq))")
        self.n = 0

    def append(self) -> None:
        self.n += 1
        self.conn.execute(f"INSERT INTO {self.table} VALUES ('c', %s, %s, %s)", (self.n, uuid.uuid4().hex, json.dumps(MESSAGE).encode()))

    def newest(self) -> int:
        return len(self.conn.execute(f"SELECT body FROM {self.table} WHERE conversation_id = 'c' ORDER BY seq DESC LIMIT 20").fetchall())

    def close(self) -> None:
        self.conn.execute(f"DROP TABLE {self.table}")
        self.conn.close()


def _threads(writers: int, per_writer: int, fn) -> None:
    errors: list[BaseException] = []

    def work():
        for _ in range(per_writer):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - counted: a refused append is not a silent loss
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def run(folder: Path, weft: Weft, appends: int, reads: int, rounds: int, writers: int, per_writer: int,
        pair_blocks: int = 12, pair_size: int = 100) -> dict:
    raw_names = {"SQLite": RawSqlite.name, "PostgreSQL": RawPostgres.name}
    makers = [lambda: WeftLibrary(f"sqlite:///{folder / 'weft-threads.sqlite3'}", "SQLite"), lambda: WeftLibrary(PG_URL, "PostgreSQL"),
              lambda: WeftHttp(weft), lambda: AgentsSession(folder), lambda: LangGraphSaver("SQLite", folder),
              lambda: LangGraphSaver("PostgreSQL", folder), lambda: RawSqlite(folder), RawPostgres]
    systems = [make() for make in makers]
    rates: dict = {s.name: [] for s in systems}
    reads_ms: dict = {s.name: [] for s in systems}
    with Phase("conversation appends"):
        for round_number in range(rounds):
            shift = round_number % len(systems)
            for s in systems[shift:] + systems[:shift]:
                if hasattr(s, "fresh"):
                    s.fresh()
                for _ in range(10):
                    s.append()
                t0 = time.perf_counter()
                for _ in range(appends):
                    s.append()
                rates[s.name].append(appends / (time.perf_counter() - t0))
                assert s.newest() == 20
                t0 = time.perf_counter()
                for _ in range(reads):
                    s.newest()
                reads_ms[s.name].append((time.perf_counter() - t0) / reads * 1000)
            log("  round", round_number + 1, ", ".join(f"{k}: {v[-1]:.0f}/s" for k, v in rates.items()))
    # The machine is shared: a round's rate moves with whatever else runs in its seconds. weft on PostgreSQL
    # and the raw INSERT are also compared in short alternating blocks (the same conversation and table),
    # so both see the same moments; the median of the blocks' ratios is reported beside the rounds'.
    paired: dict = {}
    with Phase("conversation pairs"):
        for backend, weft_name in (("PostgreSQL", "weft library (PostgreSQL)"), ("SQLite", "weft library (SQLite)")):
            a = next(s for s in systems if s.name == weft_name)
            b = next(s for s in systems if s.name == raw_names[backend])
            ratios_of_blocks = []
            for block in range(pair_blocks):
                timed = {}
                for s in ((a, b) if block % 2 == 0 else (b, a)):
                    t0 = time.perf_counter()
                    for _ in range(pair_size):
                        s.append()
                    timed[s.name] = pair_size / (time.perf_counter() - t0)
                ratios_of_blocks.append(timed[a.name] / timed[b.name])
            paired[weft_name] = (median(ratios_of_blocks), min(ratios_of_blocks), max(ratios_of_blocks), pair_blocks, pair_size)
            log(f"  {weft_name} / raw in alternating blocks: median {paired[weft_name][0]:.0%}")
    lost: dict = {}
    with Phase("conversation concurrency"):
        for s in systems:
            if not hasattr(s, "stored"):
                continue
            s.fresh()
            if isinstance(s, AgentsSession):
                s.concurrent(writers, per_writer)
                errors = []
            else:
                errors = _threads(writers, per_writer, s.append)
            stored = s.stored()
            lost[s.name] = (writers * per_writer, stored, len(errors))
            log(f"  {s.name}: {stored} of {writers * per_writer} stored, {len(errors)} refused")
    for s in systems:
        s.close()
    raw = raw_names
    ratios = {}
    for backend, weft_name in (("SQLite", "weft library (SQLite)"), ("PostgreSQL", "weft library (PostgreSQL)"), ("SQLite", "weft HTTP (SQLite)")):
        ratios[weft_name] = median([a / b for a, b in zip(rates[weft_name], rates[raw[backend]])])
    return {"appends": {k: median(v) for k, v in rates.items()}, "spread": {k: (min(v), max(v)) for k, v in rates.items()},
            "newest20_ms": {k: median(v) for k, v in reads_ms.items()}, "ratios": ratios, "lost": lost, "paired": paired}
