"""kill -9 the server while clients append: every acknowledged item is there after a restart, in a gapless order."""
from __future__ import annotations

import threading
import time

import httpx

from tests.threads.live import ThreadsServer


def test_acknowledged_appends_survive_kill_minus_nine(tmp_path):
    server = ThreadsServer(tmp_path / "data").start()
    try:
        h = server.headers()
        conv = httpx.post(f"{server.endpoint}/v1/conversations", json={}, headers=h).json()["id"]
        acked: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w: int) -> None:
            with httpx.Client(timeout=5) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        r = client.post(f"{server.endpoint}/v1/conversations/{conv}/items", headers=h,
                                        json={"items": [{"role": "user", "content": f"w{w}-{n}"}]})
                    except httpx.HTTPError:
                        return
                    if r.status_code == 200:
                        with lock:
                            acked.append(r.json()["data"][0]["id"])

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.kill()
        stop.set()
        for t in threads:
            t.join(10)
        assert len(acked) > 20, "nothing was written before the kill"
        server.start()
        stored = []
        after = None
        while True:
            params = {"order": "asc", "limit": 100, **({"after": after} if after else {})}
            page = httpx.get(f"{server.endpoint}/v1/conversations/{conv}/items", params=params, headers=h).json()
            stored.extend(i["id"] for i in page["data"])
            if not page["has_more"]:
                break
            after = page["last_id"]
        missing = set(acked) - set(stored)
        assert not missing, f"{len(missing)} acknowledged items lost"
        assert len(stored) == len(set(stored))
    finally:
        server.kill()
