"""Full-text peers: weft over HTTP, SQLite FTS5, PostgreSQL tsvector + GIN, LanceDB native FTS.

Every system gets the same documents (id + one text field: the corpus's title and description) and
the same one- and two-term OR queries, top 10. Loading is timed until the last document is
searchable (weft: until `$count` sees them all; LanceDB: including its FTS index build).
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

from common import PG_DSN, Weft

BATCH = 1000


def documents(lines: list[bytes]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        d = json.loads(line)
        out.append((d["id"], f"{d['title']} {d['description']}"))
    return out


class WeftText:
    """The text field searchable only, like the peers' full-text columns (they cannot filter, sort or facet on it)."""
    name, ranking, durability = "weft (HTTP)", "BM25", "commit per group, fsync"
    text_field = {"name": "text", "type": "Edm.String", "searchable": True, "filterable": False, "sortable": False, "facetable": False}

    def __init__(self, weft: Weft):
        self.weft = weft
        self.index = f"peers-text-{uuid.uuid4().hex[:6]}"
        weft.call("POST", "/indexes", {"name": self.index, "fields": [
            {"name": "id", "type": "Edm.String", "key": True, "searchable": False}, self.text_field]})

    def load(self, docs: list[tuple[str, str]]) -> None:
        for start in range(0, len(docs), BATCH):
            value = [{"@search.action": "upload", "id": i, "text": t} for i, t in docs[start:start + BATCH]]
            self.weft.send(self.weft.encode("POST", f"/indexes/{self.index}/docs/index", {"value": value}))
        self.weft.wait_count(self.index, len(docs))

    def prepare(self, words: list[str]) -> bytes:
        return self.weft.encode("POST", f"/indexes/{self.index}/docs/search", {"search": " ".join(words), "top": 10, "select": "id"})

    def query(self, prepared: bytes) -> list[str]:
        return [v["id"] for v in json.loads(self.weft.send(prepared))["value"]]

    def close(self) -> None:
        self.weft.call("DELETE", f"/indexes/{self.index}")


class WeftTextDefaults(WeftText):
    """Azure's defaults for a string field: also filterable, sortable and facetable, so every document's whole text
    is also indexed as one untokenized term and a fast (columnar) value, which tantivy pays per byte."""
    name = "weft (HTTP), text also filterable/sortable/facetable (Azure's defaults)"
    text_field = {"name": "text", "type": "Edm.String", "searchable": True}


class SqliteFts5:
    name, ranking, durability = "SQLite FTS5", "BM25 (FTS5 bm25())", "WAL, synchronous=FULL, commit per 1000"

    def __init__(self, folder: Path):
        self.db = sqlite3.connect(str(folder / "fts5.sqlite3"), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, text, tokenize='unicode61')")

    def load(self, docs) -> None:
        for start in range(0, len(docs), BATCH):
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO docs (id, text) VALUES (?, ?)", docs[start:start + BATCH])
            self.db.execute("COMMIT")

    def prepare(self, words: list[str]) -> str:
        return " OR ".join(f'"{w}"' for w in words)

    def query(self, match: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10", (match,))]

    def close(self) -> None:
        self.db.close()


class PostgresGin:
    name, ranking, durability = "PostgreSQL tsvector + GIN", "ts_rank (not BM25)", "synchronous_commit=on, commit per 1000"

    def __init__(self):
        import psycopg

        self.conn = psycopg.connect(PG_DSN, autocommit=True)
        self.table = f"peers_fts_{uuid.uuid4().hex[:8]}"
        self.conn.execute(f"CREATE TABLE {self.table} (id text PRIMARY KEY, text text NOT NULL, "
                          f"tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED)")
        self.conn.execute(f"CREATE INDEX ON {self.table} USING GIN (tsv)")  # a live, searchable table

    def load(self, docs) -> None:
        for start in range(0, len(docs), BATCH):
            with self.conn.transaction():
                with self.conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO {self.table} (id, text) VALUES (%s, %s)", docs[start:start + BATCH])

    def prepare(self, words: list[str]) -> str:
        return " | ".join(words)

    def query(self, tsquery: str) -> list[str]:
        rows = self.conn.execute(f"SELECT id FROM {self.table}, to_tsquery('simple', %s) q WHERE tsv @@ q "
                                 f"ORDER BY ts_rank(tsv, q) DESC, id LIMIT 10", (tsquery,)).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        self.conn.execute(f"DROP TABLE {self.table}")
        self.conn.close()


class LanceFts:
    name, ranking, durability = "LanceDB native FTS", "BM25", "files per add (no fsync promise documented)"

    def __init__(self, folder: Path):
        import lancedb

        self.path = folder / "lance-text"
        shutil.rmtree(self.path, ignore_errors=True)
        self.db = lancedb.connect(str(self.path))
        self.table = None

    def load(self, docs) -> None:
        import pyarrow as pa

        for start in range(0, len(docs), BATCH):
            part = docs[start:start + BATCH]
            batch = pa.table({"id": [d[0] for d in part], "text": [d[1] for d in part]})
            if self.table is None:
                self.table = self.db.create_table("docs", data=batch)
            else:
                self.table.add(batch)
        self.table.create_fts_index("text", use_tantivy=False, stem=False, remove_stop_words=False, replace=True)

    def prepare(self, words: list[str]) -> str:
        return " ".join(words)

    def query(self, text: str) -> list[str]:
        rows = self.table.search(text, query_type="fts").select(["id", "_score"]).limit(10).to_list()
        return [r["id"] for r in rows]

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def pick_queries(info, n_docs: int, per_class: int, seed: int = 5) -> dict[str, list[list[str]]]:
    """Words by expected document frequency (the corpus's Zipf law): common, mid, rare, and pairs."""
    import random

    import corpus

    rng = random.Random(seed)
    vocab = info.vocabulary

    def words(lo: float, hi: float) -> list[str]:
        ranks = corpus.rank_by_expected_df(info, lo * n_docs, hi * n_docs)
        ranks = [r for r in ranks if vocab[r].isalpha() and vocab[r] not in corpus._RESERVED]
        return [vocab[r] for r in rng.sample(ranks, min(per_class, len(ranks)))]

    common, mid, rare = words(0.2, 0.6), words(0.01, 0.05), words(0.0002, 0.002)
    return {"common term": [[w] for w in common], "mid term": [[w] for w in mid], "rare term": [[w] for w in rare],
            "two terms (OR)": [[a, b] for a, b in zip(common, mid)]}


def run(folder: Path, weft: Weft, n_docs: int, per_class: int, rounds: int) -> dict:
    import corpus

    from statistics import fmean as mean

    from common import Phase, log, median, overlap

    path = folder / "corpus.jsonl"
    info = corpus.generate(n_docs, str(path))
    lines = path.read_bytes().splitlines()
    docs = documents(lines)
    queries = pick_queries(info, n_docs, per_class)
    systems = []
    result: dict = {"load": {}, "latency": {}, "overlap": {}, "meta": {}}
    with Phase("text load"):
        for make in (lambda: WeftText(weft), lambda: WeftTextDefaults(weft), lambda: SqliteFts5(folder), PostgresGin, lambda: LanceFts(folder)):
            system = make()
            t0 = time.perf_counter()
            system.load(docs)
            seconds = time.perf_counter() - t0
            result["load"][system.name] = n_docs / seconds
            result["meta"][system.name] = (system.ranking, system.durability)
            log(f"  {system.name}: {n_docs / seconds:,.0f} docs/s")
            systems.append(system)
    with Phase("text queries"):
        prepared = {s.name: {c: [s.prepare(q) for q in qs] for c, qs in queries.items()} for s in systems}
        times: dict = {s.name: {c: [] for c in queries} for s in systems}
        first: dict = {s.name: {c: [] for c in queries} for s in systems}
        for round_number in range(rounds):
            for cls, qs in queries.items():
                for qi in range(len(qs)):
                    order = systems[round_number % len(systems):] + systems[:round_number % len(systems)]
                    for s in order:
                        t0 = time.perf_counter()
                        ids = s.query(prepared[s.name][cls][qi])
                        times[s.name][cls].append((time.perf_counter() - t0) * 1000)
                        if round_number == 0:
                            first[s.name][cls].append(ids)
        for s in systems:
            result["latency"][s.name] = {c: median(v) for c, v in times[s.name].items()}
            result["overlap"][s.name] = {c: mean([overlap(a, b) for a, b in zip(first[s.name][c], first[systems[0].name][c])])
                                         for c in queries}
    for s in systems:
        s.close()
    result["queries"] = {c: len(q) for c, q in queries.items()}
    return result


class RawTantivy:
    """tantivy-py used directly (the engine under weft): the same two fields, its default tokenizer, commit per batch,
    the writer settings bench/raw_engine.py found best on this machine. Load only (no queries)."""
    name, ranking, durability = "tantivy-py (raw engine, in process)", "BM25", "commit per 1000"

    def __init__(self, folder: Path):
        import tantivy

        import raw_engine

        self.path = folder / "raw-tantivy"
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        b = tantivy.SchemaBuilder()
        b.add_text_field("id", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
        b.add_text_field("text", stored=True, tokenizer_name="default", index_option="position")
        self.index = tantivy.Index(b.build(), path=str(self.path))
        self.writer = self.index.writer(raw_engine.WRITER_HEAP, raw_engine.WRITER_THREADS)

    def load(self, docs) -> None:
        import tantivy

        for start in range(0, len(docs), BATCH):
            for i, t in docs[start:start + BATCH]:
                doc = tantivy.Document()
                doc.add_text("id", i)
                doc.add_text("text", t)
                self.writer.add_document(doc)
            self.writer.commit()
        self.index.reload()

    def close(self) -> None:
        self.writer.wait_merging_threads()
        shutil.rmtree(self.path, ignore_errors=True)


LOADERS = {
    "tantivy": lambda folder, weft: RawTantivy(folder),
    "weft": lambda folder, weft: WeftText(weft),
    "weft-defaults": lambda folder, weft: WeftTextDefaults(weft),
    "sqlite": lambda folder, weft: SqliteFts5(folder),
    "postgres": lambda folder, weft: PostgresGin(),
    "lancedb": lambda folder, weft: LanceFts(folder),
}


def run_load(folder: Path, weft: Weft, n_docs: int, rounds: int, systems: list[str]) -> dict:
    """The bulk-load part alone, ``rounds`` times, the order of systems rotating each round: docs/s per round, the
    load average before each load and, for weft, the server's CPU per document (all its threads)."""
    import os

    import corpus

    from common import log

    path = folder / "corpus.jsonl"
    corpus.generate(n_docs, str(path))
    docs = documents(path.read_bytes().splitlines())
    out: dict = {"rates": {}, "loads": {}, "meta": {}, "server_cpu_us": {}, "rounds": rounds, "docs": n_docs}
    for round_number in range(rounds):
        order = systems[round_number % len(systems):] + systems[:round_number % len(systems)]
        for key in order:
            system = LOADERS[key](folder, weft)
            load = os.getloadavg()[0]
            cpu0 = weft.server.cpu_seconds()
            t0 = time.perf_counter()
            system.load(docs)
            seconds = time.perf_counter() - t0
            cpu = weft.server.cpu_seconds() - cpu0
            out["rates"].setdefault(system.name, []).append(n_docs / seconds)
            out["loads"].setdefault(system.name, []).append(load)
            out["meta"][system.name] = (system.ranking, system.durability)
            if key.startswith("weft"):
                out["server_cpu_us"].setdefault(system.name, []).append(cpu / n_docs * 1e6)
            log(f"  round {round_number + 1} {system.name}: {n_docs / seconds:,.0f} docs/s (load {load:.1f})")
            system.close()
            if isinstance(system, SqliteFts5):
                (folder / "fts5.sqlite3").unlink(missing_ok=True)
    return out
