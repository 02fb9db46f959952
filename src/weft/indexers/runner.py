"""One indexer run: read changes in batches -> map rows -> write through the target -> advance the cursor.

Order of effects per batch, which is what makes a SIGKILL at any instant lose nothing and redo at
most one batch:

1. the batch's document keys are added to the key ledger (the ledger may hold more than the index);
2. the documents are written; the target returns only when they are durable;
3. the cursor moves past the batch, and ledger keys of durable deletes are dropped, in one
   transaction of the indexer store.

After the changes, a hard-delete reconciliation (when the data source asks for it) compares the
ledger with the source and deletes the documents of rows gone from the source
(:mod:`weft.indexers.reconcile`: per hash bucket of the keys, or a ledger walk for key types without
a canonical text).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from weft.errors import InvalidInput, WeftError
from weft.indexers.mapping import ConversionError, DocumentMapper
from weft.indexers.model import HARD_DELETE, SOFT_DELETE, DataSource, Indexer
from weft.indexers.reconcile import reconcile
from weft.indexers.sources.sql import SqlSource
from weft.indexers.store import IndexerStore
from weft.indexers.targets import Target
from weft.indexers.tracking import (
    KeysetPlan, XidPlan, encode_value, full_checkpoint, full_done, keyset_checkpoint,
    keyset_state, marker_matches, xid_checkpoint, xid_done,
)
from weft.search.documents import parse_batch

log = logging.getLogger("weft.indexers")
MAX_REPORTED_ERRORS = 100


class RunFailed(Exception):
    pass


@dataclass
class RunOutcome:
    status: str = "success"
    error_message: str | None = None
    items_processed: int = 0
    items_failed: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    initial_state: dict | None = None
    final_state: dict | None = None
    phase: str = "starting"
    rows_read: int = 0
    estimated_total: int | None = None
    deleted: int = 0
    reconcile: dict | None = None  # counts of the hard-delete reconciliation (reconcile.ReconcileReport)

    def error(self, key: str, message: str, status_code: int = 400) -> None:
        self.items_failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"key": key, "name": None, "errorMessage": message, "statusCode": status_code,
                                "details": None, "documentationLink": None})

    def warn(self, key: str, message: str) -> None:
        if len(self.warnings) < MAX_REPORTED_ERRORS:
            self.warnings.append({"key": key, "name": None, "message": message, "details": None, "documentationLink": None})


@dataclass
class RunContext:
    indexer: Indexer
    datasource: DataSource
    source: SqlSource
    target: Target
    store: IndexerStore
    cancelled: threading.Event = field(default_factory=threading.Event)
    report: Callable[[RunOutcome], None] = lambda outcome: None
    now: Callable[[], float] = time.time


def _show_state(state: dict | None) -> str | None:
    return None if state is None else json.dumps(state, separators=(",", ":"))


def run(ctx: RunContext) -> RunOutcome:
    outcome = RunOutcome()
    store, ix, ds, source = ctx.store, ctx.indexer, ctx.datasource, ctx.source
    state = store.tracking_state(ix.name)
    outcome.initial_state = state
    outcome.final_state = state
    try:
        definition = ctx.target.definition()
        mapper = DocumentMapper(definition, ix.field_mappings, base64_encode_keys=ix.base64_encode_keys)
        try:
            key_column = mapper.key_source_column(source.columns())
            source.configure(key_column, ds.change_policy.column if ds.change_policy else None)
            soft_column = source.resolve(ds.deletion_policy.column) if ds.deletion_policy and ds.deletion_policy.kind == SOFT_DELETE else None
        except (ConversionError, LookupError) as exc:
            raise RunFailed(str(exc))
        plan = source.plan(state)
        if state is None:
            outcome.estimated_total = source.row_count()
        outcome.phase = "initialLoad" if _is_initial(plan) else "changes"
        ctx.report(outcome)
        _read_changes(ctx, outcome, plan, mapper, definition, soft_column)
        if ds.deletion_policy and ds.deletion_policy.kind == HARD_DELETE and not ctx.cancelled.is_set():
            if _reconcile_due(ctx):
                outcome.phase = "reconcile"
                ctx.report(outcome)
                _reconcile(ctx, outcome, mapper)
    except RunFailed as exc:
        outcome.status, outcome.error_message = "transientFailure", str(exc)
    except WeftError as exc:
        outcome.status, outcome.error_message = "transientFailure", exc.message
    except Exception as exc:  # the source or target failed: report it, keep the cursor where it is
        log.warning("indexer %s run failed: %s", ix.name, exc, exc_info=True)
        from weft.indexers.sources.errors import public_error

        outcome.status, outcome.error_message = "transientFailure", public_error(exc)
    try:
        outcome.final_state = store.tracking_state(ix.name)
    except Exception as exc:  # the store is away (a database failover): the record shows the state as last read
        log.warning("indexer %s: the final tracking state could not be read: %s", ix.name, exc)
        if outcome.status == "success":
            outcome.status, outcome.error_message = "transientFailure", "The indexer store became unreachable at the end of the run."
    outcome.phase = "done"
    return outcome


def _is_initial(plan) -> bool:
    if isinstance(plan, KeysetPlan):
        return plan.hwm is None
    if isinstance(plan, XidPlan):
        return plan.floor is None
    return True


def _position_after(plan, source: SqlSource, row: dict) -> tuple[Any, Any]:
    if isinstance(plan, KeysetPlan):
        return row[source.hwm_column], row[source.key_column]
    return None, row[source.key_column]


def _checkpoint(plan, hwm: Any, key: Any) -> dict:
    if isinstance(plan, KeysetPlan):
        return keyset_checkpoint(plan, hwm, key)
    if isinstance(plan, XidPlan):
        return xid_checkpoint(plan, key)
    return full_checkpoint(key)


def _read_changes(ctx: RunContext, outcome: RunOutcome, plan, mapper: DocumentMapper, definition, soft_column: str | None) -> None:
    """Batches in cursor order. The next batch is read while the current one is written (the read
    needs only the current batch's last position), so the source and the index work in parallel; the
    cursor still moves only after each batch is durable."""
    ix, source, store = ctx.indexer, ctx.source, ctx.store
    marker = ctx.datasource.deletion_policy.marker if soft_column else None
    key_name = definition.key_field.name
    if isinstance(plan, KeysetPlan):
        hwm, key = plan.hwm, plan.key
    else:
        hwm, key = None, plan.after_key
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"weft-read-{ix.name}") as reader:
        pending = reader.submit(source.read, plan, hwm, key, ix.batch_size)
        while pending is not None and not ctx.cancelled.is_set():
            rows = pending.result()
            if not rows:
                break
            hwm, key = _position_after(plan, source, rows[-1])
            # a short batch ends the window: below the commit-safe ceiling no row can still appear (a
            # row joining an inclusive ceiling's tier, or a table read in full, waits for the next run)
            pending = reader.submit(source.read, plan, hwm, key, ix.batch_size) if len(rows) >= ix.batch_size else None
            outcome.rows_read += len(rows)
            actions: list[dict] = []
            ledger: list[tuple[str, Any]] = []
            deletes: set[str] = set()
            batch_failed = 0
            for row in rows:
                source_key = row[source.key_column]
                shown = str(source_key)
                try:
                    if soft_column is not None and marker_matches(row.get(soft_column), marker):
                        doc_key = mapper.document_key(row)
                        actions.append({"@search.action": "delete", key_name: doc_key})
                        deletes.add(doc_key)
                        continue
                    doc = mapper.document(row)
                except ConversionError as exc:
                    batch_failed += 1
                    outcome.error(shown, str(exc))
                    continue
                actions.append({"@search.action": "mergeOrUpload", **doc})
                ledger.append((doc[key_name], encode_value(source_key)))
            outcome.items_processed += len(rows)
            removals: list[str] = []
            if actions:
                store.ledger_add(ix.name, ledger)
                try:
                    results = ctx.target.apply(actions)
                except InvalidInput:
                    # the batch was rejected as a whole: find the poison documents, report them, write the rest
                    actions, failed = _validated(definition, actions)
                    for shown, message in failed:
                        batch_failed += 1
                        outcome.error(shown, message)
                    results = ctx.target.apply(actions) if actions else []
                for r in results:
                    if not r.ok:
                        batch_failed += 1
                        outcome.error(r.key, r.message or "The document could not be indexed.", r.status_code)
                removals = [r.key for r in results if r.ok and r.key in deletes]
                outcome.deleted += len(removals)
            _check_limits(ix, outcome, batch_failed)
            store.save_tracking_state(ix.name, _checkpoint(plan, hwm, key), ledger_removals=removals)
            ctx.report(outcome)
        if pending is not None:
            pending.cancel()
    if ctx.cancelled.is_set():
        return
    if isinstance(plan, KeysetPlan):
        if outcome.rows_read == 0:
            store.save_tracking_state(ix.name, keyset_state(plan))
    elif isinstance(plan, XidPlan):
        store.save_tracking_state(ix.name, xid_done(plan))
    else:
        store.save_tracking_state(ix.name, full_done())


def _validated(definition, actions: list[dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Split a batch into the actions the index accepts and (key, message) of those it rejects."""
    key_name = definition.key_field.name
    good, failed = [], []
    for action in actions:
        try:
            parse_batch(definition, {"value": [action]})
        except WeftError as exc:
            failed.append((str(action.get(key_name)), exc.message))
            continue
        good.append(action)
    return good, failed


def _check_limits(ix: Indexer, outcome: RunOutcome, batch_failed: int) -> None:
    if ix.max_failed_items_per_batch != -1 and batch_failed > ix.max_failed_items_per_batch:
        raise RunFailed(
            f"There were {batch_failed} failed items in a batch, over the limit 'maxFailedItemsPerBatch' of "
            f"{ix.max_failed_items_per_batch}; the indexer stopped before that batch's changes were checkpointed."
        )
    if ix.max_failed_items != -1 and outcome.items_failed > ix.max_failed_items:
        raise RunFailed(
            f"There were {outcome.items_failed} failed items, over the limit 'maxFailedItems' of {ix.max_failed_items}; "
            "the indexer stopped before that batch's changes were checkpointed."
        )


def _reconcile_due(ctx: RunContext) -> bool:
    every = ctx.datasource.deletion_policy.reconcile_every_seconds
    if not every:
        return True
    last = ctx.store.meta(ctx.indexer.name).get("lastReconcile")
    return last is None or ctx.now() - last >= every


def _reconcile(ctx: RunContext, outcome: RunOutcome, mapper: DocumentMapper) -> None:
    """Hard deletes: documents whose source rows are gone (see :mod:`weft.indexers.reconcile`)."""
    reconcile(ctx, outcome, mapper.key_field.name)


def show_state(state: dict | None) -> str | None:
    return _show_state(state)
