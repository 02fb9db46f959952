"""Autocomplete's twoTerms, oneTermWithContext, fuzzy and filtered modes are exact over an index whose matching
documents are far more than the 1,000 weft used to read: the expected answer is counted here over every document
(tokenised by the same analyzer, counted by the pure count_candidates), and the documents that decide it come after
the first 1,000 matches. When the time budget runs out, the answer says how much it covers (@search.coverage) and
a minimumCoverage it cannot reach is a 503."""
from __future__ import annotations

import pytest

from weft.errors import Unavailable
from weft.search import autocomplete
from weft.search.analysis import resolve
from weft.search.service import SearchService

N_FIRST, N_LATER = 1200, 2400


def _docs():
    first = [{"id": f"a{i}", "text": f"washington medicaid coverage note{i % 7}", "group": "a"} for i in range(N_FIRST)]
    later = [{"id": f"b{i}", "text": f"washington medicare plan memo{i % 5}" if i % 3 else f"ohio medicine cabinet {i % 4}",
              "group": "b" if i % 2 else "c"} for i in range(N_LATER)]
    return first + later


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    s = SearchService(tmp_path_factory.mktemp("ac") / "search")
    s.create_index({"name": "ac", "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "text", "type": "Edm.String", "searchable": True},
        {"name": "group", "type": "Edm.String", "filterable": True},
    ], "suggesters": [{"name": "sg", "searchMode": "analyzingInfixMatching", "sourceFields": ["text"]}]})
    docs = _docs()
    for i in range(0, len(docs), 1000):  # the first uploaded come first in tantivy's (constant-score) order
        s.apply_batch("ac", {"value": docs[i:i + 1000]})
    yield s
    s.close()


def brute(service, mode, words, fuzzy=False, keep=lambda d: True, top=5):
    analyzer = resolve(service.definition("ac"), "standard.lucene")
    partial = words[-1]
    context = words[-2] if mode == "oneTermWithContext" and len(words) > 1 else None
    streams = ([[(t.term, t.pos) for t in analyzer.tokens(d["text"])]] for d in _docs() if keep(d))
    counts = autocomplete.count_candidates(streams, mode, partial, fuzzy, context)
    return [(t, counts[t]) for t in autocomplete.ranked(counts, top)]


def texts(service, **body):
    return [v["text"] for v in service.autocomplete("ac", {"suggesterName": "sg", **body})["value"]]


@pytest.mark.parametrize("body, mode, words, fuzzy, keep", [
    ({"search": "medic", "autocompleteMode": "twoTerms"}, "twoTerms", ["medic"], False, None),
    ({"search": "washington medic", "autocompleteMode": "oneTermWithContext"}, "oneTermWithContext", ["washington", "medic"], False, None),
    ({"search": "medjc", "fuzzy": True}, "oneTerm", ["medjc"], True, None),
    ({"search": "medic", "autocompleteMode": "twoTerms", "fuzzy": True, "filter": "group ne 'c'"}, "twoTerms", ["medic"], True,
     lambda d: d["group"] != "c"),
    ({"search": "medic", "filter": "group eq 'a' or group eq 'c'"}, "oneTerm", ["medic"], False, lambda d: d["group"] in ("a", "c")),
    ({"search": "medic", "filter": "search.ismatch('memo1', 'text')"}, "oneTerm", ["medic"], False, lambda d: "memo1" in d["text"]),
])
def test_exact_over_every_matching_document(service, body, mode, words, fuzzy, keep):
    want = brute(service, mode, words, fuzzy, keep or (lambda d: True))
    got = texts(service, **body)
    assert got == [t for t, _ in want]
    # the documents after the first 1,000 matches decide it: the first 1,000 alone would rank medicaid first
    assert not got[0].startswith("medicaid") or keep is not None
    assert service.autocomplete("ac", {"suggesterName": "sg", **body})["@search.coverage"] is None


def test_matches_past_the_old_scan_limit_are_counted(service):
    assert sum(1 for d in _docs() if "medic" in d["text"]) > 3000
    assert texts(service, search="medic", autocompleteMode="twoTerms", top=3) == ["medicare plan", "medicaid coverage", "medicine cabinet"]


def test_the_time_budget_reports_its_coverage(service, monkeypatch):
    monkeypatch.setattr(autocomplete, "TIME_BUDGET_SECONDS", 0.0)  # one chunk of 1,000 documents, then stop
    total = sum(1 for d in _docs() if "medic" in d["text"])
    answer = service.autocomplete("ac", {"suggesterName": "sg", "search": "medic", "autocompleteMode": "twoTerms", "minimumCoverage": 10})
    assert answer["@search.coverage"] == pytest.approx(100.0 * 1000 / total, abs=0.01)
    with pytest.raises(Unavailable, match="minimumCoverage of 80"):
        service.autocomplete("ac", {"suggesterName": "sg", "search": "medic", "autocompleteMode": "twoTerms"})
