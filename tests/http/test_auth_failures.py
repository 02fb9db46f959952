"""Failed authentication is counted per source address and written as one audit row per window,
not one durable row per rejected key."""
from __future__ import annotations

import httpx

from tests.threads.live import ThreadsServer


def _auth_rows(server) -> list[dict]:
    r = httpx.get(f"{server.endpoint}/audit?limit=1000", headers={"api-key": server.admin_key})
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e["operation"] == "auth"]


def test_two_thousand_bad_keys_make_one_row(tmp_path):
    server = ThreadsServer(tmp_path / "data").start()
    try:
        with httpx.Client(timeout=10) as c:
            for n in range(2000):
                r = c.get(f"{server.endpoint}/v1/conversations", headers={"api-key": f"wrong-{n}"})
                assert r.status_code == 401
        assert _auth_rows(server) == []  # counted in memory, nothing written per attempt
    finally:
        server.stop()
    server.start()  # the counts were written at shutdown
    try:
        rows = _auth_rows(server)
        assert len(rows) == 1, rows
        assert rows[0]["outcome"] == "denied" and "source=127.0.0.1" in rows[0]["detail"] and "count=2000" in rows[0]["detail"]
    finally:
        server.stop()
