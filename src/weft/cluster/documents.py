"""The documents of record: a batch applied to PostgreSQL in one transaction, with Azure's per-document results.

The batch's keys are read with ``FOR UPDATE`` (in key order, so two batches never wait on each other in a cycle),
merges are computed on the stored documents exactly as the embedded engine computes them, the changed documents
are written (``upload``/``merge``/``mergeOrUpload``) or removed (``delete``), and one change-log row names the index
incarnation and the keys touched. A key believed absent is inserted with ``ON CONFLICT DO NOTHING``: when another
transaction inserted it first, the whole transaction is retried, so a concurrent ``mergeOrUpload`` still merges.
The commit is the acknowledgement: 200/207 means the batch is in PostgreSQL.

An index with sealed fields (``weft.cluster.sealing``) keeps them in the ``sealed`` column under its tenant's data
key; every read here opens them (a document whose tenant was shredded reads as absent), every write seals them.
"""
from __future__ import annotations

import logging
import random
import time

import orjson
from psycopg import errors as pg_errors

from weft.cluster.pg import PREFIX, Database, NotReady, append_log
from weft.cluster.sealing import NO_KEYS, Sealing
from weft.errors import NotFound
from weft.search.documents import Action, ItemResult, complete_document, merge_document
from weft.search.schema import IndexDefinition

log = logging.getLogger(__name__)

RETRIES = 20
RETAIN = 100_000  # log rows kept behind the newest; a node further behind rebuilds from the documents of record
TRIM_EVERY = 1_000


class _Conflict(Exception):
    """A key this transaction thought absent was inserted by another one: retry the transaction."""


def _decode(source: bytes) -> dict:
    return orjson.loads(source)


def write_batch(db: Database, definition: IndexDefinition, actions: list[Action], sealing: Sealing = NO_KEYS,
                offer=None) -> tuple[list[ItemResult], int]:
    """Commits the batch; returns the per-document results and the change's log position.

    ``offer(position, uid, documents)``, when given, is called inside the transaction once its log position is taken,
    with each touched key's whole document (its JSON bytes, sealed fields included: in this process's memory only;
    ``None``: deleted): the apply loop of this node can then apply the change without reading the documents back.
    If the transaction rolls back, that position is a gap in the log and the offer is never used."""
    for attempt in range(RETRIES):
        try:
            with db.connection() as conn:
                return _write(conn, definition, actions, sealing, offer)
        except (_Conflict, pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
    raise NotReady("The batch met too many concurrent writes to the same keys; it was not applied.", retry_after=1)


def _index_uid(conn, name: str):
    row = conn.execute(f"SELECT uid FROM {PREFIX}indexes WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise NotFound(f"The index '{name}' for service 'weft' was not found.")
    return row[0]


def _write(conn, definition: IndexDefinition, actions: list[Action], sealing: Sealing, offer=None) -> tuple[list[ItemResult], int]:
    uid = _index_uid(conn, definition.name)
    incarnation = str(uid)  # what a sealed blob is bound to
    keys = sorted({a.key for a in actions})
    stored: dict[str, dict] = {}
    for key, source, sealed in conn.cursor(binary=True).execute(
            f"SELECT key, source, sealed FROM {PREFIX}documents WHERE index_uid = %s AND key = ANY(%b) ORDER BY key FOR UPDATE",
            (uid, keys)):
        document = sealing.open(definition, incarnation, key, source, sealed)
        stored[key] = document if document is not None else _decode(source)  # shredded: what is left of it
    existed = set(stored)
    current: dict[str, dict | None] = dict(stored)  # the state as the batch goes on
    results: list[ItemResult] = []
    unstored = {f.name for f in definition.fields if f.extra.get("stored", True) is False}
    for a in actions:
        existing = current.get(a.key)
        if a.kind == "delete":
            current[a.key] = None
            results.append(ItemResult(a.key, True, 200))
            continue
        if a.kind == "merge" and existing is None:
            results.append(ItemResult(a.key, False, 404, "Document not found."))
            continue
        if existing is not None and a.kind in ("merge", "mergeOrUpload"):
            # a stored:false field (a vector) is kept here for the nodes' indexes, but a merge sees the stored document
            # as the embedded engine does, without it: a merge that does not resend it drops it (as Azure does)
            document = merge_document(definition, {k: v for k, v in existing.items() if k not in unstored}, a.values)
        else:
            document = complete_document(definition, a.values)
        results.append(ItemResult(a.key, True, 200 if existing is not None else 201))
        current[a.key] = document
    touched = [k for k in keys if k in current and (current[k] is not None or k in existed)]
    rows = {k: sealing.seal(definition, incarnation, k, current[k]) for k in touched if current[k] is not None}
    # what this node's apply loop is offered: the whole document (the stored source is it when nothing is sealed)
    encoded = {k: source if sealed is None else orjson.dumps(current[k]) for k, (source, sealed) in rows.items()}
    updates = [k for k in rows if k in existed]
    inserts = [k for k in rows if k not in existed]
    deletes = [k for k in touched if current[k] is None]
    # one statement per kind, parameters in binary (a text array in text format is escaped element by element)
    if updates:
        # rows this transaction holds FOR UPDATE (none can vanish), each found by the primary key; an UPDATE joined
        # to unnest() is planned as a scan of the whole table
        conn.execute(
            f"INSERT INTO {PREFIX}documents (index_uid, key, source, sealed) SELECT %s, k, s, x "
            "FROM unnest(%b::text[], %b::bytea[], %b::bytea[]) AS t(k, s, x) "
            "ON CONFLICT (index_uid, key) DO UPDATE SET source = excluded.source, sealed = excluded.sealed",
            (uid, updates, [rows[k][0] for k in updates], [rows[k][1] for k in updates]),
        )
    if inserts:
        got = conn.execute(
            f"INSERT INTO {PREFIX}documents (index_uid, key, source, sealed) SELECT %s, k, s, x "
            "FROM unnest(%b::text[], %b::bytea[], %b::bytea[]) AS t(k, s, x) ORDER BY k ON CONFLICT DO NOTHING RETURNING key",
            (uid, inserts, [rows[k][0] for k in inserts], [rows[k][1] for k in inserts]),
        ).fetchall()
        if len(got) != len(inserts):
            raise _Conflict()
    if deletes:
        conn.execute(f"DELETE FROM {PREFIX}documents WHERE index_uid = %s AND key = ANY(%b)", (uid, deletes))
    if not touched:
        return results, 0  # nothing changed (merges of missing documents only): no log row
    position = append_log(conn, "docs", definition.name, uid, touched)
    if _index_uid(conn, definition.name) != uid:  # deleted (and perhaps re-created) meanwhile: under the log lock now
        raise NotFound(f"The index '{definition.name}' for service 'weft' was not found.")
    if position % TRIM_EVERY == 0:
        trim_log(conn, position - RETAIN)
    if offer is not None:
        offer(position, str(uid), {k: encoded.get(k) for k in touched})
    return results, position


def trim_log(conn, below: int) -> None:
    """Removes the log rows before ``below`` and records that they are gone: a node behind it must rebuild."""
    if below <= 0:
        return
    conn.execute(f"DELETE FROM {PREFIX}log WHERE position < %s", (below,))
    conn.execute(f"INSERT INTO {PREFIX}settings (name, value) VALUES ('log.trimmed_below', %s) ON CONFLICT (name) DO UPDATE "
                 f"SET value = greatest({PREFIX}settings.value::bigint, excluded.value::bigint)::text", (str(below),))


def trimmed_below(conn) -> int:
    row = conn.execute(f"SELECT value FROM {PREFIX}settings WHERE name = 'log.trimmed_below'").fetchone()
    return int(row[0]) if row else 0


def fetch_documents(conn, definition: IndexDefinition, uid: str, keys: list[str], sealing: Sealing) -> dict[str, dict]:
    """The documents of record of ``keys``, opened; an unreadable one (its tenant shredded) is left out, as if deleted."""
    rows = conn.cursor(binary=True).execute(f"SELECT key, source, sealed FROM {PREFIX}documents WHERE index_uid = %s AND key = ANY(%b)",
                                            (uid, keys))
    return opened(definition, uid, rows, sealing)


def opened(definition: IndexDefinition, uid: str, rows, sealing: Sealing) -> dict[str, dict]:
    """``(key, source, sealed)`` rows as documents, without the unreadable ones."""
    out: dict[str, dict] = {}
    for key, source, sealed in rows:
        document = sealing.open(definition, uid, key, source, sealed)
        if document is not None:
            out[key] = document
    return out


def decode_offered(written: dict[str, bytes | None]) -> dict[str, dict | None]:
    return {key: None if source is None else _decode(source) for key, source in written.items()}
