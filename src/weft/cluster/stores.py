"""The cluster's PostgreSQL stores for everything but the search catalog and documents: the indexer store
(same contract as :class:`weft.indexers.store.IndexerStore`), the retrieval store (same contract as
:class:`weft.retrieval.service.RetrievalStore`) and the shared key files (the generated admin key, the
secret keys that seal data source and knowledge source secrets), so every node uses the same ones.

Atomicity is PostgreSQL's: each method that writes is one transaction (the SQLite store's ``BEGIN
IMMEDIATE`` becomes ``engine.begin()``); the cursor advance and the ledger trim of
:meth:`PgIndexerStore.save_tracking_state` commit together, as in embedded mode.
"""
from __future__ import annotations

import json
import os
import secrets as _secrets
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import text
from sqlalchemy.engine import Engine

from weft.errors import ConcurrentChange
from weft.etags import ANY
from weft.indexers.keyhash import bucket_and_check, encoded_text

HISTORY_LIMIT = 50
P = "weft_ix_"  # table prefix of the indexer store

_INDEXER_SCHEMA = [
    f"CREATE TABLE IF NOT EXISTS {P}datasources (name TEXT PRIMARY KEY, body TEXT NOT NULL, secret BYTEA, etag TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {P}indexers (name TEXT PRIMARY KEY, body TEXT NOT NULL, secret BYTEA, etag TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {P}tracking (indexer TEXT PRIMARY KEY, state TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {P}executions (id BIGSERIAL PRIMARY KEY, indexer TEXT NOT NULL, body TEXT NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {P}executions_by_indexer ON {P}executions (indexer, id)",
    f"""CREATE TABLE IF NOT EXISTS {P}ledger (indexer TEXT NOT NULL, doc_key TEXT NOT NULL, source_key TEXT NOT NULL,
        bucket INTEGER, key_check BIGINT, PRIMARY KEY (indexer, doc_key))""",
    f"CREATE INDEX IF NOT EXISTS {P}ledger_by_bucket ON {P}ledger (indexer, bucket, key_check)",
    f"CREATE TABLE IF NOT EXISTS {P}meta (indexer TEXT PRIMARY KEY, body TEXT NOT NULL)",
]
KEYS_TABLE = "weft_cluster_keys"
RETRIEVAL_TABLE = "weft_retrieval_objects"


def connect(url: str, *, pool_size: int = 4, max_overflow: int = 16) -> Engine:
    """An engine on the cluster URL (host lists and ``target_session_attrs`` as the threads store takes them)."""
    from weft.threads.database import make_engine

    return make_engine(url, pool_size=pool_size, max_overflow=max_overflow)


def _create(engine: Engine, statements: Iterable[str]) -> None:
    with engine.begin() as conn:
        # one node at a time creates the tables (CREATE ... IF NOT EXISTS races on the catalog otherwise)
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('weft-cluster-schema'))"))
        for sql in statements:
            conn.execute(text(sql))


# ---- shared key files -----------------------------------------------------------------------------------
def shared_value(engine: Engine, name: str, make) -> str:
    """The cluster's value of ``name``; the first node to ask stores ``make()``."""
    _create(engine, [f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL)"])
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {KEYS_TABLE} (name, value) VALUES (:n, :v) ON CONFLICT (name) DO NOTHING"),
                     {"n": name, "v": make()})
        return conn.execute(text(f"SELECT value FROM {KEYS_TABLE} WHERE name = :n"), {"n": name}).scalar_one()


def stored_value(engine: Engine, name: str) -> str | None:
    _create(engine, [f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL)"])
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT value FROM {KEYS_TABLE} WHERE name = :n"), {"n": name}).scalar()


def write_private(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` (mode 0600) atomically, unless it already holds exactly that."""
    path = Path(path)
    if path.exists() and path.read_text().strip() == value.strip():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value.strip() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SHARED_FILES = {  # name in the cluster -> (path under the data dir, generator)
    "admin.key": ("admin.key", lambda: _secrets.token_hex(16).upper()),
    "indexers/secret.key": ("indexers/secret.key", _fernet_key),
    "retrieval/secret.key": ("retrieval/secret.key", _fernet_key),
}


def materialize_shared_files(engine: Engine, data_dir: Path, *, admin_key: bool = True) -> None:
    """Make the node's key files the cluster's: the first node's generated keys become everyone's."""
    from weft.config import ADMIN_KEY_FILE

    for name, (relative, make) in SHARED_FILES.items():
        if name == "admin.key":
            if not admin_key:
                continue
            relative = ADMIN_KEY_FILE
        write_private(Path(data_dir) / relative, shared_value(engine, name, make))


# ---- the indexer store ------------------------------------------------------------------------------------
class PgIndexerStore:
    """:class:`weft.indexers.store.IndexerStore` in PostgreSQL (the same methods, the same transactions)."""

    def __init__(self, engine: Engine, node_id: str | None = None):
        self.engine = engine
        self.node_id = node_id
        self._fences: dict[str, int] = {}  # indexer -> the run lease token its cursor writes must still hold
        _create(engine, _INDEXER_SCHEMA)

    def fence(self, indexer: str, token: int | None) -> None:
        """From now on, advance ``indexer``'s cursor only while this node holds its run lease with ``token``
        (``None``: no check). A node that lost the lease (paused past its expiry) cannot move the cursor."""
        if token is None:
            self._fences.pop(indexer, None)
        else:
            self._fences[indexer] = int(token)

    def _check_fence(self, conn, indexer: str) -> None:
        token = self._fences.get(indexer)
        if token is None or self.node_id is None:
            return
        from weft.cluster.leases import TABLE
        from weft.errors import Conflict

        # FOR SHARE: a takeover of the lease waits for this transaction, so the check holds until commit
        row = conn.execute(text(f"SELECT holder, token FROM {TABLE} WHERE name = :n FOR SHARE"),
                           {"n": "indexer-run:" + indexer}).fetchone()
        if row is None or row[0] != self.node_id or int(row[1]) != token:
            raise Conflict(f"The indexer '{indexer}' is now run by another node (its run lease moved); this run stops.")

    def ping(self) -> None:
        self._all(f"SELECT count(*) FROM {P}indexers")

    def close(self) -> None:
        pass  # the engine is the node's, disposed by its owner

    def _tx(self, statements: Iterable[tuple[str, dict]]) -> None:
        with self.engine.begin() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)

    def _all(self, sql: str, params: dict | None = None) -> list[tuple]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params or {}).fetchall()
            conn.rollback()
        return [tuple(r) for r in rows]

    # ---- definitions ----
    def put_definition(self, kind: str, name: str, body: dict, secret: bytes | None, etag: str, *, expected=ANY) -> None:
        """``expected``: the stored ETag the caller read (None: no row). The write is conditional on it in one statement
        (two nodes' conditional PUTs: one commits, the other finds nothing to update and raises ConcurrentChange)."""
        params = {"n": name, "b": json.dumps(body), "s": secret, "e": etag, "x": None if expected is ANY else expected}
        with self.engine.begin() as conn:
            conn.execute(text(conditional_put(f"{P}{_table(kind)}", "name = :n", "(name, body, secret, etag) VALUES (:n, :b, :s, :e)",
                                              "body = :b, secret = :s, etag = :e", "(name)", expected)), params).fetchone() \
                or _changed()

    def get_definition(self, kind: str, name: str) -> tuple[dict, bytes | None, str] | None:
        rows = self._all(f"SELECT body, secret, etag FROM {P}{_table(kind)} WHERE name = :n", {"n": name})
        if not rows:
            return None
        body, secret, etag = rows[0]
        return json.loads(body), _bytes(secret), etag

    def list_definitions(self, kind: str) -> list[tuple[str, dict, bytes | None, str]]:
        return [(n, json.loads(b), _bytes(s), e) for n, b, s, e in self._all(f"SELECT name, body, secret, etag FROM {P}{_table(kind)} ORDER BY name")]

    def delete_definition(self, kind: str, name: str, *, expected=ANY) -> None:
        with self.engine.begin() as conn:
            deleted = conn.execute(text(f"DELETE FROM {P}{_table(kind)} WHERE name = :n" + ("" if expected is ANY else " AND etag = :x")),
                                   {"n": name, "x": None if expected is ANY else expected}).rowcount
            if expected is not ANY and not deleted:
                _changed()
            if kind == "indexer":
                for t in ("tracking", "executions", "ledger", "meta"):
                    conn.execute(text(f"DELETE FROM {P}{t} WHERE indexer = :n"), {"n": name})

    # ---- tracking state ----
    def tracking_state(self, indexer: str) -> dict | None:
        rows = self._all(f"SELECT state FROM {P}tracking WHERE indexer = :i", {"i": indexer})
        return json.loads(rows[0][0]) if rows else None

    def save_tracking_state(self, indexer: str, state: dict | None, *, ledger_removals: list[str] = ()) -> None:
        """Advance the cursor (and drop ledger keys whose deletes are durable) in one transaction."""
        with self.engine.begin() as conn:
            self._check_fence(conn, indexer)
            if state is None:
                conn.execute(text(f"DELETE FROM {P}tracking WHERE indexer = :i"), {"i": indexer})
            else:
                conn.execute(text(f"INSERT INTO {P}tracking (indexer, state) VALUES (:i, :s) ON CONFLICT (indexer) DO UPDATE SET state = excluded.state"),
                             {"i": indexer, "s": json.dumps(state)})
            if ledger_removals:
                conn.execute(text(f"DELETE FROM {P}ledger WHERE indexer = :i AND doc_key = ANY(:k)"), {"i": indexer, "k": list(ledger_removals)})

    def meta(self, indexer: str) -> dict:
        rows = self._all(f"SELECT body FROM {P}meta WHERE indexer = :i", {"i": indexer})
        return json.loads(rows[0][0]) if rows else {}

    def save_meta(self, indexer: str, body: dict) -> None:
        self._tx([(f"INSERT INTO {P}meta (indexer, body) VALUES (:i, :b) ON CONFLICT (indexer) DO UPDATE SET body = excluded.body",
                   {"i": indexer, "b": json.dumps(body)})])

    # ---- key ledger ----
    def ledger_add(self, indexer: str, entries: list[tuple[str, Any]]) -> None:
        if not entries:
            return
        rows = {}
        for k, s in entries:  # one row per key (ON CONFLICT cannot touch a row twice in one statement)
            bucket, check = bucket_and_check(encoded_text(s))
            rows[k] = {"i": indexer, "k": k, "s": json.dumps(s), "b": bucket, "c": check}
        with self.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO {P}ledger (indexer, doc_key, source_key, bucket, key_check) VALUES (:i, :k, :s, :b, :c) "
                              "ON CONFLICT (indexer, doc_key) DO UPDATE SET source_key = excluded.source_key, bucket = excluded.bucket, "
                              "key_check = excluded.key_check"), list(rows.values()))

    def ledger_remove(self, indexer: str, doc_keys: list[str]) -> None:
        if doc_keys:
            self._tx([(f"DELETE FROM {P}ledger WHERE indexer = :i AND doc_key = ANY(:k)", {"i": indexer, "k": list(doc_keys)})])

    def ledger_page(self, indexer: str, after: str | None, limit: int) -> list[tuple[str, Any]]:
        rows = self._all(f'SELECT doc_key, source_key FROM {P}ledger WHERE indexer = :i AND doc_key COLLATE "C" > :a ORDER BY doc_key COLLATE "C" LIMIT :l',
                         {"i": indexer, "a": after or "", "l": limit})
        return [(k, json.loads(s)) for k, s in rows]

    def ledger_count(self, indexer: str) -> int:
        return int(self._all(f"SELECT count(*) FROM {P}ledger WHERE indexer = :i", {"i": indexer})[0][0])

    def ledger_has_unhashed(self, indexer: str) -> bool:
        return bool(self._all(f"SELECT 1 FROM {P}ledger WHERE indexer = :i AND bucket IS NULL LIMIT 1", {"i": indexer}))

    def ledger_bucket_summary(self, indexer: str) -> dict[int, tuple[int, int]]:
        rows = self._all(f"SELECT bucket, count(*), sum(key_check) FROM {P}ledger WHERE indexer = :i AND bucket IS NOT NULL GROUP BY bucket",
                         {"i": indexer})
        return {int(b): (int(c), int(t)) for b, c, t in rows}

    def ledger_check_summary(self, indexer: str, bucket: int, low: int, high: int, shift: int) -> dict[int, tuple[int, int]]:
        rows = self._all(f"SELECT key_check >> :sh, count(*), sum(key_check) FROM {P}ledger WHERE indexer = :i AND bucket = :b "
                         "AND key_check BETWEEN :lo AND :hi GROUP BY 1", {"sh": shift, "i": indexer, "b": bucket, "lo": low, "hi": high})
        return {int(p): (int(c), int(t)) for p, c, t in rows}

    def ledger_range(self, indexer: str, bucket: int, low: int, high: int) -> list[tuple[str, Any]]:
        rows = self._all(f"SELECT doc_key, source_key FROM {P}ledger WHERE indexer = :i AND bucket = :b AND key_check BETWEEN :lo AND :hi",
                         {"i": indexer, "b": bucket, "lo": low, "hi": high})
        return [(k, json.loads(s)) for k, s in rows]

    # ---- execution history ----
    def start_execution(self, indexer: str, body: dict) -> int:
        with self.engine.begin() as conn:
            new_id = conn.execute(text(f"INSERT INTO {P}executions (indexer, body) VALUES (:i, :b) RETURNING id"),
                                  {"i": indexer, "b": json.dumps(body)}).scalar_one()
            conn.execute(text(f"DELETE FROM {P}executions WHERE indexer = :i AND id NOT IN "
                              f"(SELECT id FROM {P}executions WHERE indexer = :i ORDER BY id DESC LIMIT :l)"), {"i": indexer, "l": HISTORY_LIMIT})
        return int(new_id)

    def update_execution(self, execution_id: int, body: dict) -> None:
        self._tx([(f"UPDATE {P}executions SET body = :b WHERE id = :id", {"b": json.dumps(body), "id": execution_id})])

    def executions(self, indexer: str) -> list[dict]:
        return [json.loads(b) for (b,) in self._all(f"SELECT body FROM {P}executions WHERE indexer = :i ORDER BY id DESC LIMIT :l",
                                                    {"i": indexer, "l": HISTORY_LIMIT})]

    def interrupted_executions(self, indexer: str | None = None) -> list[tuple[int, str, dict]]:
        sql, params = f"SELECT id, indexer, body FROM {P}executions", {}
        if indexer is not None:
            sql, params = sql + " WHERE indexer = :i", {"i": indexer}
        out = []
        for execution_id, name, body in self._all(sql, params):
            parsed = json.loads(body)
            if parsed.get("status") == "inProgress":
                out.append((int(execution_id), name, parsed))
        return out


def conditional_put(table: str, match: str, insert: str, update: str, conflict: str, expected) -> str:
    """The SQL of a write conditional on the stored ETag, RETURNING a row when it wrote: ANY upserts; None inserts
    unless the row exists; an ETag updates only the row that still has it (PostgreSQL re-checks the WHERE on the
    newest row version after waiting for a concurrent writer, so the check and the write are one step)."""
    if expected is ANY:
        return (f"INSERT INTO {table} {insert} ON CONFLICT {conflict} DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in (a.split("=")[0].strip() for a in update.split(","))) + " RETURNING 1")
    if expected is None:
        return f"INSERT INTO {table} {insert} ON CONFLICT {conflict} DO NOTHING RETURNING 1"
    return f"UPDATE {table} SET {update} WHERE {match} AND etag = :x RETURNING 1"


def _changed():
    raise ConcurrentChange("The definition was changed by another request while this one was applied; retry it.")


def _table(kind: str) -> str:
    return {"datasource": "datasources", "indexer": "indexers"}[kind]


def _bytes(value) -> bytes | None:
    return None if value is None else bytes(value)


# ---- the retrieval store --------------------------------------------------------------------------------
class PgRetrievalStore:
    """:class:`weft.retrieval.service.RetrievalStore` in PostgreSQL: knowledge sources and bases."""

    def __init__(self, engine: Engine):
        self.engine = engine
        _create(engine, [f"CREATE TABLE IF NOT EXISTS {RETRIEVAL_TABLE} (kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, "
                         "secret BYTEA, etag TEXT NOT NULL, PRIMARY KEY (kind, name))"])

    def get(self, kind: str, name: str) -> tuple[dict, bytes | None, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT body, secret, etag FROM {RETRIEVAL_TABLE} WHERE kind = :k AND name = :n"),
                               {"k": kind, "n": name}).fetchone()
        return (json.loads(row[0]), _bytes(row[1]), row[2]) if row else None

    def list(self, kind: str) -> list[tuple[str, dict, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT name, body, etag FROM {RETRIEVAL_TABLE} WHERE kind = :k ORDER BY name"), {"k": kind}).fetchall()
        return [(n, json.loads(b), e) for n, b, e in rows]

    def put(self, kind: str, name: str, body: dict, secret: bytes | None, etag: str, *, expected=ANY) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(conditional_put(RETRIEVAL_TABLE, "kind = :k AND name = :n", "(kind, name, body, secret, etag) VALUES (:k, :n, :b, :s, :e)",
                                              "body = :b, secret = :s, etag = :e", "(kind, name)", expected)),
                         {"k": kind, "n": name, "b": json.dumps(body), "s": secret, "e": etag, "x": None if expected is ANY else expected}).fetchone() or _changed()

    def delete(self, kind: str, name: str, *, expected=ANY) -> bool:
        with self.engine.begin() as conn:
            deleted = conn.execute(text(f"DELETE FROM {RETRIEVAL_TABLE} WHERE kind = :k AND name = :n" + ("" if expected is ANY else " AND etag = :x")),
                                   {"k": kind, "n": name, "x": None if expected is ANY else expected}).rowcount > 0
        if expected is not ANY and not deleted:
            _changed()
        return deleted

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(f"SELECT count(*) FROM {RETRIEVAL_TABLE}")).fetchone()

    def close(self) -> None:
        pass
