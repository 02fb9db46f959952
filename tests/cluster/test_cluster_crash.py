"""A cluster node SIGKILLed during writes: after its restart every acknowledged batch is whole on every node, and no
batch is half visible anywhere (docs/cluster.md)."""
from __future__ import annotations

import threading
import time
import uuid

import httpx

from tests.cluster.test_cluster_nodes import POSITION, _index_json

BATCH = 10


def _writer(node_of, name: str, prefix: str, acked: set, attempted: set, stop: threading.Event):
    i = 0
    while not stop.is_set():
        batch = f"{prefix}{i}"
        i += 1
        docs = [{"@search.action": "upload", "id": f"{batch}-{j}", "tag": batch, "n": j} for j in range(BATCH)]
        attempted.add(batch)
        node = node_of()
        try:
            r = httpx.post(node.url(f"/indexes/{name}/docs/index"), headers={"api-key": node.admin_key}, json={"value": docs}, timeout=30)
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        if r.status_code == 200:
            acked.add(batch)


def test_sigkill_during_writes_loses_nothing_acknowledged(nodes):
    a, b = nodes
    name = f"crash-{uuid.uuid4().hex[:6]}"
    assert httpx.post(a.url("/indexes"), headers={"api-key": a.admin_key}, json=_index_json(name)).status_code == 201
    acked: set[str] = set()
    attempted: set[str] = set()
    stop = threading.Event()
    writers = [threading.Thread(target=_writer, args=(lambda: a, name, "a", acked, attempted, stop)),
               threading.Thread(target=_writer, args=(lambda: b, name, "b", acked, attempted, stop))]
    for w in writers:
        w.start()
    try:
        time.sleep(1.5)
        a.kill()
        time.sleep(0.5)
        a.start()  # the same data dir: resumes from its persisted position
        time.sleep(1.0)
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert any(x.startswith("a") for x in acked) and any(x.startswith("b") for x in acked)
    tokens = [httpx.post(n.url(f"/indexes/{name}/docs/index"), headers={"api-key": n.admin_key},
                         json={"value": [{"@search.action": "upload", "id": f"end-{n.port}"}]}).headers[POSITION] for n in (a, b)]
    token = str(max(int(t) for t in tokens))
    seen = []
    for node in (a, b):
        r = httpx.post(node.url(f"/indexes/{name}/docs/search"), headers={"api-key": node.admin_key, POSITION: token},
                       json={"search": "*", "filter": "tag ne null", "facets": [f"tag,count:{len(attempted) + 10}"], "top": 0, "count": True},
                       timeout=30)
        assert r.status_code == 200, r.text
        counts = {f["value"]: f["count"] for f in r.json()["@search.facets"]["tag"]}
        assert set(counts) >= acked, sorted(acked - set(counts))[:5]  # every acknowledged batch is there
        assert set(counts) <= attempted
        assert all(c == BATCH for c in counts.values()), {k: c for k, c in counts.items() if c != BATCH}  # none half there
        seen.append(counts)
    assert seen[0] == seen[1]
