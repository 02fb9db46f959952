"""IndexerService: data sources, indexers, runs, schedules and status. Plain Python, no HTTP.

Requests and answers use Azure AI Search's JSON shapes. Runs execute on background threads, one at
a time per indexer (a second run request is a :class:`Conflict`, 409 at the edge).

Near-real-time wake-ups (LISTEN/NOTIFY) are :mod:`weft.indexers.wakeups`, mixed in.
"""
from __future__ import annotations

import contextlib

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weft.etags import check_preconditions, new_etag, retried
from weft import observability
from weft.errors import Conflict, InvalidInput, NotFound
from weft.indexers import runner
from weft.indexers.model import DataSource, Indexer, format_time, parse_data_source, parse_indexer
from weft.search.strict import check_definition
from weft.indexers.notify import NotifyHub
from weft.indexers.scheduler import Clock, Scheduler, SystemClock, next_due
from weft.indexers.secrets import SecretBox
from weft.indexers.sources import open_source
from weft.indexers.sources.sql import create_source_engine
from weft.indexers.run_leases import RunLeases
from weft.indexers.store import IndexerStore
from weft.indexers.targets import LocalTarget, RemoteTarget
from weft.indexers.wakeups import NotifyState, NotifyWakeups

log = logging.getLogger("weft.indexers")
LIMITS = {"maxRunTime": "PT22H", "maxDocumentExtractionSize": 0, "maxDocumentContentCharactersToExtract": 0}
REPORT_EVERY = 0.5


@dataclass
class ActiveRun:
    thread: threading.Thread
    cancelled: threading.Event
    outcome: runner.RunOutcome | None = None
    execution_id: int = 0
    started: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)


class IndexerService(NotifyWakeups):
    def __init__(self, data_dir: Path, search: Any, *, clock: Clock | None = None, run_scheduler: bool = True, resolution: float = 0.05,
                 listen: bool = True, notify_options: dict | None = None, sqlite_dirs: list[Path] | None = None,
                 store: Any = None, leases: Any = None):
        self.data_dir = Path(data_dir)
        self.sqlite_dirs = sqlite_dirs  # None: no bound (library use); the server always passes its bound
        self.search = search
        self.clock = clock or SystemClock()
        # cluster mode passes a PostgreSQL store and the cluster's job leases (weft.cluster); embedded: SQLite, in-process
        self.store = store if store is not None else IndexerStore(self.data_dir / "indexers.sqlite3")
        self.claims = RunLeases(self.store, leases, parse_time=_parse_time)
        self.secrets = SecretBox(self.data_dir / "secret.key")
        self._lock = threading.RLock()
        self._runs: dict[str, ActiveRun] = {}
        self._engines: dict[str, Any] = {}
        self._last_start: dict[str, float] = {}
        self._closed = False
        self._notify: dict[str, NotifyState] = {}
        self._notify_targets: dict[str, tuple[str, list[str]]] = {}  # data source -> (wake strategy, enabled indexers)
        self._notify_sync = threading.Lock()
        self._listen = listen
        self.notify_hub = NotifyHub(self._on_wake, self._on_passed, now=self.clock.now, **(notify_options or {}))
        self._last_start.update(self.claims.at_start())
        self.scheduler = Scheduler(self.clock, self._run_due, resolution)
        if run_scheduler:
            self.scheduler.start()
        self._sync_listeners()

    def close(self) -> None:
        self._closed = True
        self.scheduler.stop()
        self.notify_hub.close()
        with self._lock:
            runs = list(self._runs.values())
        for active in runs:
            active.cancelled.set()
        for active in runs:
            active.thread.join(30)
        for engine in self._engines.values():
            engine.dispose()
        self.store.close()

    # ---- data sources ---------------------------------------------------------------------------------
    def _load_datasource(self, name: str) -> DataSource:
        found = self.store.get_definition("datasource", name)
        if found is None:
            raise NotFound(f"Data source '{name}' was not found.")
        body, secret, etag = found
        ds = parse_data_source(body, existing_secret=self.secrets.open(secret))
        ds.etag = etag
        return ds

    def create_datasource(self, body: Any) -> dict:
        return retried(lambda: self._create_datasource(body))

    def _create_datasource(self, body: Any) -> dict:
        check_definition(body, "datasource")  # unknown and refused members (weft.search.members_resources)
        ds = parse_data_source(body)
        with self._lock:
            if self.store.get_definition("datasource", ds.name) is not None:
                message = f"Cannot create data source '{ds.name}' because it already exists."
                raise InvalidInput(message, code="ResourceNameAlreadyInUse", details=[{"code": "CannotCreateExistingDataSource", "message": message}])
            rendered = self._put_datasource(ds, expected=None)
        self._sync_listeners()
        return rendered

    def create_or_update_datasource(self, name: str, body: Any, *, if_match: str | None = None, if_none_match: str | None = None) -> tuple[dict, bool]:
        return retried(lambda: self._create_or_update_datasource(name, body, if_match, if_none_match))

    def _create_or_update_datasource(self, name: str, body: Any, if_match: str | None, if_none_match: str | None) -> tuple[dict, bool]:
        with self._lock:
            existing = self.store.get_definition("datasource", name)
            check_preconditions(existing[2] if existing else None, if_match, if_none_match)
            check_definition(body, "datasource")
            ds = parse_data_source(body, name_from_path=name, existing_secret=self.secrets.open(existing[1]) if existing else None)
            self._drop_engine(name)
            rendered = self._put_datasource(ds, expected=existing[2] if existing else None)
        self._sync_listeners()
        return rendered, existing is None

    def _check_path(self, ds: DataSource) -> None:
        if ds.type == "sqlite" and ds.connection_string:
            from weft.indexers.sources.confine import check_sqlite_path
            from weft.indexers.sources.sql import engine_url

            check_sqlite_path(engine_url(ds), self.sqlite_dirs)

    def _put_datasource(self, ds: DataSource, *, expected) -> dict:
        """``expected``: the stored ETag this write was decided on (None: none was stored); another node's write
        since then makes it a ConcurrentChange, and the operation is run again (weft.etags.retried)."""
        self._check_path(ds)
        ds.etag = new_etag()
        self.store.put_definition("datasource", ds.name, ds.raw, self.secrets.seal(ds.connection_string), ds.etag, expected=expected)
        return ds.to_json()

    def get_datasource(self, name: str) -> dict:
        return self._load_datasource(name).to_json()

    def list_datasources(self) -> list[dict]:
        return [self._load_datasource(n).to_json() for n, *_ in self.store.list_definitions("datasource")]

    def delete_datasource(self, name: str, *, if_match: str | None = None, if_none_match: str | None = None) -> None:
        retried(lambda: self._delete_datasource(name, if_match, if_none_match))

    def _delete_datasource(self, name: str, if_match: str | None, if_none_match: str | None) -> None:
        with self._lock:
            existing = self.store.get_definition("datasource", name)
            if existing is None:
                raise NotFound(f"Data source '{name}' was not found.")
            check_preconditions(existing[2], if_match, if_none_match)
            self.store.delete_definition("datasource", name, expected=existing[2])
            self._drop_engine(name)
            self._notify_targets.pop(name, None)
        self._sync_listeners()

    def _drop_engine(self, name: str) -> None:
        engine = self._engines.pop(name, None)
        if engine is not None:
            engine.dispose()

    def _engine(self, ds: DataSource):
        with self._lock:
            engine = self._engines.get(ds.name)
            if engine is None:
                self._check_path(ds)  # also for definitions stored before the bound was set
                engine = self._engines[ds.name] = create_source_engine(ds)
            return engine

    # ---- indexers ---------------------------------------------------------------------------------------
    def _load_indexer(self, name: str) -> Indexer:
        found = self.store.get_definition("indexer", name)
        if found is None:
            raise NotFound(f"Indexer '{name}' was not found.")
        body, secret, etag = found
        ix = parse_indexer(body, existing_api_key=self.secrets.open(secret))
        ix.etag = etag
        return ix

    def _validate_references(self, ix: Indexer) -> None:
        if self.store.get_definition("datasource", ix.data_source) is None:
            raise InvalidInput(f"Data source '{ix.data_source}' referenced by indexer '{ix.name}' was not found.")
        if ix.remote_endpoint is None:
            try:
                self.search.definition(ix.target_index)
            except NotFound:
                raise InvalidInput(f"Target index '{ix.target_index}' referenced by indexer '{ix.name}' was not found.")

    def create_indexer(self, body: Any) -> dict:
        return retried(lambda: self._create_indexer(body))

    def _create_indexer(self, body: Any) -> dict:
        check_definition(body, "indexer")
        ix = parse_indexer(body)
        with self._lock:
            if self.store.get_definition("indexer", ix.name) is not None:
                message = f"Cannot create indexer '{ix.name}' because it already exists."
                raise InvalidInput(message, code="ResourceNameAlreadyInUse", details=[{"code": "CannotCreateExistingIndexer", "message": message}])
            self._validate_references(ix)
            rendered = self._put_indexer(ix, expected=None)
        if not ix.disabled:
            self._start(ix.name)
        self._sync_listeners()
        return rendered

    def create_or_update_indexer(self, name: str, body: Any, *, if_match: str | None = None, if_none_match: str | None = None) -> tuple[dict, bool]:
        return retried(lambda: self._create_or_update_indexer(name, body, if_match, if_none_match))

    def _create_or_update_indexer(self, name: str, body: Any, if_match: str | None, if_none_match: str | None) -> tuple[dict, bool]:
        with self._lock:
            existing = self.store.get_definition("indexer", name)
            check_preconditions(existing[2] if existing else None, if_match, if_none_match)
            check_definition(body, "indexer")
            ix = parse_indexer(body, name_from_path=name, existing_api_key=self.secrets.open(existing[1]) if existing else None)
            self._validate_references(ix)
            rendered = self._put_indexer(ix, expected=existing[2] if existing else None)
        if existing is None and not ix.disabled:
            self._start(ix.name)
        self._sync_listeners()
        return rendered, existing is None

    def _put_indexer(self, ix: Indexer, *, expected) -> dict:
        ix.etag = new_etag()
        self.store.put_definition("indexer", ix.name, ix.raw, self.secrets.seal(ix.remote_api_key), ix.etag, expected=expected)
        return ix.to_json()

    def get_indexer(self, name: str) -> dict:
        return self._load_indexer(name).to_json()

    def list_indexers(self) -> list[dict]:
        return [self._load_indexer(n).to_json() for n, *_ in self.store.list_definitions("indexer")]

    def delete_indexer(self, name: str, *, if_match: str | None = None, if_none_match: str | None = None) -> None:
        retried(lambda: self._delete_indexer(name, if_match, if_none_match))

    def _delete_indexer(self, name: str, if_match: str | None, if_none_match: str | None) -> None:
        with self._lock:
            existing = self.store.get_definition("indexer", name)
            if existing is None:
                raise NotFound(f"Indexer '{name}' was not found.")
            check_preconditions(existing[2], if_match, if_none_match)
            active = self._runs.get(name)
            self._notify.pop(name, None)  # no wake-up may start it again
            self._notify_targets = {ds: (strategy, [n for n in names if n != name]) for ds, (strategy, names) in self._notify_targets.items()}
        if active is not None:
            active.cancelled.set()
            active.thread.join(60)
        self.store.delete_definition("indexer", name, expected=existing[2])
        self._last_start.pop(name, None)
        self._sync_listeners()

    # ---- runs ----------------------------------------------------------------------------------------------
    def run(self, name: str) -> None:
        """Start a run now (202 at the edge); Conflict if one is in progress."""
        self._load_indexer(name)
        if not self._start(name):
            raise Conflict("Another indexer invocation is currently in progress; concurrent invocations are not allowed.")

    def run_and_wait(self, name: str, timeout: float | None = None) -> dict:
        """Start a run (or join the one in progress) and wait for it; returns its execution record."""
        self._load_indexer(name)
        self._start(name)
        with self._lock:
            active = self._runs.get(name)
        if active is not None:
            active.done.wait(timeout)
        return self.store.executions(name)[0]

    def wait_idle(self, name: str, timeout: float | None = None) -> None:
        with self._lock:
            active = self._runs.get(name)
        if active is not None:
            active.done.wait(timeout)

    def reset(self, name: str) -> None:
        self._load_indexer(name)
        with self._lock:
            active = self._runs.get(name)
        if active is not None:
            active.cancelled.set()
            active.thread.join(60)
        with self.claims.exclusive(name):
            previous = self.store.tracking_state(name)
            self.store.save_tracking_state(name, None)
        now = format_time(dt.datetime.fromtimestamp(self.clock.now(), dt.timezone.utc))
        self.store.start_execution(name, {
            "status": "reset", "errorMessage": None, "startTime": now, "endTime": now, "errors": [], "warnings": [],
            "itemsProcessed": 0, "itemsFailed": 0, "initialTrackingState": runner.show_state(previous), "finalTrackingState": None,
        })

    def _run_due(self, now: float) -> None:
        if self._closed:
            return
        keeper, taken = self.claims.scheduler_turn()
        if not keeper:  # another node keeps the schedules (cluster mode)
            return
        if taken:  # resume from the shared history
            self._last_start.update(self.claims.last_starts())
        self._start_deferred(now)
        for name, body, _, _ in self.store.list_definitions("indexer"):
            try:
                ix = parse_indexer(body, existing_api_key="x")
            except Exception:
                continue
            if ix.disabled or ix.interval_seconds is None:
                continue
            anchor = ix.start_time.timestamp() if ix.start_time else None
            last = self._last_start.get(name)
            if last is None:
                self._last_start[name] = now  # the creation run (or server start) counts as the first slot
                continue
            if now >= next_due(last, ix.interval_seconds, anchor, now):
                self._start(name, scheduled=True)

    def _start(self, name: str, scheduled: bool = False) -> bool:
        with self._lock:
            if self._closed or name in self._runs or not self.claims.claim(name, scheduled, self._last_start):
                return False
            active = ActiveRun(thread=None, cancelled=threading.Event())  # type: ignore[arg-type]
            active.started = self.clock.now()
            previous_start = self._last_start.get(name)
            self._runs[name] = active
            self._last_start[name] = active.started
            active.thread = threading.Thread(target=self._execute, args=(name, active), name=f"weft-indexer-{name}", daemon=True)
            try:
                active.execution_id = self.store.start_execution(
                    name, self._execution_body(runner.RunOutcome(status="inProgress"), active.started, None))
            except BaseException:
                # not started (the store failed: a database failover): forget the run, so this indexer is not
                # "running" here for ever, keep its slot due, and give its run lease back
                self._runs.pop(name, None)
                if previous_start is None:
                    self._last_start.pop(name, None)
                else:
                    self._last_start[name] = previous_start
                self.claims.end(name)
                raise
        active.thread.start()
        return True

    def _execution_body(self, outcome: runner.RunOutcome, started: float, ended: float | None) -> dict:
        body = {
            "status": outcome.status,
            "errorMessage": outcome.error_message,
            "startTime": format_time(dt.datetime.fromtimestamp(started, dt.timezone.utc)),
            "endTime": format_time(dt.datetime.fromtimestamp(ended, dt.timezone.utc)) if ended is not None else None,
            "errors": outcome.errors,
            "warnings": outcome.warnings,
            "itemsProcessed": outcome.items_processed,
            "itemsFailed": outcome.items_failed,
            "initialTrackingState": runner.show_state(outcome.initial_state),
            "finalTrackingState": runner.show_state(outcome.final_state),
        }
        if outcome.reconcile is not None:
            body["weftReconcile"] = outcome.reconcile
        if outcome.status == "inProgress":
            body["progress"] = {"phase": outcome.phase, "rowsRead": outcome.rows_read, "estimatedTotal": outcome.estimated_total,
                                "documentsDeleted": outcome.deleted}
        return body

    def _execute(self, name: str, active: ActiveRun) -> None:
        target = None
        outcome: runner.RunOutcome | None = None
        try:
            ix = self._load_indexer(name)
            ds = self._load_datasource(ix.data_source)
            source = open_source(ds, self._engine(ds))
            target = RemoteTarget(ix.remote_endpoint, ix.remote_api_key, ix.target_index) if ix.remote_endpoint else LocalTarget(self.search, ix.target_index)

            last_report = [0.0]

            def report(outcome: runner.RunOutcome) -> None:
                """Progress in the status, at most twice a second (each write is a durable commit)."""
                now = time.monotonic()
                if now - last_report[0] < REPORT_EVERY and outcome.phase == last_report_phase[0]:
                    return
                last_report[0], last_report_phase[0] = now, outcome.phase
                live = runner.RunOutcome(**{**outcome.__dict__, "status": "inProgress"})
                self.store.update_execution(active.execution_id, self._execution_body(live, active.started, None))

            last_report_phase = [None]

            ctx = runner.RunContext(ix, ds, source, target, self.store, active.cancelled, report, self.clock.now)
            outcome = runner.run(ctx)
        except Exception as exc:
            from weft.errors import WeftError
            from weft.indexers.sources.errors import public_error

            log.warning("indexer %s could not run: %s", name, exc, exc_info=not isinstance(exc, WeftError))
            shown = exc.message if isinstance(exc, WeftError) else public_error(exc)
            outcome = runner.RunOutcome(status="transientFailure", error_message=shown)
            with contextlib.suppress(Exception):  # the store may be what failed (a database failover)
                outcome.initial_state = outcome.final_state = self.store.tracking_state(name)
        finally:
            if target is not None:
                with contextlib.suppress(Exception):
                    target.close()
            # whatever failed above, the run ends here: a thread that died before this line (the store failing
            # inside the handler above, in a database failover) left the indexer "running" on this node and its
            # run lease renewed for ever, so no node ran it again
            self._end_run(name, active, outcome)

    def _end_run(self, name: str, active: ActiveRun, outcome: runner.RunOutcome | None) -> None:
        if outcome is None:  # an error the handler above could not even record
            outcome = runner.RunOutcome(status="transientFailure", error_message="The run failed unexpectedly.")
        if active.cancelled.is_set() and outcome.status == "success":
            outcome.status, outcome.error_message = "transientFailure", "The run was cancelled (indexer reset, deleted, or the server stopped)."
        active.outcome = outcome
        observability.indexer_run_observed(name, outcome.status, outcome.items_processed, outcome.items_failed)
        try:
            self.store.update_execution(active.execution_id, self._execution_body(outcome, active.started, self.clock.now()))
        except Exception:  # deleted meanwhile, or the store is away (the next claimant closes the record as interrupted)
            pass
        self.claims.end(name)
        with self._lock:
            self._runs.pop(name, None)
            try:
                self._after_run(name, active, outcome)
            except Exception:  # pragma: no cover - wake-up bookkeeping must not break the run's end
                log.exception("indexer %s: wake-up follow-up failed", name)
        active.done.set()

    # ---- status -------------------------------------------------------------------------------------------------
    def status(self, name: str) -> dict:
        ix = self._load_indexer(name)
        history = self.store.executions(name)
        body = {
            "name": name,
            "status": "running" if not ix.disabled else "unknown",
            "lastResult": history[0] if history else None,
            "executionHistory": history,
            "limits": dict(LIMITS),
        }
        listening = self._notify_status(ix)
        if listening is not None:  # weft's extension, only for data sources with weftNotify
            body["weftNotify"] = listening
        return body

    def is_running(self, name: str) -> bool:
        with self._lock:
            return name in self._runs


def _parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
