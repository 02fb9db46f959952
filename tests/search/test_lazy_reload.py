"""The searcher is reloaded at the first read after a commit, not by every commit (weft.search.engine.tantivy_writer).

A bulk load without reads between its batches then pays no reload per batch; reads after an answer still see the
write, and the writer's own lookups (201 or 200, merges, deletes) stay exact while its searcher is behind.
"""
from __future__ import annotations

from weft.search.engine import tantivy_writer
from weft.search.service import SearchService

INDEX = {"name": "lazy", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "t", "type": "Edm.String", "searchable": True},
    {"name": "n", "type": "Edm.Int32", "filterable": True},
]}


class _CountingIndex:
    """Counts reloads of the wrapped tantivy.Index (a native object, so its methods cannot be patched)."""

    def __init__(self, index):
        self._index = index
        self.reloads = 0

    def reload(self):
        self.reloads += 1
        return self._index.reload()

    def __getattr__(self, name):
        return getattr(self._index, name)


def _open(tmp_path):
    service = SearchService(tmp_path / "search")
    service.create_index(INDEX)
    handle = service.engine._handle(service.definition("lazy"))
    counting = handle.index = _CountingIndex(handle.index)
    return service, counting


def _batch(service, *actions):
    return [(r.key, r.status_code) for r in service.apply_batch("lazy", {"value": list(actions)})]


def _count(service, **extra) -> int:
    return service.search("lazy", {"search": "*", "count": True, "top": 0, **extra})["@odata.count"]


def test_commits_without_reads_do_not_reload_and_the_next_read_sees_them_all(tmp_path):
    service, index = _open(tmp_path)
    try:
        for b in range(5):
            _batch(service, *[{"@search.action": "upload", "id": f"k{b}-{i}", "t": "w", "n": i} for i in range(20)])
        assert index.reloads == 0
        assert _count(service) == 100  # one reload, for all five commits
        assert _count(service, filter="n eq 3") == 5
        assert index.reloads == 1
    finally:
        service.close()


def test_writes_after_unread_commits_see_them(tmp_path):
    service, index = _open(tmp_path)
    try:
        assert _batch(service, {"id": "a", "t": "one", "n": 1}, {"id": "b", "t": "two", "n": 2}) == [("a", 201), ("b", 201)]
        assert _count(service) == 2  # loaded: a, b
        assert _batch(service, {"id": "c", "t": "three", "n": 3}) == [("c", 201)]  # not read: the searcher lacks c
        # c was committed after the loaded searcher: the writer reloads before looking it up
        assert _batch(service, {"@search.action": "merge", "id": "c", "n": 30}) == [("c", 200)]
        # a is older than the loaded searcher and untouched since: looked up without a reload, still exact
        reloads = index.reloads
        assert _batch(service, {"@search.action": "mergeOrUpload", "id": "a", "n": 10}, {"id": "d", "n": 4}) == [("a", 200), ("d", 201)]
        assert index.reloads == reloads
        assert _batch(service, {"@search.action": "delete", "id": "d"}, {"@search.action": "merge", "id": "zz", "n": 0}) == [("d", 200), ("zz", 404)]
        assert _batch(service, {"id": "d", "t": "again"}) == [("d", 201)]  # deleted by the last (unread) commit
        assert service.lookup("lazy", "c") == {"id": "c", "t": "three", "n": 30}
        assert service.lookup("lazy", "a") == {"id": "a", "t": "one", "n": 10}
        assert service.lookup("lazy", "d") == {"id": "d", "t": "again", "n": None}
        assert _count(service) == 4
    finally:
        service.close()


def test_the_writer_reloads_when_its_unread_keys_pile_up(tmp_path, monkeypatch):
    monkeypatch.setattr(tantivy_writer, "RECENT_LIMIT", 25)
    service, index = _open(tmp_path)
    try:
        for b in range(4):
            _batch(service, *[{"id": f"k{b}-{i}", "n": i} for i in range(10)])
        assert index.reloads == 1  # before the 4th batch: 30 keys committed since the loaded searcher
        assert _count(service) == 40
    finally:
        service.close()
