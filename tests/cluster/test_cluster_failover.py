"""The HA test of cluster mode (issue 18, docs/cluster-operations.md "HA and failover").

A PostgreSQL primary with a synchronous streaming standby (tests/support/pg_pair.py) and three `weft serve` nodes
whose cluster URL lists both hosts with target_session_attrs=read-write. Writers spread over the nodes upload
batches of BATCH documents sharing a tag and remember which batches were acknowledged; a scheduled indexer reads a
table of the test PostgreSQL server (127.0.0.1:5432) while rows are inserted. Midway the node holding the scheduler
lease is SIGKILLed and restarted; later the primary is stopped (immediate) and the standby promoted; then the old
primary is rebuilt as the new one's synchronous standby and the cluster is switched back (fast stop). At the end:

- every acknowledged batch is searchable on every node, with identical results ($count, a search, the id list);
- no batch is half visible anywhere (acknowledged or not: all BATCH documents or none);
- the indexer ran at most once per schedule slot across the cluster (the shared execution history, read from
  every node), missed slots only inside the disruptions, and every source row is in the index on every node.

Locally this skips when the PostgreSQL server binaries are missing; with CI=true it fails instead. ~60 s.
"""
from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid

import httpx
import psycopg
import sqlalchemy as sa

from tests.support.pg_pair import PgPair
from tests.support.server import WeftServer
from tests.threads.backends import PG_URL, require_server
from weft.indexers.service import _parse_time

PRIMARY_PORT, STANDBY_PORT, NODE_PORTS = 21001, 21002, (21011, 21012, 21013)  # this test's range: 21000-21499
BATCH = 5
WRITERS_PER_NODE = 2
INTERVAL = 2.0  # the indexer's schedule (seconds)
LEASE = 3.0  # WEFT_CLUSTER_LEASE_SECONDS: a dead holder's jobs move within LEASE * 4/3
DETECTION = LEASE + 1.0  # seconds from the primary's death to the promotion (a failover manager's detection time)
POSITION = "x-weft-position"
ADMIN = "failover-admin-key"
MEASURED: dict[str, float] = {}  # printed at the end (pytest -s): the numbers of docs/cluster-operations.md
PHASES: dict[str, float] = {}  # seconds since the test began, printed with them


def _call(node, method, path, body=None, headers=None, timeout=15.0, **params):
    return httpx.request(method, f"{node.endpoint}{path}", params={"api-version": "2026-04-01", **params}, json=body,
                         headers={"api-key": ADMIN, **(headers or {})}, timeout=timeout)


class Writers:
    """Threads uploading tagged batches to their node; ``acked`` holds (batch, sent, answered, position)."""

    def __init__(self, nodes, index: str):
        self.nodes, self.index = nodes, index
        self.acked: list[tuple[str, float, float, int]] = []
        self.attempted: set[str] = set()
        self.failures = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._write, args=(i,), daemon=True) for i in range(len(nodes) * WRITERS_PER_NODE)]

    def _write(self, number: int) -> None:
        node = self.nodes[number % len(self.nodes)]
        i = 0
        while not self.stop.is_set():
            batch = f"w{number}x{i}"
            i += 1
            docs = [{"@search.action": "upload", "id": f"{batch}-{j}", "tag": batch, "title": f"alpha {batch}", "n": j} for j in range(BATCH)]
            with self._lock:
                self.attempted.add(batch)
            sent = time.monotonic()
            try:
                r = _call(node, "POST", f"/indexes/{self.index}/docs/index", {"value": docs})
            except httpx.HTTPError:
                r = None
            answered = time.monotonic()
            if r is not None and r.status_code in (200, 207) and all(v["status"] for v in r.json()["value"]):
                with self._lock:
                    self.acked.append((batch, sent, answered, int(r.headers[POSITION])))
            else:
                with self._lock:
                    self.failures += 1
                self.stop.wait(0.2)
            self.stop.wait(0.02)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def acked_after(self, moment: float) -> list[tuple[str, float, float, int]]:
        with self._lock:
            return [a for a in self.acked if a[1] >= moment]


class Rows:
    """Inserts rows into the indexer's source table (the test PostgreSQL server) from one thread, each committed."""

    def __init__(self, engine, table: str):
        self.engine, self.table = engine, table
        self.inserted: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._insert, daemon=True)

    def _insert(self) -> None:
        n = 0
        while not self.stop.wait(0.4):
            ids = [f"r{n}", f"r{n + 1}"]
            n += 2
            with self.engine.begin() as conn:
                conn.execute(sa.text(f"INSERT INTO {self.table} (id, title) VALUES (:id, :t)"), [{"id": k, "t": f"row {k}"} for k in ids])
            self.inserted.extend(ids)


def _scheduler_holder(pair) -> str | None:
    for server in (pair.primary, pair.standby):
        try:
            with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres connect_timeout=2") as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    continue
                row = conn.execute("SELECT holder FROM weft_cluster_leases WHERE name = 'indexer-scheduler' AND expires_at >= now()").fetchone()
                return row[0] if row else None
        except psycopg.OperationalError:
            continue
    return None


def _wait(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(step)


def _documents(node, index: str, token: str, select: str = "id,tag") -> list[tuple[str, str]]:
    """Every (id, tag) of the index on this node once it applied ``token``, paged in key order."""
    out: list[tuple[str, str]] = []
    while True:
        r = _call(node, "POST", f"/indexes/{index}/docs/search", {"search": "*", "select": select, "orderby": "id", "top": 1000,
                                                                  "skip": len(out)}, headers={POSITION: token}, timeout=60)
        assert r.status_code == 200, r.text
        page = [(d["id"], d.get("tag")) for d in r.json()["value"]]
        out.extend(page)
        if len(page) < 1000:
            return out


def _executions(node) -> dict[str, dict]:
    r = _call(node, "GET", "/indexers/rows-ix/status")
    assert r.status_code == 200, r.text
    return {e["startTime"]: e for e in r.json()["executionHistory"] if e["status"] != "reset"}


def _fail_over(pair, nodes, writers, mode: str, label: str) -> list[float]:
    """Stops the primary (``mode``), promotes the standby DETECTION s later, and measures the time to the first
    acknowledged write and to each node having applied it; returns the wall-clock window of the disruption."""
    stopped, stopped_wall = time.monotonic(), time.time()
    pair.primary.stop(mode)
    for node in nodes:  # no primary: reads are still answered from each node's local copy
        r = _call(node, "POST", "/indexes/docs/docs/search", {"search": "alpha", "top": 1, "count": True})
        assert r.status_code == 200 and r.json()["@odata.count"] > 0, r.text
    time.sleep(max(0.0, DETECTION - (time.monotonic() - stopped)))
    promoting = time.monotonic()
    pair.promote()
    MEASURED[f"{label}: pg_ctl promote (s)"] = time.monotonic() - promoting
    first = _wait(lambda: writers.acked_after(stopped), 60, f"an acknowledged write after the promotion ({label})", step=0.02)[0]
    MEASURED[f"{label}: primary stop -> first acknowledged write (s)"] = first[2] - stopped
    MEASURED[f"{label}: promote started -> first acknowledged write (s)"] = first[2] - promoting
    applied: dict[int, float] = {}

    def caught_up(i: int, node) -> None:  # node catch-up: the node has applied that first write
        r = _call(node, "GET", "/indexes/docs/docs/$count", headers={POSITION: str(first[3]), "x-weft-position-wait-ms": "60000"},
                  timeout=70)
        applied[i] = time.monotonic() - stopped if r.status_code == 200 else -1

    waiters = [threading.Thread(target=caught_up, args=(i, n)) for i, n in enumerate(nodes)]
    [t.start() for t in waiters]
    [t.join() for t in waiters]
    assert sorted(applied) == list(range(len(nodes))) and min(applied.values()) > 0, applied
    MEASURED[f"{label}: primary stop -> every node applied it (s)"] = max(applied.values())
    _wait(lambda: len(writers.acked_after(stopped)) > 25, 30, f"writes after the {label}")
    return [stopped_wall, time.time() + LEASE * 4 / 3 + INTERVAL]


def test_writes_and_jobs_survive_a_node_kill_and_a_primary_failover(tmp_path):
    began = time.monotonic()
    require_server("PostgreSQL", PG_URL)  # the indexer's source lives on the test server
    pair = PgPair(PRIMARY_PORT, STANDBY_PORT, prefix="weft-cluster-failover-")
    source = sa.create_engine(PG_URL)
    table = f"failover_src_{uuid.uuid4().hex[:8]}"
    nodes: list[WeftServer] = []
    writers = rows = None
    try:
        pair.start()
        with source.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, title TEXT, "
                                 "updated_at TIMESTAMP(6) NOT NULL DEFAULT clock_timestamp())"))
        url = (f"postgresql://postgres@127.0.0.1:{PRIMARY_PORT},127.0.0.1:{STANDBY_PORT}/postgres"
               "?target_session_attrs=read-write&connect_timeout=2")
        for i, port in enumerate(NODE_PORTS):
            node = WeftServer(tmp_path / f"node-{i}" / "data", admin_key=ADMIN,
                              env={"WEFT_CLUSTER_URL": url, "WEFT_NODE_ID": f"node-{i}", "WEFT_CLUSTER_LEASE_SECONDS": str(LEASE)})
            node.port, node.log_path = port, tmp_path / f"node-{i}.log"
            nodes.append(node)
        starters = [threading.Thread(target=n.start, kwargs={"timeout": 60}) for n in nodes]
        [t.start() for t in starters]
        [t.join() for t in starters]
        assert all(n.proc is not None and n.proc.poll() is None for n in nodes), "a node did not start"
        PHASES["nodes up"] = time.monotonic() - began

        fields = [{"name": "id", "type": "Edm.String", "key": True, "filterable": True, "sortable": True},
                  {"name": "tag", "type": "Edm.String", "filterable": True, "facetable": True},
                  {"name": "title", "type": "Edm.String", "searchable": True},
                  {"name": "n", "type": "Edm.Int32", "filterable": True}]
        r = _call(nodes[0], "POST", "/indexes", {"name": "docs", "fields": fields})
        assert r.status_code == 201, r.text
        r = _call(nodes[1], "POST", "/indexes", {"name": "rows", "fields": fields[:1] + fields[2:3]}, headers={POSITION: r.headers[POSITION]})
        assert r.status_code == 201, r.text
        created = r.headers[POSITION]
        for node in nodes:  # every node has both definitions before the writers start
            assert _call(node, "GET", "/indexes/docs/docs/$count", headers={POSITION: created}).status_code == 200

        rows = Rows(source, table)
        rows.thread.start()
        anchor = math.floor(time.time()) - 10
        ds = {"name": "rows-src", "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": table},
              "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy",
                                            "highWaterMarkColumnName": "updated_at"}}
        assert _call(nodes[2], "POST", "/datasources", ds).status_code == 201
        start_time = dt.datetime.fromtimestamp(anchor, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        ix = {"name": "rows-ix", "dataSourceName": "rows-src", "targetIndexName": "rows",
              "schedule": {"interval": f"PT{int(INTERVAL)}S", "startTime": start_time}}
        assert _call(nodes[2], "POST", "/indexers", ix).status_code == 201

        writers = Writers(nodes, "docs")
        writers.start()
        disruptions: list[list[float]] = []  # wall-clock windows in which schedule slots may be missed

        # 1. SIGKILL the node that keeps the schedules, restart it on the same data dir
        PHASES["writers started"] = time.monotonic() - began
        time.sleep(5)
        holder = _wait(lambda: _scheduler_holder(pair), 10, "a scheduler lease holder")
        victim = nodes[int(holder.split("-")[1])]
        acked_before_kill = len(writers.acked)
        killed = time.time()
        victim.kill()
        # the schedules move to another node within the lease bound, then the victim comes back on its data dir
        _wait(lambda: _scheduler_holder(pair) not in (None, holder), LEASE * 4 / 3 + 4, "another scheduler holder", step=0.1)
        MEASURED["SIGKILL -> another node keeps the schedules (s)"] = time.time() - killed
        victim.proc = None  # WeftServer.start keeps the port of a server that was never started
        victim.start(timeout=60)
        disruptions.append([killed, time.time() + LEASE * 4 / 3 + INTERVAL])
        MEASURED["node restart (s)"] = time.time() - killed
        _wait(lambda: len(writers.acked) > acked_before_kill + 20, 30, "writes after the node restart")

        # 2. the primary dies (immediate: no shutdown checkpoint); a failover manager promotes the standby after
        # DETECTION seconds, longer than the lease ttl: every job lease runs out meanwhile and is taken again after
        PHASES["node back"] = time.monotonic() - began
        time.sleep(2)
        disruptions.append(_fail_over(pair, nodes, writers, "immediate", "1st failover"))
        # 3. the old primary comes back as the new primary's synchronous standby; then a planned switch back
        # (fast: clients are disconnected, the standby receives everything) to the first host of the URL
        PHASES["1st failover done"] = time.monotonic() - began
        pair.reattach()
        PHASES["standby rebuilt"] = time.monotonic() - began
        time.sleep(2)
        disruptions.append(_fail_over(pair, nodes, writers, "fast", "2nd failover (back)"))
        PHASES["2nd failover done"] = time.monotonic() - began
        time.sleep(1)
        # after two failovers every node listens on the current primary again (LISTEN/NOTIFY wake-ups, not the poll)
        listening = _wait(lambda: pair.primary.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'weft-listen'") == "3",
                          10, "a LISTEN connection of every node on the new primary")
        assert listening
        lags = []
        for _ in range(5):  # commit on node 0 -> applied on nodes 1 and 2 (the write token makes them answer once applied)
            r = _call(nodes[0], "POST", "/indexes/docs/docs/index", {"value": [{"@search.action": "upload", "id": "lag-probe", "tag": "end"}]})
            assert r.status_code == 200, r.text
            sent = time.monotonic()
            for node in nodes[1:]:
                assert _call(node, "GET", "/indexes/docs/docs/$count", headers={POSITION: r.headers[POSITION]}).status_code == 200
            lags.append(time.monotonic() - sent)
        MEASURED["lag to the other nodes after the failovers, median (s)"] = sorted(lags)[2]
        writers.finish()
        rows.stop.set()
        rows.thread.join(10)
        MEASURED["acknowledged batches"] = len(writers.acked)
        MEASURED["failed batches"] = writers.failures

        # ---- every node answers the same, every acknowledged batch whole, nothing half there ----
        tokens = []
        for node in nodes:
            r = _call(node, "POST", "/indexes/docs/docs/index", {"value": [{"@search.action": "upload", "id": f"end-{node.port}", "tag": "end"}]})
            assert r.status_code == 200, r.text
            tokens.append(int(r.headers[POSITION]))
        token = str(max(tokens))
        acked = {a[0] for a in writers.acked}
        seen = []
        for node in nodes:
            documents = _documents(node, "docs", token)
            by_tag: dict[str, int] = {}
            for _, tag in documents:
                by_tag[tag] = by_tag.get(tag, 0) + 1
            assert by_tag.pop("end") == len(nodes) + 1  # the end-of-test writes and the lag probe
            assert acked <= set(by_tag), f"{node.port}: acknowledged batches missing: {sorted(acked - set(by_tag))[:5]}"
            assert set(by_tag) <= writers.attempted
            half = {t: c for t, c in by_tag.items() if c != BATCH}
            assert not half, f"{node.port}: half-visible batches: {half}"  # acknowledged or not: all or nothing
            count = _call(node, "GET", "/indexes/docs/docs/$count", headers={POSITION: token})
            assert count.status_code == 200 and int(count.text.lstrip("\ufeff")) == len(documents)
            hits = _call(node, "POST", "/indexes/docs/docs/search", {"search": "alpha", "count": True, "top": 0}, headers={POSITION: token})
            assert hits.status_code == 200 and hits.json()["@odata.count"] == len(documents) - len(nodes) - 1
            seen.append(documents)
        assert seen[0] == seen[1] == seen[2]
        MEASURED["unacknowledged batches visible (whole)"] = len({t for _, t in seen[0]} - acked - {"end"})

        PHASES["documents checked"] = time.monotonic() - began
        # ---- the indexer: every row in the index on every node, at most one run per slot ----
        expected = set(rows.inserted)

        def indexed_everywhere():
            got = [{d for d, _ in _documents(n, "rows", "0", select="id")} for n in nodes]
            return all(g == expected for g in got)

        try:
            _wait(indexed_everywhere, 30, "every source row in the index on every node", step=1.0)
        except AssertionError:
            missing = [sorted(expected - {d for d, _ in _documents(n, "rows", "0", select="id")}, key=lambda k: int(k[1:])) for n in nodes]
            recent = sorted(_executions(nodes[0]).values(), key=lambda e: e["startTime"])[-6:]
            raise AssertionError(f"rows missing per node: {[m[:10] for m in missing]}; last runs: "
                                 f"{[(e['startTime'], e['status'], e['itemsProcessed'], e.get('errorMessage'), e.get('finalTrackingState')) for e in recent]}") from None
        # stop the schedule (on another node than the one that made it), so the history stops growing; then it is
        # one shared history, the same read from every node
        r = _call(nodes[0], "PUT", "/indexers/rows-ix", {**ix, "disabled": True})
        assert r.status_code == 200, r.text
        time.sleep(INTERVAL)
        _wait(lambda: all(e["status"] != "inProgress" for e in _executions(nodes[0]).values()), 30, "the last run to end")
        histories = [_executions(n) for n in nodes]
        assert histories[0] == histories[1] == histories[2]
        runs = sorted((_parse_time(e["startTime"]), _parse_time(e["endTime"] or e["startTime"])) for e in histories[0].values())
        slots = [math.floor((start - anchor + 1e-3) / INTERVAL) for start, _ in runs]
        assert len(slots) == len(set(slots)), f"two runs in one slot: {[(s, slots.count(s)) for s in set(slots) if slots.count(s) > 1]}"
        # the first slot may be the creation run; after it every slot up to the last run ran, except inside a
        # disruption or while the previous run was still going (an overrun skips a slot, as in Azure)
        missed = [anchor + k * INTERVAL for k in range(slots[0] + 1, slots[-1]) if k not in set(slots)]
        outside = [m for m in missed if not any(a - INTERVAL <= m <= b for a, b in disruptions)
                   and not any(start <= m <= end + 0.2 for start, end in runs)]
        assert not outside, f"slots missed outside the disruptions: {outside} (windows {disruptions})"
        MEASURED["indexer runs"] = len(runs)
        MEASURED["indexer slots missed in disruptions"] = len(missed)
        PHASES["indexer checked"] = time.monotonic() - began
        print("\nfailover measurements:", {k: round(v, 2) for k, v in MEASURED.items()})
        print("phases (s since start):", {k: round(v, 1) for k, v in PHASES.items()})
    finally:
        if writers is not None:
            writers.finish()
        if rows is not None:
            rows.stop.set()
        for node in nodes:
            node.kill()
        pair.close()
        with source.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        source.dispose()
