"""A node started while its cluster database has no writable primary (during a failover, or before the database is
up) waits for one, at most cluster.start_wait_seconds, instead of exiting; past that it exits with a clear message.
The primary here is the test's real PostgreSQL behind a loopback TCP relay that starts listening late."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx

from tests.support.cluster import cluster_node
from tests.support.relay import TcpRelay, via
from tests.support.server import API_VERSION, free_port


def test_a_node_waits_for_the_primary_and_then_serves(cluster_db, tmp_path):
    relay = TcpRelay(("127.0.0.1", 5432), free_port(), listen=False)  # nothing listens until open()
    node = cluster_node(tmp_path / "data", via(cluster_db.url, relay.port), "late", env={"WEFT_CLUSTER_START_WAIT": "60"})
    starter = threading.Thread(target=lambda: node.start(timeout=90), daemon=True)
    try:
        starter.start()
        time.sleep(3.0)
        assert node.proc is not None and node.proc.poll() is None, "the node exited instead of waiting for its primary"
        try:
            httpx.get(f"{node.endpoint}/indexes?api-version={API_VERSION}", timeout=1)
            raise AssertionError("the node served before it had its cluster database")
        except httpx.HTTPError:
            pass
        relay.open()
        starter.join(90)
        assert not starter.is_alive()
        headers = {"api-key": node.admin_key}
        r = httpx.post(f"{node.endpoint}/indexes?api-version={API_VERSION}", headers=headers, timeout=30,
                       json={"name": "late-index", "fields": [{"name": "id", "type": "Edm.String", "key": True}]})
        assert r.status_code == 201, r.text
        with cluster_db.connect() as conn:
            assert conn.execute("SELECT count(*) FROM weft_search_indexes WHERE name = 'late-index'").fetchone()[0] == 1
    finally:
        node.stop()
        relay.close()


def test_a_node_with_no_primary_gives_up_with_a_clear_message(tmp_path):
    port = free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
    env.update({"WEFT_CLUSTER_URL": f"postgresql://postgres@127.0.0.1:{port}/nothing", "WEFT_NODE_ID": "alone",
                "WEFT_CLUSTER_START_WAIT": "2"})
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "weft.cli", "serve", "--host", "127.0.0.1", "--port", str(free_port()),
                          "--data-dir", str(tmp_path / "data"), "--admin-key", "k"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 3, (out.returncode, out.stderr[-2000:])
    assert "no writable primary after waiting 2 s" in out.stderr
    assert "Traceback" not in out.stderr
    assert time.monotonic() - started >= 2.0
