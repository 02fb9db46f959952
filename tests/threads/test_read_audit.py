"""Read-audit records are buffered, and stored with the next write, by the flusher, or at close — never
lost by a failed write; and a PostgreSQL append is one round trip with its audit row."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.threads.backends import drop_store_tables, unique_prefix, url_for
from weft.errors import NotFound
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

ACME = Principal("acme", frozenset({"read", "write"}), key_id="key_r")
ITEM = [{"role": "user", "content": "hello"}]


def _stored(store: SqlThreadStore) -> list[tuple[str, str]]:
    """The audit table as it is in the database (not through list_audit, which stores the buffer first)."""
    a = store.tables.audit
    with store.engine.connect() as conn:
        return [(r.operation, r.outcome) for r in conn.execute(select(a.c.operation, a.c.outcome).order_by(a.c.id))]


@pytest.fixture
def slow_flush_store(tmp_path):
    store = SqlThreadStore(f"sqlite:///{tmp_path / 'audit.sqlite3'}", table_prefix=unique_prefix())
    store.read_audit._interval = 600.0  # the flusher stays out of the way: only writes and close store the buffer
    yield store
    store.close()


def test_a_read_record_rides_with_the_next_write(slow_flush_store):
    service = ThreadService(slow_flush_store)
    conv, _ = service.create_conversation(ACME, items=ITEM)
    service.list_items(ACME, conv.id)
    service.get_conversation(ACME, conv.id)
    assert _stored(slow_flush_store) == [("conversation.create", "ok")]  # buffered, not yet stored
    service.append_items(ACME, conv.id, ITEM)
    assert _stored(slow_flush_store) == [("conversation.create", "ok"), ("items.list", "ok"), ("conversation.get", "ok"),
                                         ("items.create", "ok")]


def test_a_failed_write_gives_the_buffered_reads_back(slow_flush_store):
    service = ThreadService(slow_flush_store)
    conv, _ = service.create_conversation(ACME)
    service.list_items(ACME, conv.id)
    with pytest.raises(NotFound):
        service.append_items(ACME, "conv_missing", ITEM)
    # the rolled-back append gave the read back; the failure's own record (stored at once) carried it
    assert _stored(slow_flush_store) == [("conversation.create", "ok"), ("items.create", "not_found"), ("items.list", "ok")]
    admin = Principal("acme", frozenset({"read", "write", "admin"}), key_id="adm", server_admin=True)
    records = service.list_audit(admin, tenant_id="acme")
    assert [r.operation for r in records].count("items.list") == 1  # reading the trail stores the buffer first


def test_close_stores_the_buffer(tmp_path):
    url = f"sqlite:///{tmp_path / 'close.sqlite3'}"
    prefix = unique_prefix()
    store = SqlThreadStore(url, table_prefix=prefix)
    store.read_audit._interval = 600.0
    service = ThreadService(store)
    conv, _ = service.create_conversation(ACME)
    for _ in range(5):
        service.list_items(ACME, conv.id, limit=1)
    service.close()
    again = SqlThreadStore(url, table_prefix=prefix)
    try:
        assert [op for op, _ in _stored(again)].count("items.list") == 5
    finally:
        again.close()


def test_the_flusher_stores_reads_without_any_write(tmp_path):
    store = SqlThreadStore(f"sqlite:///{tmp_path / 'flush.sqlite3'}", table_prefix=unique_prefix())
    store.read_audit._interval = 0.05
    try:
        service = ThreadService(store)
        conv, _ = service.create_conversation(ACME)
        service.list_items(ACME, conv.id)
        deadline = time.monotonic() + 5
        while ("items.list", "ok") not in _stored(store) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ("items.list", "ok") in _stored(store)
    finally:
        store.close()


def test_unbuffered_reads_are_stored_before_returning(slow_flush_store):
    service = ThreadService(slow_flush_store, buffer_read_audit=False)
    conv, _ = service.create_conversation(ACME)
    service.list_items(ACME, conv.id)
    assert _stored(slow_flush_store)[-1] == ("items.list", "ok")


def test_postgres_append_is_one_round_trip_with_its_audit_row(tmp_path):
    from psycopg.pq import Trace

    store = SqlThreadStore(url_for("postgresql", tmp_path), table_prefix=unique_prefix())
    try:
        service = ThreadService(store)
        conv, _ = service.create_conversation(ACME)
        for _ in range(6):  # past psycopg's prepare threshold: the steady state
            service.append_items(ACME, conv.id, ITEM)
        [proxy] = store._hot.writers._idle
        pgconn = proxy.dbapi_connection.pgconn
        trace_path = tmp_path / "libpq.trace"
        with open(trace_path, "w") as trace:
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
            for n in range(3):
                service.append_items(ACME, conv.id, [{"role": "user", "content": f"traced {n}"}, *ITEM])
            pgconn.untrace()
        sent = [line.split("\t") for line in trace_path.read_text().splitlines() if line.startswith("F")]
        round_trips = [fields for fields in sent if len(fields) > 2 and fields[2].split(" ")[0] in ("Sync", "Query")]
        assert len(round_trips) == 3, sent
        with store.engine.connect() as conn:
            a, it = store.tables.audit, store.tables.items
            assert conn.execute(select(func.count()).select_from(a).where(a.c.operation == "items.create")).scalar() == 9
            seqs = [r.seq for r in conn.execute(select(it.c.seq).where(it.c.conversation_id == conv.id).order_by(it.c.seq))]
        assert seqs == list(range(12))  # gapless, numbered from the bumped counter
    finally:
        drop_store_tables(store)
        store.close()
