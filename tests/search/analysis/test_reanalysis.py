"""An index whose terms an earlier weft's analysis wrote is re-analyzed when it is opened, so that a query analyzed
by today's code finds what it should (analysis/fingerprint.py, TantivyEngine.open_index)."""
from __future__ import annotations

import pytest

from weft.search.analysis import fingerprint, predefined
from weft.search.engine import tantivy_engine
from weft.search.engine.tantivy_engine import ANALYSIS_STAMP
from weft.search.service import SearchService

INDEX = {"name": "ete", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "t", "type": "Edm.String", "searchable": True, "analyzer": "fr.lucene"},
    {"name": "tag", "type": "Edm.String", "filterable": True, "facetable": True, "normalizer": "lowercase"},
]}
DOCS = [{"@search.action": "upload", "id": "1", "t": "l'été est chaud", "tag": "Sun"},
        {"@search.action": "upload", "id": "2", "t": "les hivers sont froids", "tag": "Snow"}]


def _hits(service: SearchService, text: str) -> list[str]:
    return sorted(d["id"] for d in service.search("ete", {"search": text})["value"])


@pytest.fixture
def older_french(monkeypatch):
    """Stands in for an earlier weft whose fr.lucene made other tokens: the keyword analyzer (one term per value)."""
    real = predefined.get

    def get(name):
        return real("keyword") if name == "fr.lucene" else real(name)

    monkeypatch.setattr(predefined, "get", get)
    monkeypatch.setattr(fingerprint, "_PREDEFINED", {})  # the digests of that other analysis
    return monkeypatch


def _written_by_older_weft(tmp_path, older_french) -> None:
    service = SearchService(tmp_path / "search")
    service.create_index(INDEX)
    service.apply_batch("ete", {"value": DOCS})
    assert _hits(service, "été") == []  # the old analysis: 'l'été est chaud' is one term
    service.close()
    older_french.undo()


def test_an_index_written_by_another_analysis_is_reanalyzed_on_open(tmp_path, older_french):
    _written_by_older_weft(tmp_path, older_french)
    service = SearchService(tmp_path / "search")
    try:
        assert _hits(service, "été") == ["1"]  # elision and the light stemmer, as today's fr.lucene makes them
        assert _hits(service, "hiver") == ["2"]
        assert service.search("ete", {"search": "*", "filter": "tag eq 'sun'"})["value"][0]["id"] == "1"
        [path] = (tmp_path / "search").rglob(ANALYSIS_STAMP)
        assert path.read_text().strip() == fingerprint.index_fingerprint(service.definition("ete"))
    finally:
        service.close()


def _written(tmp_path) -> None:
    service = SearchService(tmp_path / "search")
    service.create_index(INDEX)
    service.apply_batch("ete", {"value": DOCS})
    service.close()


@pytest.fixture
def rebuilds(monkeypatch) -> list:
    """The rewrites of an index from its stored documents (TantivyEngine._rebuild calls), still made."""
    calls: list = []
    real = tantivy_engine.TantivyEngine._rebuild
    monkeypatch.setattr(tantivy_engine.TantivyEngine, "_rebuild", lambda self, *a, **k: (calls.append(a), real(self, *a, **k)))
    return calls


def test_a_current_stamp_costs_no_rewrite(tmp_path, rebuilds):
    _written(tmp_path)
    for _ in range(2):
        service = SearchService(tmp_path / "search")
        assert _hits(service, "été") == ["1"]
        service.close()
    assert rebuilds == []


def test_an_unstamped_index_with_documents_is_reanalyzed_once(tmp_path, rebuilds):
    _written(tmp_path)
    for stamp in (tmp_path / "search").rglob(ANALYSIS_STAMP):
        stamp.unlink()  # as an index written before stamps existed
    for _ in range(2):
        service = SearchService(tmp_path / "search")
        assert _hits(service, "été") == ["1"]
        assert service.search("ete", {"search": "*", "count": True, "top": 0})["@odata.count"] == 2
        service.close()
    assert len(rebuilds) == 1


def test_an_empty_index_is_only_stamped(tmp_path, monkeypatch):
    service = SearchService(tmp_path / "search")
    service.create_index(INDEX)
    service.close()
    for stamp in (tmp_path / "search").rglob(ANALYSIS_STAMP):
        stamp.write_text("another analysis\n")
    rebuilds = []
    monkeypatch.setattr(tantivy_engine.TantivyEngine, "_rebuild", lambda self, *a, **k: rebuilds.append(a))
    service = SearchService(tmp_path / "search")
    try:
        assert rebuilds == []
        stamps = list((tmp_path / "search").rglob(ANALYSIS_STAMP))
        assert [s.read_text().strip() for s in stamps] == [fingerprint.index_fingerprint(service.definition("ete"))]
    finally:
        service.close()


def test_an_index_with_index_only_fields_waits_for_its_owner(tmp_path, older_french):
    """Its text is not stored, so only its owner can give it back (conversation search reads the store)."""
    service = SearchService(tmp_path / "search")
    service.create_index(INDEX, internal=True, index_only=("t",))
    service.apply_batch("ete", {"value": DOCS})
    service.close()
    older_french.undo()
    service = SearchService(tmp_path / "search")
    try:
        assert service.needs_reanalysis("ete")
        assert _hits(service, "été") == []  # not rewritten behind its owner's back (the text would be lost)
        texts = {d["id"]: d["t"] for d in DOCS}
        service.compact("ete", lambda sources: [{**s, "t": texts[s["id"]]} for s in sources])
        assert not service.needs_reanalysis("ete")
        assert _hits(service, "été") == ["1"]
    finally:
        service.close()
    service = SearchService(tmp_path / "search")
    try:
        assert not service.needs_reanalysis("ete")
    finally:
        service.close()


def test_the_fingerprint_follows_the_analysis_and_only_it(tmp_path):
    from weft.search.schema import parse_index_definition

    french = parse_index_definition(INDEX)
    same = parse_index_definition({**INDEX, "fields": [dict(f) for f in INDEX["fields"]]})
    assert fingerprint.index_fingerprint(french) == fingerprint.index_fingerprint(same)
    english = parse_index_definition({**INDEX, "fields": [INDEX["fields"][0], {**INDEX["fields"][1], "analyzer": "en.lucene"}, INDEX["fields"][2]]})
    assert fingerprint.index_fingerprint(english) != fingerprint.index_fingerprint(french)
    other_normalizer = parse_index_definition({**INDEX, "fields": [*INDEX["fields"][:2], {**INDEX["fields"][2], "normalizer": "uppercase"}]})
    assert fingerprint.index_fingerprint(other_normalizer) != fingerprint.index_fingerprint(french)
    def paired(search_analyzer):
        text = {"name": "t", "type": "Edm.String", "searchable": True, "indexAnalyzer": "simple", "searchAnalyzer": search_analyzer}
        return parse_index_definition({**INDEX, "fields": [INDEX["fields"][0], text, INDEX["fields"][2]]})

    # query-time analysis is not in the terms: only the index analyzer counts
    assert fingerprint.index_fingerprint(paired("standard.lucene")) == fingerprint.index_fingerprint(paired("keyword"))
    assert fingerprint.index_fingerprint(paired("keyword")) != fingerprint.index_fingerprint(french)
