"""Disaster recovery with PostgreSQL: a primary and a synchronous streaming standby built on this machine;
weft writes through a multi-host URL with target_session_attrs=read-write; the primary dies (immediate
stop), the standby is promoted, weft keeps writing, and no acknowledged item is lost.

Locally this skips when the PostgreSQL server binaries are missing; with CI=true it fails instead.
"""
from __future__ import annotations

import threading
import time
import uuid

from tests.support.pg_pair import PgPair
from tests.support.server import free_port
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore


def test_writes_follow_a_failover_without_losing_acknowledged_items():
    pair = PgPair(free_port(), free_port(), prefix="weft-pg-failover-")
    primary, standby = pair.primary, pair.standby
    try:
        pair.start()

        url = (f"postgresql+psycopg://postgres@/postgres?host=127.0.0.1:{primary.port}&host=127.0.0.1:{standby.port}"
               f"&target_session_attrs=read-write&connect_timeout=3")
        store = SqlThreadStore(url)
        service = ThreadService(store)
        acme = Principal.library("acme")
        conv, _ = service.create_conversation(acme)
        acked: list[str] = []
        failures = 0
        stop = threading.Event()
        failed_over = threading.Event()

        def writer() -> None:
            nonlocal failures
            n = 0
            while not stop.is_set():
                n += 1
                key = f"append-{n}-{uuid.uuid4().hex[:8]}"
                while not stop.is_set():
                    try:  # a retry reuses the idempotency key: an append acknowledged twice is stored once
                        item = service.append_items(acme, conv.id, [{"role": "user", "content": f"n{n}"}], idempotency_key=key)[0]
                        acked.append(item.id)
                        break
                    except Exception:  # noqa: BLE001 - the primary is gone; wait for the new one
                        failures += 1
                        time.sleep(0.2)

        thread = threading.Thread(target=writer)
        thread.start()
        while len(acked) < 200:
            time.sleep(0.05)
        primary.stop("immediate")  # the primary dies
        standby.promote()
        before_failover = len(acked)
        deadline = time.monotonic() + 60
        while len(acked) < before_failover + 200:
            assert time.monotonic() < deadline, f"writes did not resume after the failover ({failures} failures)"
            time.sleep(0.05)
        stop.set()
        thread.join(30)
        stored = service.history(acme, conv.id)
        stored_ids = [i.id for i in stored]
        assert set(acked) <= set(stored_ids), "acknowledged items were lost"
        assert [i.seq for i in stored] == list(range(len(stored)))
        assert len(stored_ids) == len(set(stored_ids))
        assert standby.sql("select pg_is_in_recovery()") == "f"
        store.close()
    finally:
        pair.close()
