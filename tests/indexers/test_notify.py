"""Near-real-time mode: PostgreSQL LISTEN/NOTIFY wake-ups (``weftNotify``) against a real server.

Every indexer here has a one-hour schedule, so no polling can explain a row becoming searchable
within the test: only a notification (or the follow-up logic it starts) can.
"""
from __future__ import annotations

import threading
import time
import uuid

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from tests.indexers.databases import PG_URL, require, settle, table_name
from weft.errors import InvalidInput
from weft.indexers.model import parse_data_source
from weft.indexers.notify import conninfo, parse_xid, quote_identifier, trigger_sql, wake_bound
from weft.indexers.service import IndexerService
from weft.search.service import SearchService

HWM = {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": "updated_at"}
FIELDS = [{"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True}]
LIBPQ = conninfo(PG_URL)


def wait_for(predicate, timeout: float, every: float = 0.01, what: str = "condition", show=None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s" + (f": {show()}" if show else ""))
        time.sleep(every)


def http_status(live, indexer):
    return httpx.get(live.url(f"/indexers/{indexer}/status"), headers=_headers(live)).json()


def sql(statement: str, *params):
    with psycopg.connect(LIBPQ, autocommit=True) as conn:
        cur = conn.execute(statement, params or None)
        return cur.fetchall() if cur.description else None


def listener_backends(ds_name: str) -> list[int]:
    return [pid for (pid,) in sql("SELECT pid FROM pg_stat_activity WHERE application_name = %s", f"weft-notify:{ds_name}")]


def open_transactions():
    """For failure messages: who holds the cluster's oldest transaction ids (the commit fence) now."""
    return sql("SELECT pid, backend_xid::text, now() - xact_start, state, left(query, 80) FROM pg_stat_activity "
               "WHERE backend_xid IS NOT NULL ORDER BY xact_start")


def notify_threads(ds_name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"weft-notify-{ds_name}" and t.is_alive()]


@pytest.fixture
def pg():
    engine = require(PG_URL, "PostgreSQL")
    yield engine
    engine.dispose()


@pytest.fixture
def table(pg):
    """A table whose writers notify a channel of its own with their transaction id (the documented trigger)."""
    name = table_name("nt")
    channel = f"{name}_changed"
    sql(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, title TEXT, updated_at TIMESTAMP(6) NOT NULL DEFAULT now())")
    sql(trigger_sql(name, channel))
    yield name, channel
    sql(f"DROP TABLE IF EXISTS {name}")
    sql(f"DROP FUNCTION IF EXISTS {name}_bare()")


class Node:
    """An indexer service with its scheduler running (deferred wake-ups need it), over a local index."""

    def __init__(self, tmp):
        self.search = SearchService(tmp / "search")
        self.search.create_index({"name": "items", "fields": FIELDS})
        self.service = IndexerService(tmp / "indexers", self.search)
        self.closed = False

    def datasource(self, name, table, channel, **extra):
        body = {"name": name, "type": "postgresql", "credentials": {"connectionString": PG_URL},
                "container": {"name": table}, "dataChangeDetectionPolicy": HWM, "weftNotify": {"channel": channel}}
        body.update(extra)
        self.service.create_datasource(body)

    def indexer(self, name, ds, **extra):
        self.service.create_indexer({"name": name, "dataSourceName": ds, "targetIndexName": "items",
                                     "schedule": {"interval": "PT1H"}, **extra})

    def status(self, name):
        return self.service.status(name)

    def listening(self, name):
        return self.status(name)["weftNotify"]

    def settled(self, name, timeout=15.0):
        """Listener connected and no run in progress or pending (the creation run and the connect catch-up
        done), and no transaction older than now still open in the cluster (other tests may hold some)."""
        settle("postgresql", PG_URL)

        def quiet():
            if not self.listening(name)["connected"] or self.service.is_running(name):
                return False
            with self.service._lock:
                st = self.service._notify.get(name)
                return st is None or (not st.rerun and st.due is None and st.xid is None)
        wait_for(quiet, timeout, what=f"{name} settled")
        time.sleep(0.1)
        wait_for(quiet, timeout, what=f"{name} settled")

    def has(self, key) -> bool:
        return self.search.lookup("items", str(key)) is not None

    def runs(self, name) -> list[dict]:
        return self.status(name)["executionHistory"]

    def close(self):
        if not self.closed:
            self.closed = True
            self.service.close()
            self.search.close()


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path)
    yield n
    n.close()


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---- pure parts ---------------------------------------------------------------------------------------------


def test_payload_and_bound():
    assert parse_xid("12345") == 12345 and parse_xid(" 7\n") == 7
    assert parse_xid('{"xid": "42", "table": "t"}') == 42 and parse_xid('{"xid": 43}') == 43
    assert parse_xid("") is None and parse_xid("products") is None and parse_xid("{bad") is None and parse_xid("-5") is None
    assert parse_xid('{"xid": true}') is None and parse_xid("[1]") is None
    assert wake_bound(["100", "105"], 200) == 105  # exact: the writers' own ids
    assert wake_bound(["100", ""], 200) == 199  # one payload without an id: bound by the snapshot's xmax
    assert wake_bound([], 200) == 199
    assert wake_bound(["999999"], 200) == 199  # not an id any committed transaction can have: ignored


def test_trigger_sql_and_identifiers():
    text = trigger_sql("Shop.Products", "products_changed")
    assert 'ON "Shop"."Products"' in text and "weft_notify('products_changed')" in text
    assert "pg_notify(TG_ARGV[0], pg_current_xact_id()::text)" in text and "FOR EACH STATEMENT" in text
    assert quote_identifier("public.items") == "public.items" and quote_identifier('[a b].c') == '"a b".c'
    with pytest.raises(ValueError):
        trigger_sql("t", "x'); DROP TABLE t; --")


def test_model_validation_and_round_trip():
    base = {"name": "ds", "type": "postgresql", "credentials": {"connectionString": "postgresql://u@h/db"}, "container": {"name": "t"}}
    ds = parse_data_source({**base, "weftNotify": {"channel": "Items_1"}})
    assert ds.notify.channel == "Items_1" and ds.to_json()["weftNotify"] == {"channel": "Items_1"}
    assert "weftNotify" not in parse_data_source(base).to_json()  # Azure's shape when not used
    assert "weftNotify" not in parse_data_source({**base, "weftNotify": None}).to_json()
    bad = [
        ({**base, "type": "mysql", "weftNotify": {"channel": "c"}}, "only supported for data sources of type 'postgresql'"),
        ({**base, "weftNotify": {"channel": ""}}, "channel name"),
        ({**base, "weftNotify": {"channel": "9lives"}}, "channel name"),
        ({**base, "weftNotify": {"channel": "a" * 64}}, "channel name"),
        ({**base, "weftNotify": {"channel": "ok\n"}}, "channel name"),
        ({**base, "weftNotify": {}}, "channel name"),
        ({**base, "weftNotify": {"channel": "c", "xid": True}}, "Unknown property 'xid'"),
        ({**base, "weftNotify": "c"}, "must be an object"),
    ]
    for body, message in bad:
        with pytest.raises(InvalidInput) as info:
            parse_data_source(body)
        assert message in info.value.message, (body, info.value.message)


# ---- the mechanism, in process ---------------------------------------------------------------------------------


def test_commit_becomes_searchable_through_the_notification(table, node):
    t, channel = table
    node.datasource("src", t, channel)
    node.indexer("ix", "src")
    node.settled("ix")
    before = node.listening("ix")["notificationsReceived"]
    lags = []
    for i in range(1, 6):
        started = time.monotonic()
        sql(f"INSERT INTO {t} (id, title) VALUES (%s, 'fresh')", i)
        wait_for(lambda: node.has(i), 2.0, every=0.002, what=f"row {i} searchable", show=lambda: (node.status("ix"), open_transactions()))
        lags.append(time.monotonic() - started)
        time.sleep(0.05)
    status = node.listening("ix")
    assert status["connected"] and status["notificationsReceived"] >= before + 5 and status["lastNotificationTime"]
    assert max(lags) < 2.0, lags
    assert node.status("ix")["status"] == "running" and len(node.runs("ix")) >= 7  # Azure's fields are untouched


@pytest.mark.parametrize("payload", ["xid", "none"])
def test_row_held_back_by_an_older_transaction_appears_when_it_ends(table, node, payload):
    """B commits (and notifies) while an older transaction A is open: B's row lies above every
    ceiling until A ends. A then commits without touching the table (no notification), and B's row
    must appear without a schedule tick: the listener watched the oldest open transaction pass B."""
    t, channel = table
    if payload == "none":  # writers that do not send their transaction id: the listener bounds it itself
        sql(f"CREATE FUNCTION {t}_bare() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END $$")
        sql(f"DROP TRIGGER weft_notify ON {t}")
        sql(f"CREATE TRIGGER weft_notify AFTER INSERT OR UPDATE OR DELETE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {t}_bare()")
    node.datasource("src", t, channel)
    node.indexer("ix", "src")
    node.settled("ix")
    with psycopg.connect(LIBPQ) as a, psycopg.connect(LIBPQ) as b:
        a_xid = int(a.execute("SELECT pg_current_xact_id()::text").fetchone()[0])  # A is open and owns an id
        b.execute(f"INSERT INTO {t} (id, title) VALUES (1, 'late')")
        b_xid = int(b.execute("SELECT pg_current_xact_id()::text").fetchone()[0])
        committed = time.time()  # before the commit: the wake-up run may start before commit() returns here
        b.commit()
        assert b_xid > a_xid

        def held_back():
            runs = node.runs("ix")
            waiting = node.listening("ix")["waitingForXid"]
            after = [r for r in runs if r["startTime"] >= _iso(committed)]
            return waiting is not None and after and not node.service.is_running("ix") and after[0]["status"] == "success"

        wait_for(held_back, 5.0, what="a run after B's notification, held back", show=lambda: (node.status("ix"), open_transactions()))
        waiting = node.listening("ix")["waitingForXid"]
        assert waiting == b_xid if payload == "xid" else waiting >= b_xid
        time.sleep(0.5)
        assert not node.has(1), "B's row was read above the commit-safe ceiling"
        assert node.listening("ix")["waitingForXid"] == waiting
        heard = node.listening("ix")["notificationsReceived"]
        runs_before = len(node.runs("ix"))
        a.commit()  # A wrote nothing to the table: it sends no notification
        released = time.monotonic()
        wait_for(lambda: node.has(1), 2.0, every=0.005, what="B's row after A ended", show=lambda: (node.status("ix"), open_transactions()))
        lag = time.monotonic() - released
    assert lag < 2.0, lag
    wait_for(lambda: not node.service.is_running("ix"), 5, what="the run ended")
    assert node.listening("ix")["notificationsReceived"] == heard  # no new notification explains it
    assert node.listening("ix")["waitingForXid"] is None
    runs = node.runs("ix")
    assert len(runs) == runs_before + 1  # exactly one run, started when the ceiling passed B
    assert runs[0]["status"] == "success" and runs[0]["itemsProcessed"] == 1


def test_burst_of_notifications_coalesces(table, node):
    t, channel = table
    node.datasource("src", t, channel)
    node.indexer("ix", "src")
    node.settled("ix")
    runs_before = len(node.runs("ix"))
    heard = node.listening("ix")["notificationsReceived"]
    started = time.monotonic()
    with psycopg.connect(LIBPQ, autocommit=True) as conn:  # 500 transactions, one notification each
        conn.execute("SET synchronous_commit = off")  # a burst: commits do not wait for the WAL flush
        for i in range(1, 501):
            conn.execute(f"INSERT INTO {t} (id, title) VALUES (%s, 'burst')", (i,))
    burst = time.monotonic() - started
    wait_for(lambda: node.listening("ix")["notificationsReceived"] >= heard + 500, 10, what="500 notifications")
    wait_for(lambda: node.search.count("items") == 500, 10, what="all rows searchable")
    node.settled("ix")
    runs = len(node.runs("ix")) - runs_before
    assert 1 <= runs <= 10, (runs, burst)


def test_notifications_during_a_run_make_one_rerun(table, node, monkeypatch):
    """Without a change policy (every run re-reads the table) no cursor tells what a run missed: the
    wake-ups that arrive during a run must start exactly one more run after it."""
    import weft.indexers.service as service_module

    t, channel = table
    node.datasource("src", t, channel, dataChangeDetectionPolicy=None)
    node.indexer("ix", "src")
    node.settled("ix")
    entered, gate = threading.Event(), threading.Event()

    class Held(service_module.LocalTarget):
        def apply(self, actions):
            if not gate.is_set():
                entered.set()
                gate.wait(10)
            return super().apply(actions)

    monkeypatch.setattr(service_module, "LocalTarget", Held)
    runs_before = len(node.runs("ix"))
    heard = node.listening("ix")["notificationsReceived"]
    sql(f"INSERT INTO {t} (id, title) VALUES (100, 'first')")
    assert entered.wait(5), "the wake-up run did not start"
    for key in range(0, -10, -1):  # below the running scan's key cursor: that run cannot read them
        sql(f"INSERT INTO {t} (id, title) VALUES (%s, 'during the run')", key)
    wait_for(lambda: node.listening("ix")["notificationsReceived"] >= heard + 11, 5, what="11 notifications")
    gate.set()
    wait_for(lambda: all(node.has(k) for k in (100, *range(0, -10, -1))), 3.0, what="rows written during the run")
    node.settled("ix")
    assert len(node.runs("ix")) - runs_before == 2


def test_concurrent_late_committers_converge_on_wake_ups_alone(table, node):
    """Writers whose transactions overlap and commit late (and some roll back): with a one-hour
    schedule, the notifications and their follow-ups alone must bring the index to the table's state."""
    import random

    t, channel = table
    node.datasource("src", t, channel)
    node.indexer("ix", "src")
    node.settled("ix")

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(LIBPQ) as conn:
            for n in range(40):
                key = rng.randint(1, 60)
                conn.execute(f"INSERT INTO {t} (id, title) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                             "SET title = excluded.title, updated_at = now()", (key, f"w{seed}-{n}"))
                time.sleep(rng.uniform(0, 0.15))  # late committers: younger transactions commit first
                if rng.random() < 0.1:
                    conn.rollback()
                else:
                    conn.commit()

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
    expected = {str(k): v for k, v in sql(f"SELECT id, title FROM {t}")}

    def indexed():
        return {d["id"]: d["title"] for d in node.search.search("items", {"search": "*", "top": 1000})["value"]}

    wait_for(lambda: indexed() == expected, 5.0, every=0.05, what="index equal to the table",
             show=lambda: ({k: (v, indexed().get(k)) for k, v in expected.items() if indexed().get(k) != v}, node.status("ix")["weftNotify"]))
    assert node.listening("ix")["notificationsReceived"] >= 100


def test_listener_reconnects_after_its_backend_is_terminated(table, node):
    t, channel = table
    node.datasource("src", t, channel)
    node.indexer("ix", "src")
    node.settled("ix")
    listener = node.service.notify_hub.get("src")
    old_pid = listener.backend_pid
    assert listener_backends("src") == [old_pid]
    sql("SELECT pg_terminate_backend(%s)", old_pid)
    wait_for(lambda: listener.connected and listener.backend_pid != old_pid, 10, what="reconnected")
    last_error = node.listening("ix")["lastError"] or ""
    assert "connection was lost: OperationalError" in last_error and "server closed" not in last_error, last_error  # no driver text
    assert listener_backends("src") == [listener.backend_pid] and listener.connects == 2
    node.settled("ix")  # the reconnect catch-up run is done: what follows is the notification's doing
    heard = node.listening("ix")["notificationsReceived"]
    sql(f"INSERT INTO {t} (id, title) VALUES (7, 'after reconnect')")
    wait_for(lambda: node.has(7), 2.0, every=0.005, what="row after reconnect")
    assert node.listening("ix")["notificationsReceived"] > heard


def test_listener_follows_the_definitions_and_leaks_nothing(table, node):
    t, channel = table
    ds = _name("nds")
    node.datasource(ds, t, channel)
    assert not notify_threads(ds) and not listener_backends(ds)  # no indexer yet: nothing to wake
    node.indexer("ix", ds)
    wait_for(lambda: notify_threads(ds) and listener_backends(ds), 10, what="listener up")

    def gone():
        return not notify_threads(ds) and not listener_backends(ds)

    body = node.service.get_indexer("ix")
    node.service.create_or_update_indexer("ix", {**body, "disabled": True})  # disabled indexers are not woken
    wait_for(gone, 10, what="listener gone after disabling")
    assert node.status("ix")["weftNotify"]["listening"] is False
    node.service.create_or_update_indexer("ix", {**body, "disabled": False})
    wait_for(lambda: notify_threads(ds) and listener_backends(ds), 10, what="listener back")
    node.service.delete_indexer("ix")
    wait_for(gone, 10, what="listener gone after deleting the indexer")
    node.indexer("ix2", ds)
    wait_for(lambda: notify_threads(ds) and listener_backends(ds), 10, what="listener up again")
    node.service.delete_datasource(ds)
    wait_for(gone, 10, what="listener gone after deleting the data source")
    node.datasource(ds, t, channel)
    wait_for(lambda: notify_threads(ds) and listener_backends(ds), 10, what="listener up for the re-created data source")
    node.close()
    assert not notify_threads(ds)  # close() waits for the thread
    wait_for(lambda: not listener_backends(ds), 10, what="backend gone after close")


def test_query_source_waits_out_the_timestamp_fence(table, node):
    """A query container is tracked by a timestamp fence one second behind the oldest open
    transaction: the wake-up runs after that second, not at once."""
    t, channel = table
    node.datasource("src", None, channel, container={"query": f"SELECT id, title, updated_at FROM {t}"})
    node.indexer("ix", "src")
    node.settled("ix")
    started = time.monotonic()
    sql(f"INSERT INTO {t} (id, title) VALUES (3, 'via query')")
    wait_for(lambda: node.has(3), 3.0, every=0.005, what="row of a query source")
    assert 1.0 <= time.monotonic() - started < 3.0


def _iso(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---- over HTTP, the SDK and the CLI ------------------------------------------------------------------------------


def _headers(live):
    return {"api-key": live.admin_key}


def test_http_validation_round_trip_and_status(live, pg, table):
    t, channel = table
    name = _name("ds")
    good = {"name": name, "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": t},
            "dataChangeDetectionPolicy": HWM, "weftNotify": {"channel": channel}}
    for body, fragment in (
        ({**good, "type": "sqlite", "credentials": {"connectionString": "/tmp/x.db"}}, "only supported for data sources of type 'postgresql'"),
        ({**good, "weftNotify": {"channel": ""}}, "channel name"),
        ({**good, "weftNotify": {"chanel": "x"}}, "Unknown property 'chanel'"),
        ({**good, "weftNotify": ["x"]}, "must be an object"),
    ):
        r = httpx.put(live.url(f"/datasources/{name}"), json=body, headers=_headers(live))
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert "code" in error and fragment in error["message"], error  # the OData error shape (code "" as Azure for 400s)
    r = httpx.put(live.url(f"/datasources/{name}"), json=good, headers=_headers(live))
    assert r.status_code == 201 and r.json()["weftNotify"] == {"channel": channel}
    assert httpx.get(live.url(f"/datasources/{name}"), headers=_headers(live)).json()["weftNotify"] == {"channel": channel}
    listed = httpx.get(live.url("/datasources"), headers=_headers(live)).json()["value"]
    assert [d["weftNotify"] for d in listed if d["name"] == name] == [{"channel": channel}]

    # the official SDK reads and rewrites the data source and keeps the extension it does not know
    from azure.core.credentials import AzureKeyCredential
    from azure.search.documents.indexes import SearchIndexClient, SearchIndexerClient
    from azure.search.documents.indexes.models import SearchIndex, SearchIndexer, SimpleField, SearchFieldDataType

    cred = AzureKeyCredential(live.admin_key)
    index = _name("items")
    with SearchIndexerClient(live.endpoint, cred) as xc, SearchIndexClient(live.endpoint, cred) as ic:
        connection = xc.get_data_source_connection(name)
        connection.description = "rewritten by the SDK"
        xc.create_or_update_data_source_connection(connection)
        stored = httpx.get(live.url(f"/datasources/{name}"), headers=_headers(live)).json()
        assert stored["description"] == "rewritten by the SDK" and stored["weftNotify"] == {"channel": channel}
        ic.create_index(SearchIndex(name=index, fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True),
                                                         SimpleField(name="title", type=SearchFieldDataType.String)]))
        indexer = _name("ix")
        xc.create_indexer(SearchIndexer(name=indexer, data_source_name=name, target_index_name=index))
        wait_for(lambda: http_status(live, indexer)["weftNotify"]["connected"], 10, what="listener connected in the server",
                 show=lambda: http_status(live, indexer))
        sql(f"INSERT INTO {t} (id, title) VALUES (11, 'over http')")
        wait_for(lambda: httpx.get(live.url(f"/indexes/{index}/docs/11"), headers=_headers(live)).status_code == 200, 3,
                 what="row searchable over HTTP")
        status = xc.get_indexer_status(indexer)  # the SDK parses the status with weft's extra member
        assert status.status == "running"
        raw = httpx.get(live.url(f"/indexers/{indexer}/status"), headers=_headers(live)).json()
        assert raw["weftNotify"]["channel"] == channel and raw["weftNotify"]["lastNotificationTime"]
        assert set(raw) == {"name", "status", "lastResult", "executionHistory", "limits", "weftNotify"}
        xc.delete_indexer(indexer)
        ic.delete_index(index)
    plain = {k: v for k, v in good.items() if k != "weftNotify"}
    r = httpx.put(live.url(f"/datasources/{name}"), json=plain, headers=_headers(live))
    assert r.status_code == 200 and "weftNotify" not in r.json()  # PUT replaces: without it, no wake-ups
    httpx.delete(live.url(f"/datasources/{name}"), headers=_headers(live))


def test_cli_notify_prints_or_installs_the_trigger(live, pg):
    from weft.cli import app

    t = table_name("nc")
    channel = f"{t}_changed"
    sql(f"CREATE TABLE {t} (id BIGINT PRIMARY KEY, title TEXT, updated_at TIMESTAMP(6) NOT NULL DEFAULT now())")
    common = ["--endpoint", live.endpoint, "--admin-key", live.admin_key]
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["indexer", "create-for-table", t, "-t", "sqlite", "-c", "/tmp/none.db", "--notify", "c", *common])
        assert result.exit_code == 1 and "only supported for data sources of type 'postgresql'" in result.output
        result = runner.invoke(app, ["indexer", "create-for-table", t, "-t", "postgresql", "-c", PG_URL, "--high-water-mark",
                                     "updated_at", "--schedule", "PT1H", "--notify", channel, *common])
        assert result.exit_code == 0, result.output
        assert "CREATE TRIGGER weft_notify" in result.output and f"weft_notify('{channel}')" in result.output
        assert not sql("SELECT 1 FROM pg_trigger WHERE tgname = 'weft_notify' AND tgrelid = %s::regclass", t)  # printed, not installed
        base = t.replace("_", "-")
        ds = httpx.get(live.url(f"/datasources/{base}-ds"), headers=_headers(live)).json()
        assert ds["weftNotify"] == {"channel": channel}
        result = runner.invoke(app, ["indexer", "create-for-table", t, "-t", "postgresql", "-c", PG_URL, "--high-water-mark",
                                     "updated_at", "--schedule", "PT1H", "--notify", channel, "--install-trigger", *common])
        assert result.exit_code == 0 and "installed trigger weft_notify" in result.output, result.output
        assert sql("SELECT 1 FROM pg_trigger WHERE tgname = 'weft_notify' AND tgrelid = %s::regclass", t)
        wait_for(lambda: http_status(live, f"{base}-indexer")["weftNotify"]["connected"], 10, what="listener connected",
                 show=lambda: http_status(live, f"{base}-indexer"))
        sql(f"INSERT INTO {t} (id, title) VALUES (5, 'from the cli setup')")
        wait_for(lambda: httpx.get(live.url(f"/indexes/{base}/docs/5"), headers=_headers(live)).status_code == 200, 3,
                 what="row searchable")
        httpx.delete(live.url(f"/indexers/{base}-indexer"), headers=_headers(live))
        httpx.delete(live.url(f"/datasources/{base}-ds"), headers=_headers(live))
    finally:
        sql(f"DROP TABLE IF EXISTS {t}")
