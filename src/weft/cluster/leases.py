"""Job leases: a periodic job (the indexer scheduler, the retention purge, conversation-search indexing, one
indexer's run) runs on exactly one node of the cluster at a time.

Why a lease table and not PostgreSQL advisory locks: an advisory lock lives in one database session, so it
is invisible by name to ``weft cluster status`` (``pg_locks`` shows a pid, not a node), it carries no fencing
token, and a node that is cut off from the database but not dead keeps its session lock until TCP keepalive
gives up (unbounded in practice). A row per lease with an expiry computed on the *database's* clock (no node
clock skew) and a fencing token that grows at every change of holder is replicated to the standby like any
row, survives a failover, and bounds takeover:

- the holder renews every ``ttl / 3`` seconds; a renewal that fails or finds another holder ends the lease
  locally at once, and a holder that cannot reach the database stops acting ``ttl`` seconds after its last
  successful renewal (its local deadline is measured from *before* that renewal was sent, so it always ends
  before the database lets anyone else take the row);
- another node polls every ``ttl / 3`` seconds and takes an expired row: a dead holder's job moves within
  ``ttl + ttl / 3`` seconds (default ttl 6 s: under 8 s).

Jobs keep their durable state in the stores (tracking state, execution history), so the new holder resumes
from there. :class:`LocalLeases` is the embedded implementation with the same interface: one process, every
lease is always its own.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger("weft.cluster.leases")

DEFAULT_TTL = 6.0
TABLE = "weft_cluster_leases"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
  name TEXT PRIMARY KEY, holder TEXT NOT NULL, token BIGINT NOT NULL,
  acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL
)"""


class Leases(Protocol):
    node_id: str

    def want(self, name: str) -> None:
        """Compete for ``name`` from now on (a standing lease, kept while this node lives)."""

    def held(self, name: str) -> int | None:
        """The fencing token when this node holds ``name`` now, else None."""

    def acquire(self, name: str) -> int | None:
        """Try once to take ``name`` (kept renewed until :meth:`release`); the token, or None when another holds it."""

    def release(self, name: str) -> None: ...

    def owners(self) -> list[dict]: ...

    def start(self) -> "Leases": ...

    def stop(self) -> None: ...


class LocalLeases:
    """Embedded mode: one process, so every lease is held, always with token 1."""

    def __init__(self, node_id: str = "local"):
        self.node_id = node_id
        self._names: set[str] = set()

    def want(self, name: str) -> None:
        self._names.add(name)

    def held(self, name: str) -> int | None:
        return 1

    def acquire(self, name: str) -> int | None:
        self._names.add(name)
        return 1

    def release(self, name: str) -> None:
        pass

    def owners(self) -> list[dict]:
        return [{"name": n, "holder": self.node_id, "token": 1} for n in sorted(self._names)]

    def start(self) -> "LocalLeases":
        return self

    def stop(self) -> None:
        pass


class ClusterLeases:
    """Leases in the cluster database (see the module docstring for the bound on takeover)."""

    def __init__(self, engine: Engine, node_id: str, *, ttl: float = DEFAULT_TTL):
        self.engine = engine
        self.node_id = node_id
        self.ttl = float(ttl)
        self._lock = threading.Lock()
        self._wanted: set[str] = set()
        self._kept: set[str] = set()  # acquired on demand, renewed until released
        self._held: dict[str, tuple[int, float]] = {}  # name -> (token, local monotonic deadline)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with engine.begin() as conn:
            # nodes starting together: CREATE TABLE IF NOT EXISTS races on the catalog (a UniqueViolation on
            # pg_type) unless one at a time, as the other cluster tables are created
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('weft-cluster-schema'))"))
            conn.execute(text(_SCHEMA))

    # ---- the database step -----------------------------------------------------------------------------
    def _claim(self, name: str) -> int | None:
        """Take or renew ``name`` in one statement: granted when the row is free, expired, or already ours."""
        sent = time.monotonic()
        # a renewal keeps the token only when this process took the lease (and has not lost it since: a late renewal
        # of a row nobody else could take yet keeps it too); a first claim bumps it, even from a live row of our own
        # node id: a node restarted after a SIGKILL finds its dead predecessor's row, and must not act under the
        # token that process may still have had writes in flight with
        with self._lock:
            renewing = name in self._held
        with self.engine.begin() as conn:
            row = conn.execute(text(f"""
                INSERT INTO {TABLE} AS l (name, holder, token, acquired_at, expires_at)
                VALUES (:name, :holder, 1, now(), now() + make_interval(secs => :ttl))
                ON CONFLICT (name) DO UPDATE SET
                  token = CASE WHEN :renewing AND l.holder = excluded.holder AND l.expires_at >= now() THEN l.token ELSE l.token + 1 END,
                  acquired_at = CASE WHEN :renewing AND l.holder = excluded.holder AND l.expires_at >= now() THEN l.acquired_at ELSE now() END,
                  holder = excluded.holder, expires_at = excluded.expires_at
                WHERE l.holder = excluded.holder OR l.expires_at < now()
                RETURNING token"""), {"name": name, "holder": self.node_id, "ttl": self.ttl, "renewing": renewing}).fetchone()
        if row is None:
            with self._lock:
                self._held.pop(name, None)
            return None
        token = int(row[0])
        with self._lock:
            previous = self._held.get(name)
            self._held[name] = (token, sent + self.ttl)
        if previous is None or previous[0] != token:
            log.info("lease %s taken by %s (token %d)", name, self.node_id, token)
        return token

    def _give_up(self, name: str) -> None:
        with self._lock:
            self._held.pop(name, None)
        try:
            with self.engine.begin() as conn:
                conn.execute(text(f"UPDATE {TABLE} SET expires_at = now() - interval '1 second' WHERE name = :n AND holder = :h"),
                             {"n": name, "h": self.node_id})
        except Exception:  # the row expires by itself
            log.warning("lease %s: release failed; it expires within %.0f s", name, self.ttl)

    # ---- the interface ---------------------------------------------------------------------------------
    def want(self, name: str) -> None:
        with self._lock:
            self._wanted.add(name)
        try:
            self._claim(name)
        except Exception:
            log.warning("lease %s: first claim failed; retrying", name, exc_info=True)

    def held(self, name: str) -> int | None:
        with self._lock:
            entry = self._held.get(name)
        if entry is None or time.monotonic() >= entry[1]:
            return None
        return entry[0]

    def acquire(self, name: str) -> int | None:
        try:
            token = self._claim(name)
        except Exception:
            log.warning("lease %s: claim failed", name, exc_info=True)
            return None
        if token is not None:
            with self._lock:
                self._kept.add(name)
        return token

    def release(self, name: str) -> None:
        with self._lock:
            self._kept.discard(name)
        self._give_up(name)

    def owners(self) -> list[dict]:
        return lease_rows(self.engine)

    def start(self) -> "ClusterLeases":
        self._thread = threading.Thread(target=self._loop, name="weft-cluster-leases", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            with self._lock:
                names = sorted(self._wanted | self._kept)
            for name in names:
                try:
                    self._claim(name)
                except Exception:
                    log.warning("lease %s: renewal failed", name)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            names = list(self._held)
        for name in names:
            self._give_up(name)


def lease_rows(engine: Engine) -> list[dict]:
    """Every lease row, with whether it is live now (on the database's clock)."""
    with engine.connect() as conn:
        conn.execute(text(_SCHEMA))
        rows = conn.execute(text(
            f"SELECT name, holder, token, acquired_at, expires_at, expires_at >= now() FROM {TABLE} ORDER BY name")).fetchall()
        conn.commit()
    return [{"name": r[0], "holder": r[1], "token": int(r[2]), "acquiredAt": r[3].isoformat(), "expiresAt": r[4].isoformat(),
             "live": bool(r[5])} for r in rows]
