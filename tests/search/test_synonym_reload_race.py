"""SynonymMapService.reload (cluster mode: the apply loop calls it) never undoes a change this node made meanwhile."""
import threading

from weft.search.catalog import Catalog
from weft.search.synonyms_service import SynonymMapService


class SlowListing(Catalog):
    """The first listing after ``arm()`` pauses after reading: a change made in that pause must survive the reload."""

    def arm(self):
        self.listing, self.proceed = threading.Event(), threading.Event()

    def list_synonym_maps(self):
        rows = super().list_synonym_maps()
        if getattr(self, "listing", None) is not None and not self.listing.is_set():
            self.listing.set()
            self.proceed.wait(5)
        return rows


def _race(tmp_path, change):
    catalog = SlowListing(tmp_path / "catalog.sqlite3")
    service = SynonymMapService(catalog)
    service.create({"name": "old", "synonyms": "a, b"})
    catalog.arm()
    reload = threading.Thread(target=service.reload)
    reload.start()
    assert catalog.listing.wait(5)
    writer = threading.Thread(target=change, args=(service,))
    writer.start()
    writer.join(0.3)  # with reload holding the lock, the change waits for it
    catalog.proceed.set()
    reload.join(5)
    writer.join(5)
    return service


def test_a_map_created_during_a_reload_stays(tmp_path):
    service = _race(tmp_path, lambda s: s.create({"name": "new", "synonyms": "c, d"}))
    assert [m["name"] for m in service.list()] == ["new", "old"]


def test_a_map_deleted_during_a_reload_stays_deleted(tmp_path):
    service = _race(tmp_path, lambda s: s.delete("old"))
    assert service.list() == []
