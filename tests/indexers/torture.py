"""The zero-loss torture harness (sync-anchors.md §5.2, CI-sized).

Writer *processes* hammer one table with inserts, updates, deletes, rollbacks, hot keys, multi-row
updates, primary-key moves, delete+re-insert and late committers (a transaction that sleeps before
COMMIT), plus one TRUNCATE mid-run. Meanwhile a syncer keeps a weft index up to date:

* ``weft``: a `weft serve` subprocess with a sub-second indexer, SIGKILLed at random moments and
  restarted;
* ``naive``: the seed's watermark poller (``updated_at > old AND <= new``, save after read, no
  deletes), which must lose rows — that is the harness's proof of teeth.

At the end the index is compared with the table: missing, stale and ghost documents.
"""
from __future__ import annotations

import multiprocessing
import os
import random
import time
from dataclasses import dataclass, field

import httpx

from tests.support.server import WeftServer

ID_SPACE = 3000
HOT_KEYS = 20
PK_MOVE = 1_000_000_000

INDEX = {"name": "torture", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "title", "type": "Edm.String", "searchable": True},
    {"name": "ver", "type": "Edm.Int64", "filterable": True},
    {"name": "grp", "type": "Edm.Int32", "filterable": True},
]}


# ---- databases (SQL kept to this harness) -------------------------------------------------------------

def connect(kind: str, url: str):
    if kind == "postgresql":
        import psycopg

        return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=False)
    import pymysql

    rest = url.split("://", 1)[1]
    auth, _, hostdb = rest.partition("@")
    user = auth.split(":")[0]
    hostport, _, db = hostdb.partition("/")
    host, _, port = hostport.partition(":")
    return pymysql.connect(host=host, port=int(port or 3306), user=user, database=db, autocommit=False)


def create_table(kind: str, url: str, table: str) -> None:
    conn = connect(kind, url)
    cur = conn.cursor()
    if kind == "postgresql":
        cur.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, grp INT NOT NULL, title TEXT NOT NULL, ver BIGINT NOT NULL, "
                    f"updated_at TIMESTAMP(6) NOT NULL DEFAULT now())")
        cur.execute(f"CREATE INDEX ON {table} (updated_at)")
        cur.execute(f"CREATE FUNCTION {table}_touch() RETURNS trigger AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$ LANGUAGE plpgsql")
        cur.execute(f"CREATE TRIGGER {table}_touch BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_touch()")
    else:
        cur.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, grp INT NOT NULL, title TEXT NOT NULL, ver BIGINT NOT NULL, "
                    f"updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (updated_at))")
    conn.commit()
    conn.close()


def drop_table(kind: str, url: str, table: str) -> None:
    conn = connect(kind, url)
    cur = conn.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    if kind == "postgresql":
        cur.execute(f"DROP FUNCTION IF EXISTS {table}_touch()")
    conn.commit()
    conn.close()


def source_rows(kind: str, url: str, table: str) -> dict[str, tuple[int, str]]:
    conn = connect(kind, url)
    cur = conn.cursor()
    cur.execute(f"SELECT id, ver, title FROM {table}")
    rows = {str(i): (int(v), t) for i, v, t in cur.fetchall()}
    conn.close()
    return rows


def truncate(kind: str, url: str, table: str) -> None:
    conn = connect(kind, url)
    conn.cursor().execute(f"TRUNCATE TABLE {table}")
    conn.commit()
    conn.close()


def _upsert(kind: str, table: str) -> str:
    if kind == "postgresql":
        return (f"INSERT INTO {table} (id, grp, title, ver) VALUES (%s, %s, %s, 1) "
                f"ON CONFLICT (id) DO UPDATE SET ver = {table}.ver + 1, title = EXCLUDED.title")
    return (f"INSERT INTO {table} (id, grp, title, ver) VALUES (%s, %s, %s, 1) "
            f"ON DUPLICATE KEY UPDATE ver = ver + 1, title = VALUES(title)")


def writer(kind: str, url: str, table: str, seed: int, seconds: float, late_fraction: float, counts) -> None:
    rng = random.Random(seed)
    conn = connect(kind, url)
    upsert = _upsert(kind, table)
    deadline = time.monotonic() + seconds
    committed = rolled_back = late = failed = 0
    while time.monotonic() < deadline:
        cur = conn.cursor()
        try:
            for _ in range(rng.randint(1, 4)):
                key = rng.randint(1, HOT_KEYS) if rng.random() < 0.3 else rng.randint(1, ID_SPACE)
                title = f"w{seed}-{rng.getrandbits(40):x}"
                op = rng.random()
                if op < 0.55:
                    cur.execute(upsert, (key, key % 7, title))
                elif op < 0.72:
                    cur.execute(f"DELETE FROM {table} WHERE id = %s", (key,))
                elif op < 0.80:  # delete + re-insert of the same key
                    cur.execute(f"DELETE FROM {table} WHERE id = %s", (key,))
                    cur.execute(upsert, (key, key % 7, title))
                elif op < 0.88:  # multi-row update
                    cur.execute(f"UPDATE {table} SET ver = ver + 1, title = %s WHERE id BETWEEN %s AND %s", (title, key, key + 15))
                elif op < 0.92:  # primary-key move
                    cur.execute(f"DELETE FROM {table} WHERE id = %s", (key + PK_MOVE,))
                    cur.execute(f"UPDATE {table} SET id = id + {PK_MOVE}, ver = ver + 1 WHERE id = %s", (key,))
                else:  # insert then delete within moments: never to be seen
                    cur.execute(upsert, (key, key % 7, title))
                    cur.execute(f"DELETE FROM {table} WHERE id = %s", (key,))
            if rng.random() < 0.1:
                conn.rollback()
                rolled_back += 1
                continue
            if rng.random() < late_fraction:  # late committer: its values/xids are old when it commits
                late += 1
                time.sleep(rng.uniform(0.3, 3.5))
            conn.commit()
            committed += 1
        except Exception:  # deadlocks, serialization failures: roll back and go on
            failed += 1
            try:
                conn.rollback()
            except Exception:
                conn.close()
                conn = connect(kind, url)
    conn.close()
    counts.put((committed, rolled_back, late, failed))


# ---- the syncers --------------------------------------------------------------------------------------------

def index_docs(server: WeftServer, index: str) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    h = {"api-key": server.admin_key}
    last = None
    while True:  # keyset over the key field: no skip limit
        body = {"search": "*", "top": 1000, "orderby": "id asc", "select": "id,ver,title"}
        if last is not None:
            body["filter"] = f"id gt '{last}'"
        page = httpx.post(server.url(f"/indexes/{index}/docs/search"), json=body, headers=h, timeout=60).json()["value"]
        for d in page:
            out[d["id"]] = (int(d["ver"]), d["title"])
        if len(page) < 1000:
            return out
        last = page[-1]["id"]


@dataclass
class Report:
    missing: list = field(default_factory=list)
    stale: list = field(default_factory=list)
    ghost: list = field(default_factory=list)
    kills: int = 0
    runs: int = 0
    writer_counts: tuple = (0, 0, 0, 0)
    source_rows: int = 0

    @property
    def losses(self) -> int:
        return len(self.missing) + len(self.stale)

    def summary(self) -> str:
        c = self.writer_counts
        return (f"rows={self.source_rows} missing={len(self.missing)} stale={len(self.stale)} ghost={len(self.ghost)} "
                f"kills={self.kills} runs={self.runs} commits={c[0]} rollbacks={c[1]} late={c[2]} aborted={c[3]} "
                f"examples={(self.missing[:3], self.stale[:3], self.ghost[:3])}")


def compare(source: dict, index: dict, report: Report) -> Report:
    report.source_rows = len(source)
    for key, value in source.items():
        if key not in index:
            report.missing.append(key)
        elif index[key] != value:
            report.stale.append((key, value, index[key]))
    report.ghost = [k for k in index if k not in source]
    return report


def start_writers(kind, url, table, seconds, writers, late_fraction, seed):
    ctx = multiprocessing.get_context("spawn")
    counts = ctx.Queue()
    procs = [ctx.Process(target=writer, args=(kind, url, table, seed * 100 + i, seconds, late_fraction, counts), daemon=True)
             for i in range(writers)]
    for p in procs:
        p.start()
    return procs, counts


def join_writers(procs, counts) -> tuple:
    totals = [0, 0, 0, 0]
    for _ in procs:
        for i, v in enumerate(counts.get(timeout=120)):
            totals[i] += v
    for p in procs:
        p.join(30)
    return tuple(totals)


def run_weft(kind: str, url: str, table: str, data_dir, *, seconds: float, writers: int, seed: int, fence_slack: float) -> Report:
    rng = random.Random(seed)
    report = Report()
    server = WeftServer(data_dir).start()
    h = {"api-key": server.admin_key}
    try:
        assert httpx.post(server.url("/indexes"), json=INDEX, headers=h).status_code == 201
        ds = {"name": "src", "type": kind, "credentials": {"connectionString": url}, "container": {"name": table},
              "dataChangeDetectionPolicy": {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy",
                                            "highWaterMarkColumnName": "updated_at"},
              "dataDeletionDetectionPolicy": {"@odata.type": "#Weft.HardDeleteReconciliationPolicy"}}
        assert httpx.post(server.url("/datasources"), json=ds, headers=h).status_code == 201
        ix = {"name": "sync", "dataSourceName": "src", "targetIndexName": "torture", "schedule": {"interval": "PT0.3S"},
              "parameters": {"batchSize": 100}}
        assert httpx.post(server.url("/indexers"), json=ix, headers=h).status_code == 201
        procs, counts = start_writers(kind, url, table, seconds, writers, 0.08, seed)
        started = time.monotonic()
        truncated = False
        # at least 5 kills even when restarts are slow (a loaded machine, tests running in parallel)
        while time.monotonic() - started < seconds or report.kills < 5:
            time.sleep(rng.uniform(0.4, 2.5))
            if not truncated and time.monotonic() - started > seconds / 2:
                truncate(kind, url, table)
                truncated = True
            server.kill()  # SIGKILL at a random moment, mid-run or not
            report.kills += 1
            server.start()
        report.writer_counts = join_writers(procs, counts)
        from tests.indexers.databases import settle

        settle(kind, url)  # transactions of other tests may hold the fence back: wait them out
        stopped = time.time()
        # converge: one successful run that started after every write had committed
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = httpx.get(server.url("/indexers/sync/status"), headers=h).json()
            last = status["lastResult"]
            if last and last["status"] == "success" and _epoch(last["startTime"]) > stopped:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the indexer did not converge: {status['lastResult']}")
        report.runs = len(status["executionHistory"])
        server.stop()
        server.start()  # compare after a clean restart too: what is durable
        return compare(source_rows(kind, url, table), index_docs(server, "torture"), report)
    finally:
        server.kill()


def _epoch(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def naive_poll(kind: str, url: str, table: str, server: WeftServer, index: str, stop) -> None:
    """The seed's pipeline: read max(updated_at), then rows in (old, new], save `new` after the read."""
    conn = connect(kind, url)
    if kind == "postgresql":
        conn.autocommit = True
    else:
        conn.autocommit(True)
    h = {"api-key": server.admin_key}
    watermark = None
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            cur = conn.cursor()
            cur.execute(f"SELECT max(updated_at) FROM {table}")
            new = cur.fetchone()[0]
            if new is not None and (watermark is None or new > watermark):
                if watermark is None:
                    cur.execute(f"SELECT id, ver, title, grp FROM {table} WHERE updated_at <= %s", (new,))
                else:
                    cur.execute(f"SELECT id, ver, title, grp FROM {table} WHERE updated_at > %s AND updated_at <= %s", (watermark, new))
                rows = cur.fetchall()
                for i in range(0, len(rows), 1000):
                    docs = [{"@search.action": "mergeOrUpload", "id": str(r[0]), "ver": int(r[1]), "title": r[2], "grp": int(r[3])}
                            for r in rows[i:i + 1000]]
                    client.post(server.url(f"/indexes/{index}/docs/index"), json={"value": docs}, headers=h)
                watermark = new
            time.sleep(0.1)
    conn.close()


def run_naive(kind: str, url: str, table: str, data_dir, *, seconds: float, writers: int, seed: int) -> Report:
    import threading

    report = Report()
    server = WeftServer(data_dir).start()
    try:
        assert httpx.post(server.url("/indexes"), json=INDEX, headers={"api-key": server.admin_key}).status_code == 201
        stop = threading.Event()
        poller = threading.Thread(target=naive_poll, args=(kind, url, table, server, "torture", stop), daemon=True)
        poller.start()
        procs, counts = start_writers(kind, url, table, seconds, writers, 0.08, seed)
        report.writer_counts = join_writers(procs, counts)
        time.sleep(1.0)  # let the poller catch up with everything committed
        stop.set()
        poller.join(30)
        return compare(source_rows(kind, url, table), index_docs(server, "torture"), report)
    finally:
        server.kill()


def torture_seconds(default: float) -> float:
    return float(os.environ.get("WEFT_TORTURE_SECONDS", default))
