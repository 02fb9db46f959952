"""Definition changes made on two nodes at the same instant (docs/cluster.md, "Concurrent definition changes"): the
ETag check and the write are one PostgreSQL transaction, so two conditional PUTs racing on two nodes give exactly one
2xx and one 412, two `If-None-Match: *` creations one 201 and one 412, and unconditional PUTs converge on every node
to the last committed definition. Each kind of definition runs several rounds of requests released by a barrier."""
from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from tests.support.server import API_VERSION
from tests.threads.backends import PG_URL

ROUNDS = 5
FIELDS = [{"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True}]


def _request(node, method: str, path: str, body=None, **headers) -> httpx.Response:
    return httpx.request(method, f"{node.endpoint}{path}", params={"api-version": API_VERSION}, json=body,
                         headers={"api-key": node.admin_key, **headers}, timeout=30)


def _race(calls) -> list[httpx.Response]:
    """Runs the calls at once (one thread each, released together)."""
    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        out[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    return out


def _same_everywhere(nodes, path: str, timeout: float = 10.0) -> dict:
    """Waits until every node answers the same definition (ETag and body) for ``path``; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        got = [_request(n, "GET", path) for n in nodes]
        bodies = [r.json() if r.status_code == 200 else r.status_code for r in got]
        if all(isinstance(b, dict) for b in bodies) and all(b == bodies[0] for b in bodies):
            return bodies[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"the nodes disagree on {path}: {bodies}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def targets(nodes):
    """Two indexes and a data source the aliases, indexers and knowledge sources below point at."""
    a, _ = nodes
    tag = uuid.uuid4().hex[:6]
    names = [f"target-{tag}-1", f"target-{tag}-2"]
    for name in names:
        assert _request(a, "PUT", f"/indexes/{name}", {"name": name, "fields": FIELDS}).status_code == 201
    ds = f"ds-{tag}"
    assert _request(a, "PUT", f"/datasources/{ds}", _datasource(ds, "x")).status_code == 201
    return names, ds


def _datasource(name: str, variant: str) -> dict:
    return {"name": name, "type": "postgresql", "credentials": {"connectionString": PG_URL}, "container": {"name": f"t_{variant}"},
            "description": variant}


def _bodies(kind: str, targets):
    """(collection, body(name, variant), what of a GET tells the variant) for each kind of definition."""
    (index1, index2), ds = targets
    return {
        "index": ("indexes", lambda n, v: {"name": n, "fields": FIELDS, "corsOptions": {"allowedOrigins": [f"https://{v}.example"]}},
                  lambda got: got["corsOptions"]["allowedOrigins"][0]),
        "synonymmap": ("synonymmaps", lambda n, v: {"name": n, "format": "solr", "synonyms": f"{v}, {v}x"},
                       lambda got: got["synonyms"]),
        "alias": ("aliases", lambda n, v: {"name": n, "indexes": [index1 if v.startswith("a") else index2]},
                  lambda got: got["indexes"][0]),
        "datasource": ("datasources", _datasource, lambda got: got["description"]),
        "indexer": ("indexers", lambda n, v: {"name": n, "dataSourceName": ds, "targetIndexName": index1, "description": v, "disabled": True},
                    lambda got: got["description"]),
        "knowledgesource": ("knowledgesources", lambda n, v: {"name": n, "kind": "searchIndex", "description": v,
                                                              "searchIndexParameters": {"searchIndexName": index1}},
                            lambda got: got["description"]),
    }[kind]


KINDS = ["index", "synonymmap", "alias", "datasource", "indexer", "knowledgesource"]


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_puts_on_two_nodes(nodes, targets, kind):
    a, b = nodes
    collection, body, variant_of = _bodies(kind, targets)
    for round_ in range(ROUNDS):
        name = f"{kind}-{round_}-{uuid.uuid4().hex[:6]}"
        path = f"/{collection}/{name}"
        # two creations with If-None-Match: * at once: one creates, the other finds it there
        created = _race([lambda: _request(a, "PUT", path, body(name, "a0"), **{"If-None-Match": "*"}),
                         lambda: _request(b, "PUT", path, body(name, "b0"), **{"If-None-Match": "*"})])
        assert sorted(r.status_code for r in created) == [201, 412], [(r.status_code, r.text) for r in created]
        winner = "a0" if created[0].status_code == 201 else "b0"
        current = _same_everywhere(nodes, path)
        assert variant_of(current) == variant_of(body(name, winner))
        etag = current["@odata.etag"]
        # two updates conditional on the same ETag: exactly one applies
        updated = _race([lambda: _request(a, "PUT", path, body(name, "a1"), **{"If-Match": etag}),
                         lambda: _request(b, "PUT", path, body(name, "b1"), **{"If-Match": etag})])
        codes = sorted(r.status_code for r in updated)
        assert codes == [200, 412], [(r.status_code, r.text) for r in updated]
        winner = "a1" if updated[0].status_code == 200 else "b1"
        current = _same_everywhere(nodes, path)
        assert variant_of(current) == variant_of(body(name, winner))
        assert current["@odata.etag"] == next(r for r in updated if r.status_code == 200).json()["@odata.etag"]
        # unconditional updates: both apply, in some order, and every node ends with the one committed last
        plain = _race([lambda: _request(a, "PUT", path, body(name, "a2")), lambda: _request(b, "PUT", path, body(name, "b2"))])
        assert [r.status_code for r in plain] == [200, 200], [(r.status_code, r.text) for r in plain]
        current = _same_everywhere(nodes, path)
        last = [r.json() for r in plain if r.json()["@odata.etag"] == current["@odata.etag"]]
        assert len(last) == 1, (current, [r.json() for r in plain])
        assert variant_of(current) == variant_of(last[0])
        # a delete conditional on a stale ETag is refused on either node
        stale = _request(b, "DELETE", path, **{"If-Match": etag})
        assert stale.status_code == 412, stale.text
        assert _request(a, "DELETE", path, **{"If-Match": current["@odata.etag"]}).status_code == 204
