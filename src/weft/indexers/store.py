"""Durable state of the indexers, in SQLite (WAL, synchronous=FULL) in the data dir.

Holds data source and indexer definitions (secrets sealed by :class:`SecretBox`), each indexer's
tracking state (the change cursor), its execution history (50 newest), and its *key ledger*: the
document keys the indexer may have written to the target index, with the source key of each row.
The ledger is written before documents are sent and trimmed only after deletes are durable, so it is
always a superset of what the indexer put in the index; hard-delete reconciliation compares it with
the source. Each ledger entry carries the bucket and check of its source key's digest
(:mod:`weft.indexers.keyhash`, NULL for key types without one), indexed per indexer, so the ledger
side of a reconciliation is an index scan. Stores written before those columns existed are migrated
in place when opened (``PRAGMA user_version`` 0 -> 1).
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator

from weft.etags import ANY, expect_etag
from weft.indexers.keyhash import bucket_and_check, encoded_text

HISTORY_LIMIT = 50
SCHEMA_VERSION = 1
BACKFILL_PAGE = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasources (name TEXT PRIMARY KEY, body TEXT NOT NULL, secret BLOB, etag TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS indexers (name TEXT PRIMARY KEY, body TEXT NOT NULL, secret BLOB, etag TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracking (indexer TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (id INTEGER PRIMARY KEY AUTOINCREMENT, indexer TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS executions_by_indexer ON executions (indexer, id);
CREATE TABLE IF NOT EXISTS ledger (
  indexer TEXT NOT NULL, doc_key TEXT NOT NULL, source_key TEXT NOT NULL, bucket INTEGER, key_check INTEGER,
  PRIMARY KEY (indexer, doc_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (indexer TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


class IndexerStore:
    def __init__(self, path: Path):
        path = Path(path)
        from weft.fsmodes import private_file

        private_file(path)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._migrate()

    def ping(self) -> None:
        """Raises when the store cannot be read (readiness)."""
        with self._lock:
            self._db.execute("SELECT count(*) FROM indexers").fetchone()

    def _migrate(self) -> None:
        """Bring a store written by an older weft up to :data:`SCHEMA_VERSION`. Idempotent, and safe
        to interrupt: every step can be redone, and the version moves only when all are done."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(ledger)")}
        for column in ("bucket", "key_check"):
            if column not in columns:
                try:
                    self._db.execute(f"ALTER TABLE ledger ADD COLUMN {column} INTEGER")
                except sqlite3.OperationalError as exc:  # another process added it meanwhile
                    if "duplicate column" not in str(exc):
                        raise
        self._backfill_ledger_buckets()
        self._db.execute("CREATE INDEX IF NOT EXISTS ledger_by_bucket ON ledger (indexer, bucket, key_check)")
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _backfill_ledger_buckets(self) -> None:
        """Compute bucket and check of the entries that lack them, in pages (one transaction each)."""
        after: tuple[str, str] = ("", "")
        while True:
            page = self._all(
                "SELECT indexer, doc_key, source_key FROM ledger WHERE bucket IS NULL AND (indexer, doc_key) > (?, ?) "
                "ORDER BY indexer, doc_key LIMIT ?", (*after, BACKFILL_PAGE),
            )
            if not page:
                return
            after = (page[-1][0], page[-1][1])
            updates = []
            for indexer, doc_key, source_key in page:
                bucket, check = bucket_and_check(encoded_text(json.loads(source_key)))
                if bucket is not None:
                    updates.append(("UPDATE ledger SET bucket = ?, key_check = ? WHERE indexer = ? AND doc_key = ?",
                                    (bucket, check, indexer, doc_key)))
            if updates:
                self._tx(updates)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the store's lock: committed whole, or rolled back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _tx(self, statements: Iterable[tuple[str, tuple]]) -> None:
        with self._transaction() as db:
            for sql, params in statements:
                db.execute(sql, params)

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # ---- definitions -----------------------------------------------------------------------------
    def put_definition(self, kind: str, name: str, body: dict, secret: bytes | None, etag: str, *, expected=ANY) -> None:
        """``expected``: the stored ETag the caller read (None: no row), checked in the write's transaction."""
        table = _table(kind)
        with self._transaction() as db:
            self._expect(db, table, name, expected)
            db.execute(f"INSERT OR REPLACE INTO {table} (name, body, secret, etag) VALUES (?, ?, ?, ?)", (name, json.dumps(body), secret, etag))

    @staticmethod
    def _expect(db, table: str, name: str, expected) -> None:
        if expected is not ANY:
            row = db.execute(f"SELECT etag FROM {table} WHERE name = ?", (name,)).fetchone()
            expect_etag(row[0] if row else None, expected)

    def get_definition(self, kind: str, name: str) -> tuple[dict, bytes | None, str] | None:
        rows = self._all(f"SELECT body, secret, etag FROM {_table(kind)} WHERE name = ?", (name,))
        if not rows:
            return None
        body, secret, etag = rows[0]
        return json.loads(body), secret, etag

    def list_definitions(self, kind: str) -> list[tuple[str, dict, bytes | None, str]]:
        return [(n, json.loads(b), s, e) for n, b, s, e in self._all(f"SELECT name, body, secret, etag FROM {_table(kind)} ORDER BY name")]

    def delete_definition(self, kind: str, name: str, *, expected=ANY) -> None:
        statements = [(f"DELETE FROM {_table(kind)} WHERE name = ?", (name,))]
        if kind == "indexer":
            statements += [(f"DELETE FROM {t} WHERE indexer = ?", (name,)) for t in ("tracking", "executions", "ledger", "meta")]
        with self._transaction() as db:
            self._expect(db, _table(kind), name, expected)
            for sql, params in statements:
                db.execute(sql, params)

    # ---- tracking state ------------------------------------------------------------------------------
    def tracking_state(self, indexer: str) -> dict | None:
        rows = self._all("SELECT state FROM tracking WHERE indexer = ?", (indexer,))
        return json.loads(rows[0][0]) if rows else None

    def save_tracking_state(self, indexer: str, state: dict | None, *, ledger_removals: list[str] = ()) -> None:
        """Advance the cursor (and drop ledger keys whose deletes are durable) in one transaction."""
        statements: list[tuple[str, tuple]] = []
        if state is None:
            statements.append(("DELETE FROM tracking WHERE indexer = ?", (indexer,)))
        else:
            statements.append(("INSERT OR REPLACE INTO tracking (indexer, state) VALUES (?, ?)", (indexer, json.dumps(state))))
        statements += [("DELETE FROM ledger WHERE indexer = ? AND doc_key = ?", (indexer, k)) for k in ledger_removals]
        self._tx(statements)

    def meta(self, indexer: str) -> dict:
        rows = self._all("SELECT body FROM meta WHERE indexer = ?", (indexer,))
        return json.loads(rows[0][0]) if rows else {}

    def save_meta(self, indexer: str, body: dict) -> None:
        self._tx([("INSERT OR REPLACE INTO meta (indexer, body) VALUES (?, ?)", (indexer, json.dumps(body)))])

    # ---- key ledger ------------------------------------------------------------------------------------
    def ledger_add(self, indexer: str, entries: list[tuple[str, Any]]) -> None:
        """Record ``(document key, source key as tracking.encode_value JSON)`` pairs."""
        if entries:
            rows = [(indexer, k, json.dumps(s), *bucket_and_check(encoded_text(s))) for k, s in entries]
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO ledger (indexer, doc_key, source_key, bucket, key_check) VALUES (?, ?, ?, ?, ?)", rows)

    def ledger_remove(self, indexer: str, doc_keys: list[str]) -> None:
        self._tx([("DELETE FROM ledger WHERE indexer = ? AND doc_key = ?", (indexer, k)) for k in doc_keys])

    def ledger_page(self, indexer: str, after: str | None, limit: int) -> list[tuple[str, Any]]:
        rows = self._all(
            "SELECT doc_key, source_key FROM ledger WHERE indexer = ? AND doc_key > ? ORDER BY doc_key LIMIT ?", (indexer, after or "", limit)
        )
        return [(k, json.loads(s)) for k, s in rows]

    def ledger_count(self, indexer: str) -> int:
        return self._all("SELECT count(*) FROM ledger WHERE indexer = ?", (indexer,))[0][0]

    def ledger_has_unhashed(self, indexer: str) -> bool:
        """Whether some entry's source key has no digest (its type has no canonical text)."""
        return bool(self._all("SELECT 1 FROM ledger WHERE indexer = ? AND bucket IS NULL LIMIT 1", (indexer,)))

    def ledger_bucket_summary(self, indexer: str) -> dict[int, tuple[int, int]]:
        """``bucket -> (entries, sum of checks)`` over the hashed entries (at most 4096 rows)."""
        rows = self._all(
            "SELECT bucket, count(*), sum(key_check) FROM ledger WHERE indexer = ? AND bucket IS NOT NULL GROUP BY bucket", (indexer,)
        )
        return {bucket: (count, total) for bucket, count, total in rows}

    def ledger_check_summary(self, indexer: str, bucket: int, low: int, high: int, shift: int) -> dict[int, tuple[int, int]]:
        """Within one bucket and the checks ``low..high``: ``check >> shift -> (entries, sum of checks)``."""
        rows = self._all(
            "SELECT key_check >> ?, count(*), sum(key_check) FROM ledger WHERE indexer = ? AND bucket = ? "
            "AND key_check BETWEEN ? AND ? GROUP BY 1", (shift, indexer, bucket, low, high),
        )
        return {part: (count, total) for part, count, total in rows}

    def ledger_range(self, indexer: str, bucket: int, low: int, high: int) -> list[tuple[str, Any]]:
        """``(document key, source key)`` of the entries in one bucket with checks ``low..high``."""
        rows = self._all(
            "SELECT doc_key, source_key FROM ledger WHERE indexer = ? AND bucket = ? AND key_check BETWEEN ? AND ?",
            (indexer, bucket, low, high),
        )
        return [(k, json.loads(s)) for k, s in rows]

    # ---- execution history ------------------------------------------------------------------------------
    def start_execution(self, indexer: str, body: dict) -> int:
        with self._transaction() as db:
            cur = db.execute("INSERT INTO executions (indexer, body) VALUES (?, ?)", (indexer, json.dumps(body)))
            db.execute(
                "DELETE FROM executions WHERE indexer = ? AND id NOT IN (SELECT id FROM executions WHERE indexer = ? ORDER BY id DESC LIMIT ?)",
                (indexer, indexer, HISTORY_LIMIT),
            )
        return int(cur.lastrowid)

    def update_execution(self, execution_id: int, body: dict) -> None:
        self._tx([("UPDATE executions SET body = ? WHERE id = ?", (json.dumps(body), execution_id))])

    def executions(self, indexer: str) -> list[dict]:
        """Newest first, at most 50."""
        return [json.loads(b) for (b,) in self._all("SELECT body FROM executions WHERE indexer = ? ORDER BY id DESC LIMIT ?", (indexer, HISTORY_LIMIT))]

    def interrupted_executions(self) -> list[tuple[int, str, dict]]:
        rows = self._all("SELECT id, indexer, body FROM executions")
        out = []
        for execution_id, indexer, body in rows:
            parsed = json.loads(body)
            if parsed.get("status") == "inProgress":
                out.append((execution_id, indexer, parsed))
        return out


def _table(kind: str) -> str:
    return {"datasource": "datasources", "indexer": "indexers"}[kind]
