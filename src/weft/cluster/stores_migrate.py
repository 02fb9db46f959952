"""``weft cluster migrate``: copy an embedded data dir's durable objects into the cluster database.

Covered here: the indexer store (data sources, indexers with their tracking state, history, meta and key
ledger), the retrieval store (knowledge sources and bases), the key files (admin key, sealing keys) and the
threads store when its SQLite file exists. The search catalog and documents are the search side's: see
:data:`EXTRA_MIGRATIONS`.

Rules: the data dir's objects are not changed (its stores are opened as weft opens them). A pass first compares every object with what the cluster holds under the
same name and refuses (writing nothing) when one differs; objects that are equal are skipped, so running it
again is a no-op. Secrets are compared in clear and re-sealed with the cluster's key when the two keys
differ. Each indexer moves in one transaction (definition, tracking state, history, ledger together).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine

from weft.cluster.stores import P, RETRIEVAL_TABLE, PgIndexerStore, PgRetrievalStore, shared_value, stored_value, write_private

# TODO(coordinator): append the search side's migration (index definitions, synonym maps, aliases, documents of
# record: weft.cluster.pg_catalog / documents), called as fn(data_dir, engine, progress) -> {label: count}.
EXTRA_MIGRATIONS: list[Callable[[Path, Engine, Callable], dict]] = []


class MigrationRefused(Exception):
    pass


class _Progress:
    """A rich progress bar on a terminal, one line per step otherwise."""

    def __init__(self):
        self._bar = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=False)
            self._bar.start()

    def step(self, label: str, total: int):
        if self._bar is not None:
            task = self._bar.add_task(label, total=total)
            return lambda n=1: self._bar.advance(task, n)
        print(f"{label}: {total}", file=sys.stderr)
        return lambda n=1: None

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _box(key: str):
    from cryptography.fernet import Fernet

    return Fernet(key.strip().encode())


def _sealing(engine: Engine, name: str, local_key: Path):
    """(open with the data dir's key, seal with the cluster's key); the cluster adopts the local key if it has none."""
    if not local_key.exists():
        cluster = shared_value(engine, name, lambda: _new_key())
        return None, _box(cluster)
    local = local_key.read_text().strip()
    cluster = shared_value(engine, name, lambda: local)
    return _box(local), _box(cluster)


def _new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _opened(box, token) -> str | None:
    return None if token is None or box is None else box.decrypt(bytes(token)).decode()


def migrate_data_dir(data_dir: Path, engine: Engine, url: str | None = None) -> dict:
    data_dir = Path(data_dir)
    progress = _Progress()
    try:
        summary = {"keys": _migrate_keys(data_dir, engine)}
        summary["indexers"] = _migrate_indexers(data_dir, engine, progress)
        summary["retrieval"] = _migrate_retrieval(data_dir, engine, progress)
        summary["threads"] = _migrate_threads(data_dir, engine, progress)
        for extra in EXTRA_MIGRATIONS:
            summary.update(extra(data_dir, engine, progress.step))
        if url is not None:  # the search side: definitions and documents through the cluster's write path
            from weft.cluster.search_migrate import SearchMigrationRefused, migrate_search

            try:
                summary["search"] = migrate_search(data_dir, url, progress.step)
            except SearchMigrationRefused as exc:
                raise MigrationRefused(str(exc)) from None
        else:
            summary["search"] = _search_not_moved(data_dir)
        return summary
    finally:
        progress.close()


def _search_not_moved(data_dir: Path) -> dict:
    """Search indexes are not moved by this version: say so, naming them, rather than leave them silently behind."""
    import sqlite3

    path = data_dir / "search" / "catalog.sqlite3"
    if not path.exists():
        return {"indexes": "none (no search catalog in the data dir)"}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [row[0] for row in conn.execute("SELECT name FROM indexes WHERE internal = 0 ORDER BY name")]
    except sqlite3.Error:
        names = []
    finally:
        conn.close()
    if not names:
        return {"indexes": "none"}
    return {"indexes": f"NOT MOVED: {len(names)} ({', '.join(names)}): this version moves no search index definitions or "
                       "documents; re-create them on the cluster and re-upload or re-run their indexers"}


def _migrate_keys(data_dir: Path, engine: Engine) -> dict:
    from weft.config import ADMIN_KEY_FILE

    path = data_dir / ADMIN_KEY_FILE
    if not path.exists():
        return {"admin key": "none in the data dir"}
    local = path.read_text().strip()
    cluster = stored_value(engine, "admin.key")
    if cluster is None:
        shared_value(engine, "admin.key", lambda: local)
        return {"admin key": "moved"}
    return {"admin key": "same" if cluster == local else "the cluster keeps its own (use the cluster's key with every node)"}


# ---- indexers ------------------------------------------------------------------------------------------
def _migrate_indexers(data_dir: Path, engine: Engine, progress: _Progress) -> dict:
    path = data_dir / "indexers" / "indexers.sqlite3"
    if not path.exists():
        return {"skipped": "no indexer store"}
    from weft.indexers.store import IndexerStore

    source = IndexerStore(path)
    target = PgIndexerStore(engine)
    try:
        local, cluster = _sealing(engine, "indexers/secret.key", data_dir / "indexers" / "secret.key")
        plan: list[tuple[str, str, dict, str | None, str]] = []
        conflicts = []
        for kind in ("datasource", "indexer"):
            for name, body, secret, etag in source.list_definitions(kind):
                clear = _opened(local, secret)
                existing = target.get_definition(kind, name)
                if existing is not None:
                    if existing[0] != body or _opened(cluster, existing[1]) != clear:
                        conflicts.append(f"{kind} '{name}'")
                    continue
                plan.append((kind, name, body, clear, etag))
        if conflicts:
            raise MigrationRefused("the cluster already holds different objects with these names: " + ", ".join(conflicts)
                                   + ". Rename or delete them there (or in the data dir) and run again; nothing was written.")
        advance = progress.step("indexers: data sources and indexers", len(plan))
        for kind, name, body, clear, etag in plan:
            sealed = None if clear is None else cluster.encrypt(clear.encode())
            with engine.begin() as conn:
                table = "datasources" if kind == "datasource" else "indexers"
                conn.execute(text(f"INSERT INTO {P}{table} (name, body, secret, etag) VALUES (:n, :b, :s, :e)"),
                             {"n": name, "b": json.dumps(body), "s": sealed, "e": etag})
                if kind == "indexer":
                    _copy_indexer_state(source, conn, name)
            advance()
        done = sum(1 for p in plan if p[0] == "indexer")
        return {"data sources moved": len(plan) - done, "indexers moved": done,
                "already there": len(source.list_definitions("datasource")) + len(source.list_definitions("indexer")) - len(plan)}
    finally:
        source.close()


def _copy_indexer_state(source, conn, name: str) -> None:
    state = source.tracking_state(name)
    if state is not None:
        conn.execute(text(f"INSERT INTO {P}tracking (indexer, state) VALUES (:i, :s)"), {"i": name, "s": json.dumps(state)})
    meta = source.meta(name)
    if meta:
        conn.execute(text(f"INSERT INTO {P}meta (indexer, body) VALUES (:i, :b)"), {"i": name, "b": json.dumps(meta)})
    for body in reversed(source.executions(name)):  # oldest first: ids keep their order
        if body.get("status") == "inProgress":
            body = {**body, "status": "transientFailure", "errorMessage": "The run was interrupted (the data dir was migrated)."}
        conn.execute(text(f"INSERT INTO {P}executions (indexer, body) VALUES (:i, :b)"), {"i": name, "b": json.dumps(body)})
    rows = source._all("SELECT doc_key, source_key, bucket, key_check FROM ledger WHERE indexer = ?", (name,))
    for start in range(0, len(rows), 5000):
        conn.execute(text(f"INSERT INTO {P}ledger (indexer, doc_key, source_key, bucket, key_check) VALUES (:i, :k, :s, :b, :c)"),
                     [{"i": name, "k": k, "s": s, "b": b, "c": c} for k, s, b, c in rows[start:start + 5000]])


# ---- retrieval --------------------------------------------------------------------------------------------
def _migrate_retrieval(data_dir: Path, engine: Engine, progress: _Progress) -> dict:
    path = data_dir / "retrieval" / "retrieval.sqlite3"
    if not path.exists():
        return {"skipped": "no retrieval store"}
    from weft.retrieval.service import RetrievalStore

    source = RetrievalStore(path)
    target = PgRetrievalStore(engine)
    try:
        local, cluster = _sealing(engine, "retrieval/secret.key", data_dir / "retrieval" / "secret.key")
        rows = source._db.execute("SELECT kind, name, body, secret, etag FROM objects ORDER BY kind, name").fetchall()
        plan, conflicts = [], []
        for kind, name, body, secret, etag in rows:
            body = json.loads(body)
            clear = _opened(local, secret)
            existing = target.get(kind, name)
            if existing is not None:
                if existing[0] != body or _opened(cluster, existing[1]) != clear:
                    conflicts.append(f"{kind} '{name}'")
                continue
            plan.append((kind, name, body, clear, etag))
        if conflicts:
            raise MigrationRefused("the cluster already holds different knowledge objects with these names: " + ", ".join(conflicts)
                                   + "; nothing of the retrieval store was written.")
        advance = progress.step("retrieval: knowledge sources and bases", len(plan))
        for kind, name, body, clear, etag in plan:
            target.put(kind, name, body, None if clear is None else cluster.encrypt(clear.encode()), etag)
            advance()
        return {"objects moved": len(plan), "already there": len(rows) - len(plan)}
    finally:
        source.close()


# ---- threads ------------------------------------------------------------------------------------------------
def _migrate_threads(data_dir: Path, engine: Engine, progress: _Progress) -> dict:
    path = data_dir / "threads" / "threads.sqlite3"
    if not path.exists():
        return {"skipped": "no threads store"}
    from sqlalchemy import and_, select

    from weft.threads.store import SqlThreadStore

    source = SqlThreadStore(f"sqlite:///{path}")
    target = SqlThreadStore(str(engine.url.render_as_string(hide_password=False)), engine=engine)
    copied, same = 0, 0
    try:
        plans = []
        for src_table in source.tables.metadata.sorted_tables:
            dst_table = target.tables.metadata.tables[src_table.name]
            keys = [c.name for c in src_table.primary_key.columns]
            with source.engine.connect() as sconn:
                rows = [dict(r._mapping) for r in sconn.execute(select(src_table))]
            fresh = []
            with engine.connect() as dconn:
                for start in range(0, len(rows), 500):
                    for row in rows[start:start + 500]:
                        found = dconn.execute(select(dst_table).where(and_(*[dst_table.c[k] == row[k] for k in keys]))).fetchone()
                        if found is None:
                            fresh.append(row)
                        elif src_table.name.endswith("threads_schema"):
                            same += 1
                        elif _normal(dict(found._mapping)) != _normal(row):
                            raise MigrationRefused(f"the cluster's table {src_table.name} already holds a different row with "
                                                   f"{ {k: row[k] for k in keys} }; nothing of the threads store was written.")
                        else:
                            same += 1
            plans.append((dst_table, fresh))
        for dst_table, fresh in plans:
            advance = progress.step(f"threads: {dst_table.name}", len(fresh))
            with engine.begin() as conn:
                for start in range(0, len(fresh), 500):
                    chunk = fresh[start:start + 500]
                    conn.execute(dst_table.insert(), chunk)
                    advance(len(chunk))
                for column in dst_table.primary_key.columns:
                    if column.autoincrement is True and fresh:
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{dst_table.name}', '{column.name}'), "
                                          f"(SELECT max({column.name}) FROM {dst_table.name}))"))
            copied += len(fresh)
        return {"rows moved": copied, "already there": same}
    finally:
        source.close()  # the target shares the caller's engine, which the caller disposes


def _normal(row: dict) -> dict:
    return {k: (bytes(v) if isinstance(v, memoryview) else v) for k, v in row.items()}
