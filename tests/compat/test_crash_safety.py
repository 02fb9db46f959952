"""SIGKILL the server while batches are being written: after a restart every acknowledged
document is there, and no batch is visible half-applied."""
from __future__ import annotations

import random
import threading
import time

import httpx

from tests.support.server import WeftServer

INDEX = {
    "name": "crash",
    "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "batch", "type": "Edm.String", "filterable": True},
        {"name": "size", "type": "Edm.Int32", "filterable": True},
        {"name": "body", "type": "Edm.String", "searchable": True},
    ],
}


def _writer(server: WeftServer, worker: int, acked: list, attempted: list, stop: threading.Event) -> None:
    n = 0
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            n += 1
            batch_id = f"w{worker}-{n}-{random.randrange(10**9)}"
            size = random.choice([1, 5, 50, 200])
            docs = [{"@search.action": "upload", "id": f"{batch_id}-{i}", "batch": batch_id, "size": size, "body": "lorem ipsum dolor"} for i in range(size)]
            attempted.append((batch_id, size))
            try:
                r = client.post(server.url("/indexes/crash/docs/index"), headers={"api-key": server.admin_key}, json={"value": docs})
            except httpx.HTTPError:
                return
            if r.status_code == 200:
                acked.append((batch_id, size))


def _count(server: WeftServer, filter_expr: str | None = None) -> int:
    body = {"search": "*", "count": True, "top": 0}
    if filter_expr:
        body["filter"] = filter_expr
    r = httpx.post(server.url("/indexes/crash/docs/search"), headers={"api-key": server.admin_key}, json=body)
    r.raise_for_status()
    return r.json()["@odata.count"]


def test_kill_minus_nine_loses_no_acknowledged_batch(tmp_path):
    server = WeftServer(tmp_path / "data").start()
    try:
        assert httpx.post(server.url("/indexes"), headers={"api-key": server.admin_key}, json=INDEX).status_code == 201
        acked: list = []
        attempted: list = []
        for round_no in range(3):
            stop = threading.Event()
            threads = [threading.Thread(target=_writer, args=(server, w, acked, attempted, stop)) for w in range(4)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.5, 1.5))
            server.kill()  # SIGKILL in the middle of writes
            stop.set()
            for t in threads:
                t.join(15)
            server.start()
        assert len(acked) > 5, "the test did not manage to write anything before the kills"
        # every acknowledged batch is complete
        for batch_id, size in acked:
            assert _count(server, f"batch eq '{batch_id}'") == size, batch_id
        # no attempted batch is partially visible
        total = 0
        for batch_id, size in attempted:
            present = _count(server, f"batch eq '{batch_id}'")
            assert present in (0, size), f"batch {batch_id} half applied: {present}/{size}"
            total += present
        assert _count(server) == total
    finally:
        server.kill()


def test_sigterm_drains_and_exits_cleanly(tmp_path):
    server = WeftServer(tmp_path / "data").start()
    try:
        assert httpx.post(server.url("/indexes"), headers={"api-key": server.admin_key}, json=INDEX).status_code == 201
        acked: list = []
        stop = threading.Event()
        threads = [threading.Thread(target=_writer, args=(server, w, acked, [], stop)) for w in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.8)
        code = server.stop()  # SIGTERM: graceful
        stop.set()
        for t in threads:
            t.join(15)
        assert code == 0, server.log_path.read_text()[-2000:]
        server.start()
        for batch_id, size in acked:
            assert _count(server, f"batch eq '{batch_id}'") == size
    finally:
        server.kill()
