"""A write group's vectors go into the ANN index while its documents commit (vector_staging.py): acknowledged
vectors are found, no search sees a vector while its commit is still running, and a failed commit leaves the
vector index as the last durable commit left it."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from weft.errors import Unavailable
from weft.search.service import SearchService

DIMS = 8
INDEX = {"name": "staged", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "vec", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": DIMS, "vectorSearchProfile": "p"}],
    "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h"}]}}
rng = np.random.default_rng(24)
VECTORS = rng.standard_normal((60, DIMS)).astype(np.float32)


def _docs(keys):
    return {"value": [{"@search.action": "upload", "id": str(k), "vec": VECTORS[k].tolist()} for k in keys]}


def _nearest(service: SearchService, k: int, exhaustive: bool = False) -> list[str]:
    body = {"vectorQueries": [{"kind": "vector", "vector": VECTORS[k].tolist(), "k": 5, "fields": "vec",
                               "exhaustive": exhaustive}], "select": "id"}
    return [hit["id"] for hit in service.search("staged", body)["value"]]


class _Writer:
    """The tantivy writer with a commit that can be held or made to fail."""

    def __init__(self, inner):
        self.inner = inner
        self.fail = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def commit(self):
        self.entered.set()
        self.release.wait(10)
        if self.fail:
            raise OSError("disk full (test)")
        return self.inner.commit()

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def service(tmp_path):
    service = SearchService(tmp_path / "search")
    service.create_index(INDEX)
    yield service
    service.close()


def _handle(service):
    return service.engine._handle(service.definition("staged"))


def test_acknowledged_vectors_are_found(service):
    service.apply_batch("staged", _docs(range(40)))
    for k in (0, 17, 39):
        assert _nearest(service, k)[0] == str(k)
    assert len(_handle(service).vectors["vec"]) == 40


def test_a_failed_commit_leaves_the_vectors_of_the_last_commit(service):
    service.apply_batch("staged", _docs(range(30)))
    handle = _handle(service)
    writer = handle.writer = _Writer(handle.writer)
    writer.fail = True
    deleting = {"value": [{"@search.action": "delete", "id": "3"}]}
    with pytest.raises(Unavailable):
        service.apply_batch("staged", {"value": _docs(range(30, 50))["value"] + deleting["value"]})
    vi = handle.vectors["vec"]
    assert sorted(vi.labels, key=int) == [str(k) for k in range(30)]  # the new ones gone, the deleted one back
    assert _nearest(service, 3)[0] == "3" and "40" not in _nearest(service, 40)
    writer.fail = False
    service.apply_batch("staged", _docs(range(30, 50)))
    assert _nearest(service, 40)[0] == "40" and len(vi) == 50


def test_no_search_sees_a_vector_before_its_commit_is_durable(service):
    service.apply_batch("staged", _docs(range(20)))
    handle = _handle(service)
    writer = handle.writer = _Writer(handle.writer)
    writer.release.clear()
    upload = threading.Thread(target=service.apply_batch, args=("staged", _docs(range(20, 60))))
    upload.start()
    assert writer.entered.wait(10)  # the commit is running; the vectors are being (or have been) added
    seen: list[list[str]] = []
    searching = threading.Thread(target=lambda: seen.append(_nearest(service, 45)))
    searching.start()
    searching.join(0.5)
    if seen:  # it answered during the commit: from the last durable state only
        assert all(int(key) < 20 for key in seen[0])
    writer.release.set()
    upload.join(10)
    searching.join(10)
    assert _nearest(service, 45)[0] == "45" and _nearest(service, 45, exhaustive=True)[0] == "45"
