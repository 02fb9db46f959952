"""PostgreSQL LISTEN/NOTIFY wake-ups for indexers (weft's near-real-time mode).

A notification is only a *wake-up*: it never carries data into the index. The run it triggers reads
through the same commit-fenced window as any scheduled run, so the guarantees are unchanged; the
notification only shortens the wait for the next run.

One :class:`Listener` thread per data source holds one autocommit psycopg connection, ``LISTEN``\\s on
the configured channel and waits in ``conn.notifies(timeout=...)``. What it hands to the service is a
:class:`Wake`: a *bound* on the transaction ids the wake-up is about. Every transaction that committed
before the notification arrived has an id below ``pg_snapshot_xmax(pg_current_snapshot())`` read
just after, so ``xmax - 1`` bounds them all; when every payload is the writer's
``pg_current_xact_id()`` (the trigger in :func:`trigger_sql` sends it), the bound is the exact id.

A row of the notified transaction can still lie above a run's ceiling: the ceiling
(``pg_snapshot_xmin``) stays below any transaction that is still open, and an *older* open
transaction holds it back. The service then asks the listener to :meth:`Listener.watch` that id; the
listener re-reads ``pg_snapshot_xmin(pg_current_snapshot())`` (one row, no table access) every
``watch_every`` seconds and reports when it has passed the id, and only then is the run requested:
running the indexer meanwhile would re-scan the table's key index for nothing.

After every (re)connect the listener behaves as if a notification had arrived: ``LISTEN`` is active
from then on, so a change committed before it is read by the run this wake-up triggers, and a change
committed after it sends a notification. Notifications lost while disconnected therefore cost
nothing. Connection loss (``pg_terminate_backend``, a server restart, a dead network noticed by TCP
keepalives or the periodic ping) is retried with exponential backoff.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

# imported here, once, when the service module loads: importing psycopg lazily from the listener and
# API threads while a run thread imports it through SQLAlchemy can fail ("partially initialized module")
import psycopg
import psycopg.conninfo
from psycopg import sql

log = logging.getLogger("weft.indexers")

_XID_RE = re.compile(r"[0-9]{1,20}")
SNAPSHOT_SQL = (
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint FROM pg_current_snapshot() AS s"
)
APPLICATION_PREFIX = "weft-notify:"


def parse_xid(payload: str) -> int | None:
    """The writer's transaction id from a payload: ``"12345"`` (``pg_current_xact_id()::text``) or a
    JSON object with an ``"xid"`` member (number or decimal string). Anything else: ``None``."""
    text = (payload or "").strip()
    if _XID_RE.fullmatch(text):
        return int(text)
    if text.startswith("{"):
        try:
            value = json.loads(text).get("xid")
        except (ValueError, AttributeError):
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and _XID_RE.fullmatch(value.strip()):
            return int(value.strip())
    return None


def wake_bound(payloads: list[str], xmax: int) -> int:
    """The highest transaction id a batch of notifications can be about (see the module docstring).
    A payload id at or above ``xmax`` cannot be a committed transaction's: it is ignored."""
    bound = xmax - 1
    ids = [parse_xid(p) for p in payloads]
    if ids and all(i is not None and i < xmax for i in ids):
        bound = max(ids)  # type: ignore[type-var]
    return bound


@dataclass
class Wake:
    """What a listener hands to the service: the changes are by transactions with ids ``<= xid``."""

    xid: int
    oldest_active: int  # pg_snapshot_xmin when the wake-up was read: the ceiling a run would capture now
    notifications: int  # 0: the (re)connect catch-up


def conninfo(url: str) -> str:
    """A libpq connection string from the data source's SQLAlchemy URL (``postgresql+psycopg://…``)."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    params: dict[str, Any] = {"host": parsed.host, "port": parsed.port, "user": parsed.username,
                              "password": parsed.password, "dbname": parsed.database}
    for key, value in parsed.query.items():
        params[key] = value[-1] if isinstance(value, tuple) else value
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


def quote_identifier(name: str) -> str:
    """``schema.table`` (also ``[x]`` or ``"x"`` parts) as PostgreSQL identifiers, quoted when needed."""
    out = []
    for part in name.split("."):
        part = part.strip()
        if part.startswith("[") and part.endswith("]"):
            part = part[1:-1]
        elif part.startswith('"') and part.endswith('"') and len(part) >= 2:
            part = part[1:-1].replace('""', '"')
        out.append(part if re.fullmatch(r"[a-z_][a-z0-9_$]*", part) else '"' + part.replace('"', '""') + '"')
    return ".".join(out)


def trigger_sql(table: str, channel: str) -> str:
    """The trigger that makes ``table``'s writers notify ``channel`` with their transaction id: one
    notification per statement, and PostgreSQL folds identical notifications of one transaction into
    one, so a transaction sends one notification per channel whatever it writes. Needs PostgreSQL 13+
    (``pg_current_xact_id``). Idempotent."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", channel):
        raise ValueError(f"invalid channel name {channel!r}")
    target = quote_identifier(table)
    return (
        "CREATE OR REPLACE FUNCTION weft_notify() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  PERFORM pg_notify(TG_ARGV[0], pg_current_xact_id()::text);\n"
        "  RETURN NULL;\n"
        "END $$;\n"
        f"DROP TRIGGER IF EXISTS weft_notify ON {target};\n"
        f"CREATE TRIGGER weft_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {target}\n"
        f"  FOR EACH STATEMENT EXECUTE FUNCTION weft_notify('{channel}');\n"
    )


def _format(at: float | None) -> str | None:
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Listener:
    """One thread, one connection: LISTEN on ``channel``; wake-ups and ceiling reports go to callbacks.

    The callbacks run on the listener's thread; they must be quick and must not wait for
    :meth:`stop` (the service only takes its own short lock in them)."""

    def __init__(self, name: str, conninfo: str, channel: str, on_wake: Callable[[Wake], None],
                 on_passed: Callable[[int], None], *, now: Callable[[], float] = time.time,
                 idle_wait: float = 0.25, watch_every: float = 0.1, backoff_initial: float = 0.1,
                 backoff_max: float = 5.0, ping_every: float = 30.0, connect_timeout: int = 5):
        self.name = name
        self.conninfo = conninfo
        self.channel = channel
        self.on_wake = on_wake
        self.on_passed = on_passed
        self.now = now
        self.idle_wait = idle_wait
        self.watch_every = watch_every
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.ping_every = ping_every
        self.connect_timeout = connect_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watch: int | None = None
        self._thread: threading.Thread | None = None
        self.connected = False
        self.backend_pid: int | None = None
        self.connects = 0
        self.notifications = 0
        self.last_notification: float | None = None
        self.last_error: str | None = None

    @property
    def application_name(self) -> str:
        return (APPLICATION_PREFIX + self.name)[:63]

    # ---- control (any thread) ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"weft-notify-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def watch(self, xid: int) -> None:
        """Report (``on_passed``) once every transaction with an id ``<= xid`` has ended."""
        with self._lock:
            self._watch = xid if self._watch is None else max(self._watch, xid)

    def status(self) -> dict:
        return {"channel": self.channel, "listening": self.is_alive() and not self._stop.is_set(),
                "connected": self.connected, "lastNotificationTime": _format(self.last_notification),
                "notificationsReceived": self.notifications, "lastError": self.last_error}

    # ---- the thread --------------------------------------------------------------------------------------
    def _loop(self) -> None:
        if tuple(int(p) for p in re.findall(r"\d+", psycopg.__version__)[:2]) < (3, 2):
            self.last_error = f"LISTEN/NOTIFY wake-ups need psycopg 3.2 or later (installed: {psycopg.__version__})"
            log.error("notify listener %s: %s", self.name, self.last_error)
            return
        delay = self.backoff_initial
        while not self._stop.is_set():
            conn = None
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True, application_name=self.application_name,
                                       connect_timeout=self.connect_timeout, keepalives=1, keepalives_idle=10,
                                       keepalives_interval=5, keepalives_count=3)
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                self.backend_pid = conn.info.backend_pid
                self.connected = True  # last_error stays: the error that ended the previous connection
                self.connects += 1
                delay = self.backoff_initial
                self._serve(conn)
            except Exception as exc:  # psycopg.Error mostly; anything else must not kill the listener either
                if self._stop.is_set():
                    break
                from weft.indexers.sources.errors import public_error

                message = public_error(exc)
                if self.connected or self.last_error is None:
                    log.warning("notify listener %s (channel %s) lost its connection: %s; reconnecting", self.name, self.channel,
                                f"{type(exc).__name__}: {str(exc).strip()[:300]}")
                self.last_error = message
            finally:
                self.connected = False
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # pragma: no cover - closing a broken connection
                        pass
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.backoff_max)

    def _serve(self, conn) -> None:
        xmin, xmax = self._snapshot(conn)
        self._emit(Wake(xid=xmax - 1, oldest_active=xmin, notifications=0))
        last_query = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                watching = self._watch
            got = list(conn.notifies(timeout=self.watch_every if watching is not None else self.idle_wait, stop_after=1))
            if got:
                got += list(conn.notifies(timeout=0))  # drain what has already arrived: one wake-up per burst
            got = [n for n in got if n.channel == self.channel]
            if not got and watching is None and time.monotonic() - last_query < self.ping_every:
                continue
            xmin, xmax = self._snapshot(conn)  # also the liveness ping
            last_query = time.monotonic()
            if got:
                self.notifications += len(got)
                self.last_notification = self.now()
                self._emit(Wake(xid=wake_bound([n.payload for n in got], xmax), oldest_active=xmin, notifications=len(got)))
            with self._lock:
                passed = self._watch is not None and xmin > self._watch
                if passed:
                    self._watch = None
            if passed:
                self._call(self.on_passed, xmin)

    @staticmethod
    def _snapshot(conn) -> tuple[int, int]:
        xmin, xmax = conn.execute(SNAPSHOT_SQL).fetchone()
        return int(xmin), int(xmax)

    def _emit(self, wake: Wake) -> None:
        self._call(self.on_wake, wake)

    def _call(self, fn: Callable, arg: Any) -> None:
        try:
            fn(arg)
        except Exception:  # the service's problem must not end the listener
            log.exception("notify listener %s: wake-up handler failed", self.name)


class NotifyHub:
    """The set of listeners, one per data source, kept equal to what the definitions ask for."""

    def __init__(self, on_wake: Callable[[str, Wake], None], on_passed: Callable[[str, int], None], *,
                 now: Callable[[], float] = time.time, **listener_options: Any):
        self._on_wake = on_wake
        self._on_passed = on_passed
        self._now = now
        self._options = listener_options
        self._lock = threading.Lock()
        self._listeners: dict[str, tuple[tuple[str, str], Listener]] = {}
        self._closed = False

    def apply(self, desired: dict[str, tuple[str, str]]) -> None:
        """``desired``: data source name -> (libpq conninfo, channel). Starts, restarts (changed
        connection or channel) and stops listeners; waits for the stopped ones to end."""
        stopping: list[Listener] = []
        with self._lock:
            if self._closed:
                desired = {}
            for name, (config, listener) in list(self._listeners.items()):
                if desired.get(name) != config:
                    stopping.append(listener)
                    del self._listeners[name]
            for name, config in desired.items():
                if name in self._listeners:
                    continue
                listener = Listener(name, config[0], config[1],
                                    on_wake=lambda wake, name=name: self._on_wake(name, wake),
                                    on_passed=lambda xmin, name=name: self._on_passed(name, xmin),
                                    now=self._now, **self._options)
                self._listeners[name] = (config, listener)
                listener.start()
        for listener in stopping:
            listener._stop.set()  # all at once, then wait for each
        for listener in stopping:
            listener.stop()

    def get(self, name: str) -> Listener | None:
        with self._lock:
            found = self._listeners.get(name)
        return found[1] if found else None

    def watch(self, name: str, xid: int) -> bool:
        listener = self.get(name)
        if listener is None:
            return False
        listener.watch(xid)
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.apply({})
