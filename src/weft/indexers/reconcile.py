"""Hard-delete reconciliation: find the documents whose source rows are gone, and delete them.

The indexer's key ledger (:mod:`weft.indexers.store`) holds every document key the indexer may have
written, with its source key; it is a superset of what the index holds. A ledger entry whose source
key no longer exists in the source is a *ghost*: the row was deleted (``DELETE``, ``TRUNCATE``, a key
change) and its document must go. A source key missing from the ledger is a row the change read has
not reached yet (committed after its ceiling): change tracking brings it, reconciliation leaves it.

Two methods, both in constant memory:

``hashBuckets`` (keys of a type with a canonical text: integers, strings, UUIDs; see
:mod:`weft.indexers.keyhash`). Every key falls in one of 4096 buckets by its md5 digest. One query
returns, per bucket, the source's ``(count, sum of checks)``; the ledger's come from an index scan.
Buckets that agree hold the same keys (up to a 2^-32 chance per changed bucket) and are done, and so
are buckets without ledger entries (no ghost can be there; their keys are rows not read yet). A
mismatched bucket holding more than :data:`LIST_BOUND` keys is split by the next hex digit of the
digest (one more summary query per level), until every mismatched range is under the bound. The
mismatched ranges are then processed in groups of at most :data:`LIST_BOUND` keys (from both sides'
counts) and :data:`PREFIXES_PER_QUERY` ranges: the source lists its keys in the group's ranges (one
query; ranges where the source has no key at all need no listing, e.g. after a ``TRUNCATE``), the
ledger its entries, and ledger keys absent from the listing are ghosts. So in the steady state (a few
deletes since the last run) one summary query and one small listing cross the wire, whatever the
table size; no step holds more than the bound. Ranges are digests, not key order, so the source's
collation (case-insensitive MariaDB, PostgreSQL locales) cannot disagree with the ledger's.

``ledgerWalk`` (other key types: dates, floats, decimals, bytes; a source whose dialect cannot hash the
key type; or a source whose digests of a sample of keys disagree with weft's): the ledger is walked in
pages of :data:`LEDGER_PAGE` and the source is asked which of those keys still exist; every key
crosses the wire.

Before a ghost is deleted, its key is looked up in the source (exact comparison of the values the
source returns), so a digest that a source computed differently from weft costs a lookup, never a
wrong delete. Ghosts are deleted through the target in ``batchSize`` chunks, and dropped from the
ledger only after the target reports the delete done (durable): a crash in between leaves them in the
ledger, and the next reconciliation deletes them again (deleting a missing document is a no-op).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from weft.indexers.keyhash import (
    BUCKET_DIGITS, CHECK_BITS, MAX_PREFIX_DIGITS, canonical_text, digest_hex, encoded_text, prefix_of, prefix_range,
)
from weft.indexers.sources.sql import EXISTS_CHUNK, PREFIXES_PER_QUERY
from weft.indexers.tracking import decode_value, encode_value

if TYPE_CHECKING:
    from weft.indexers.runner import RunContext, RunOutcome

log = logging.getLogger("weft.indexers")
LIST_BOUND = 20_000  # keys (source + ledger) held at once by one step of the hash method
LEDGER_PAGE = 1000
HASH_BUCKETS = "hashBuckets"
LEDGER_WALK = "ledgerWalk"
REPORT_NAME = "weft.reconcile"


@dataclass
class ReconcileReport:
    method: str = HASH_BUCKETS
    fallback_reason: str | None = None
    buckets_compared: int = 0
    buckets_mismatched: int = 0
    ranges_listed: int = 0
    keys_listed: int = 0  # source keys that crossed the wire (hash) / ledger keys sent to the source (walk)
    ledger_entries_read: int = 0
    keys_looked_up: int = 0  # ghost candidates checked by key before their delete
    kept_by_lookup: int = 0  # candidates the lookup found: their digests differ between source and weft
    ghosts_deleted: int = 0
    deletes_failed: int = 0
    queries: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        """camelCase keys, as the rest of the execution record."""
        return {_camel(name): value for name, value in asdict(self).items()}

    def message(self) -> str:
        if self.method == HASH_BUCKETS:
            text = (f"Hard-delete reconciliation by hash buckets: {self.buckets_compared} buckets compared, "
                    f"{self.buckets_mismatched} mismatched, {self.keys_listed} source keys listed")
        else:
            text = (f"Hard-delete reconciliation by ledger walk ({self.fallback_reason or 'requested'}): "
                    f"{self.keys_listed} keys checked")
        text += f", {self.ghosts_deleted} documents deleted in {self.queries} source queries."
        if self.kept_by_lookup:
            text += (f" {self.kept_by_lookup} keys the digests called deleted exist in the source (the source hashes them "
                     "differently) and were kept.")
        if self.deletes_failed:
            text += f" {self.deletes_failed} deletes failed and are retried next time."
        return text


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def reconcile(ctx: RunContext, outcome: RunOutcome, key_name: str, method: str | None = None) -> ReconcileReport | None:
    """Delete the documents of rows gone from the source. ``method`` forces one (benchmarks, tests);
    None picks the hash method when it can be trusted. Returns None when cancelled before the end."""
    source = ctx.source
    started, queries_before = time.perf_counter(), source.queries
    report = ReconcileReport()
    if method != LEDGER_WALK:
        reason = _hash_unusable(ctx)
        if reason is not None and method == HASH_BUCKETS:
            raise ValueError(f"The hash-bucket method cannot be used: {reason}")
        report.fallback_reason = reason
    if method == LEDGER_WALK or report.fallback_reason is not None:
        report.method = LEDGER_WALK
        finished = _walk_ledger(ctx, outcome, key_name, report)
    else:
        finished = _by_hash_buckets(ctx, outcome, key_name, report)
        if finished is None:  # some source keys have no digest after all
            report.method = LEDGER_WALK
            finished = _walk_ledger(ctx, outcome, key_name, report)
    report.queries = source.queries - queries_before
    report.seconds = round(time.perf_counter() - started, 3)
    _publish(outcome, report)
    if not finished:
        return None
    meta = ctx.store.meta(ctx.indexer.name)
    meta["lastReconcile"] = ctx.now()
    ctx.store.save_meta(ctx.indexer.name, meta)
    return report


def _publish(outcome: RunOutcome, report: ReconcileReport) -> None:
    """The counts go to the run outcome, which the execution history shows as ``weftReconcile`` (a
    weft-only member beside Azure's; not a warning, which Azure reserves for item problems)."""
    outcome.reconcile = report.to_json()


def _hash_unusable(ctx: RunContext) -> str | None:
    """Why the hash method cannot be trusted for this source and ledger, or None."""
    source, store = ctx.source, ctx.store
    types = source.digest_key_types
    if not types:
        return f"the '{ctx.datasource.type}' source cannot compute key digests"
    if store.ledger_has_unhashed(ctx.indexer.name):
        return "the key ledger holds keys of a type without a canonical text (dates, numbers with a fraction, bytes)"
    try:
        sample = source.digest_sample()
    except Exception as exc:  # e.g. md5() refused by a FIPS-mode PostgreSQL
        log.warning("indexer %s: the source cannot compute key digests: %s", ctx.indexer.name, exc)
        return f"the source cannot compute key digests ({type(exc).__name__})"
    for key, digest in sample:
        text = canonical_text(key) if isinstance(key, types) else None
        if text is None:
            return f"the '{ctx.datasource.type}' source's keys are of type {type(key).__name__}, which has no canonical text there"
        if digest != digest_hex(text):
            return f"the source's digest of key {key!r} differs from weft's (column type or encoding)"
    return None


# ---- hash buckets ------------------------------------------------------------------------------------------------

def _by_hash_buckets(ctx: RunContext, outcome: RunOutcome, key_name: str, report: ReconcileReport) -> bool | None:
    source, store, name = ctx.source, ctx.store, ctx.indexer.name
    source_side = source.digest_summary(BUCKET_DIGITS)
    if None in source_side:
        report.fallback_reason = "some source keys have no digest (values of another type in the key column)"
        return None
    ledger_side = {f"{bucket:03x}": value for bucket, value in store.ledger_bucket_summary(name).items()}
    report.buckets_compared = len(set(source_side) | set(ledger_side))
    mismatched = _differing(source_side, ledger_side)
    report.buckets_mismatched = len(mismatched)
    for group in _groups(_narrow(ctx, mismatched)):
        if ctx.cancelled.is_set():
            return False
        _reconcile_group(ctx, outcome, key_name, report, group)
        ctx.report(outcome)
    return not ctx.cancelled.is_set()


Counts = tuple[int, int]  # (ledger entries, source keys) under one prefix


def _differing(source_side: dict, ledger_side: dict) -> dict[str, Counts]:
    """Prefixes whose ``(count, sum)`` differ and that hold ledger entries (a range without any
    cannot hold a ghost: its source keys are rows change tracking has not read yet)."""
    out = {}
    for prefix in sorted(set(source_side) | set(ledger_side)):
        ours, theirs = ledger_side.get(prefix, (0, 0)), source_side.get(prefix, (0, 0))
        if ours != theirs and ours[0] > 0:
            out[prefix] = (ours[0], theirs[0])
    return out


def _too_big(prefix: str, counts: Counts) -> bool:
    return sum(counts) > LIST_BOUND and len(prefix) < MAX_PREFIX_DIGITS


def _narrow(ctx: RunContext, mismatched: dict[str, Counts]) -> list[tuple[str, Counts]]:
    """Split mismatched ranges holding more than LIST_BOUND keys by one more hex digit, level by
    level (one summary query per level), keeping only the sub-ranges that still differ."""
    leaves = [(p, c) for p, c in mismatched.items() if not _too_big(p, c)]
    pending = [p for p, c in mismatched.items() if _too_big(p, c)]
    while pending and not ctx.cancelled.is_set():
        digits = len(pending[0]) + 1
        source_side = ctx.source.digest_summary(digits, parents=pending)
        shift = CHECK_BITS - 4 * (digits - BUCKET_DIGITS)
        ledger_side: dict[str, tuple[int, int]] = {}
        for parent in pending:
            bucket, low, high = prefix_range(parent)
            for part, value in ctx.store.ledger_check_summary(ctx.indexer.name, bucket, low, high, shift).items():
                ledger_side[prefix_of(bucket, part << shift, digits)] = value
        deeper = []
        for prefix, counts in _differing(source_side, ledger_side).items():
            if _too_big(prefix, counts):
                deeper.append(prefix)
            else:
                leaves.append((prefix, counts))
        pending = deeper
    return sorted(leaves)


def _groups(leaves: list[tuple[str, Counts]]):
    """Consecutive leaves packed under LIST_BOUND keys (both sides) and PREFIXES_PER_QUERY ranges per
    group; a single leaf over the bound (only possible for keys repeated in a view or query) is alone."""
    group: list[tuple[str, Counts]] = []
    size = 0
    for prefix, counts in leaves:
        if group and (size + sum(counts) > LIST_BOUND or len(group) >= PREFIXES_PER_QUERY):
            yield group
            group, size = [], 0
        group.append((prefix, counts))
        size += sum(counts)
    if group:
        yield group


def _reconcile_group(ctx: RunContext, outcome: RunOutcome, key_name: str, report: ReconcileReport, group: list[tuple[str, Counts]]) -> None:
    """List the source's keys under the group's prefixes (those where the source has any: where it
    has none, every ledger entry is a candidate) and compare with the ledger's entries there."""
    listed_prefixes = [prefix for prefix, (_, source_count) in group if source_count > 0]
    present: set[str | None] = set()
    if listed_prefixes:
        listed = ctx.source.keys_with_prefixes(listed_prefixes)
        report.ranges_listed += len(listed_prefixes)
        report.keys_listed += len(listed)
        present = {canonical_text(k) for k in listed}
        del listed
    candidates: list[tuple[str, Any]] = []
    for prefix, _ in group:
        bucket, low, high = prefix_range(prefix)
        for doc_key, source_key in ctx.store.ledger_range(ctx.indexer.name, bucket, low, high):
            report.ledger_entries_read += 1
            if encoded_text(source_key) not in present:
                candidates.append((doc_key, source_key))
    if candidates:
        _delete(ctx, outcome, key_name, report, _confirmed_absent(ctx, report, candidates))


def _confirmed_absent(ctx: RunContext, report: ReconcileReport, candidates: list[tuple[str, Any]]) -> list[str]:
    """Document keys of the candidates whose source key the source does not return when asked by key
    (compared exactly, so a case-insensitive match of another key does not keep a ghost)."""
    absent = []
    for i in range(0, len(candidates), EXISTS_CHUNK):
        chunk = candidates[i:i + EXISTS_CHUNK]
        report.keys_looked_up += len(chunk)
        found = {canonical_text(k) for k in ctx.source.matching_keys([decode_value(s) for _, s in chunk])}
        for doc_key, source_key in chunk:
            if encoded_text(source_key) in found:
                report.kept_by_lookup += 1
            else:
                absent.append(doc_key)
    return absent


# ---- ledger walk -------------------------------------------------------------------------------------------------

def _walk_ledger(ctx: RunContext, outcome: RunOutcome, key_name: str, report: ReconcileReport) -> bool:
    """Every ledger key, in doc-key pages; keys the source no longer has are deleted."""
    store, source, name = ctx.store, ctx.source, ctx.indexer.name
    after = None
    while not ctx.cancelled.is_set():
        page = store.ledger_page(name, after, LEDGER_PAGE)
        if not page:
            return True
        after = page[-1][0]
        report.ledger_entries_read += len(page)
        report.keys_listed += len(page)
        wanted = [decode_value(s) for _, s in page]
        existing = {comparable(k) for k in source.existing_keys(wanted)}
        gone = [doc_key for doc_key, s in page if comparable(decode_value(s)) not in existing]
        if gone:
            _delete(ctx, outcome, key_name, report, gone)
            ctx.report(outcome)
    return False


def comparable(value: Any) -> Any:
    """A source key as a hashable value equal for equal keys (dates and datetimes as ISO text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return json.dumps(encode_value(value), sort_keys=True) if isinstance(value, dict) else value


# ---- deletes ------------------------------------------------------------------------------------------------------

def _delete(ctx: RunContext, outcome: RunOutcome, key_name: str, report: ReconcileReport, doc_keys: list[str]) -> None:
    """Delete through the target in batchSize chunks; drop from the ledger only what the target
    reports done (durable). A failed delete stays in the ledger and is retried next time."""
    size = ctx.indexer.batch_size
    for i in range(0, len(doc_keys), size):
        chunk = doc_keys[i:i + size]
        results = ctx.target.apply([{"@search.action": "delete", key_name: k} for k in chunk])
        done = [r.key for r in results if r.ok]
        report.ghosts_deleted += len(done)
        report.deletes_failed += len(chunk) - len(done)
        outcome.deleted += len(done)
        ctx.store.ledger_remove(ctx.indexer.name, done)
