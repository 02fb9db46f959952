"""The exact top-k under a scoring profile when the window's bound comes from the index's own value range.

Every expectation is the brute-force answer: all matches (ranked without the profile, their BM25 scores) are
rescored by the scalar formula (:meth:`ScoringPlan.document_multiplier`, itself tested against docs/ranking.md
in test_scoring.py) and sorted. The corpora put the documents that should win far below tantivy's first BM25
window, and then change the index after the value range was cached (a newer date, a smaller number) so that a
stale range would stop the window too early.
"""
from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings, strategies as st

from weft.search.engine import tantivy_scoring
from weft.search.ranking.scoring import ScoringPlan, share
from weft.search.ranking.scoring_profiles import Function, Profile
from weft.search.service import SearchService

N = 1200  # > FIRST_WINDOW, so the window has to grow
DAY = 86400.0
NOW = dt.datetime.now(dt.timezone.utc)


def _iso(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _profile(*functions, aggregation="sum"):
    return {"name": "p", "functionAggregation": aggregation, "functions": list(functions)}


FRESH = {"type": "freshness", "fieldName": "created", "boost": 3, "interpolation": "linear",
         "freshness": {"boostingDuration": "P3000D"}}
CHEAP = {"type": "magnitude", "fieldName": "price", "boost": 4, "interpolation": "quadratic",
         "magnitude": {"boostingRangeStart": 100, "boostingRangeEnd": 0}}  # cheaper is better
FUTURE = {"type": "freshness", "fieldName": "created", "boost": 5, "interpolation": "logarithmic",
          "freshness": {"boostingDuration": "-P400D"}}  # boosts dates up to 400 days ahead
HEAVY = {"type": "magnitude", "fieldName": "weight", "boost": 6, "interpolation": "linear",
         "magnitude": {"boostingRangeStart": 0, "boostingRangeEnd": 50, "constantBoostBeyondRange": True}}


def _definition(name, profile):
    return {"name": name, "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "text", "type": "Edm.String", "searchable": True},
        {"name": "created", "type": "Edm.DateTimeOffset", "filterable": True},
        {"name": "price", "type": "Edm.Double", "filterable": True},
        {"name": "weight", "type": "Edm.Int32", "filterable": True},
    ], "scoringProfiles": [profile]}


def _doc(i, created_days, price, weight):
    # the longer the text, the lower its BM25 score for 'widget'
    return {"id": f"d{i:05d}", "text": "widget " + "filler " * (i % 40), "created": _iso(created_days),
            "price": price, "weight": weight}


@pytest.fixture
def service(tmp_path):
    s = SearchService(tmp_path / "search")
    yield s
    s.close()


def _brute(service, name, profile_json, k):
    everything = service.search(name, {"search": "widget", "top": 100000, "select": "id,created,price,weight"})["value"]
    profile = Profile("p", {}, tuple(_function(f) for f in profile_json["functions"]), profile_json["functionAggregation"])
    plan = ScoringPlan(profile, int(dt.datetime.now(dt.timezone.utc).timestamp() * 1e6), {}, {})
    rescored = []
    for doc in everything:
        values = []
        for f in profile.functions:
            v = doc.get(f.field)
            if f.type == "freshness" and v is not None:
                v = int(dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() * 1e6)
            values.append(v)
        rescored.append((doc["@search.score"] * plan.document_multiplier(values), doc["id"]))
    rescored.sort(key=lambda t: -t[0])
    return rescored[:k]


def _function(f):
    """The function as weft's definition parser reads it (durations, ranges, defaults)."""
    from types import SimpleNamespace

    from weft.search.ranking.scoring_profiles import parse_profiles

    types = {"created": "Edm.DateTimeOffset", "price": "Edm.Double", "weight": "Edm.Int32"}

    def leaf(path):
        return SimpleNamespace(type=types[path], in_collection=False, field=SimpleNamespace(type=types[path], filterable=True))

    return parse_profiles({"scoringProfiles": [{"name": "x", "functions": [f]}]}, leaf)["x"].functions[0]


def _upload(service, name, docs):
    for i in range(0, len(docs), 1000):
        service.apply_batch(name, {"value": docs[i:i + 1000]})


def _profiled(service, name, k):
    got = service.search(name, {"search": "widget", "top": k, "select": "id", "scoringProfile": "p"})["value"]
    return [(r["@search.score"], r["id"]) for r in got]


def _same(got, want):
    assert [i for _, i in got] == [i for _, i in want]
    assert [s for s, _ in got] == pytest.approx([s for s, _ in want], rel=1e-6)  # "now" moves between the two requests


@pytest.fixture
def uppers(monkeypatch):
    seen = []
    real = tantivy_scoring.snapshot_upper

    def spy(search):
        value = real(search)
        seen.append((value, search.q.scoring.upper))
        return value

    monkeypatch.setattr(tantivy_scoring, "snapshot_upper", spy)
    return seen


def test_old_catalogue_newer_item_after_the_range_was_cached(service, uppers):
    profile = _profile(FRESH, CHEAP)
    service.create_index(_definition("old", profile))
    rng = random.Random(1)
    docs = [_doc(i, 2000 + rng.random() * 900, 60 + rng.random() * 40, 1) for i in range(N)]
    _upload(service, "old", docs)
    _same(_profiled(service, "old", 5), _brute(service, "old", profile, 5))
    tight, loose = uppers[-1]
    assert tight < loose * 0.6  # the newest item is >5 years old and the cheapest costs 60: far below 3 + 4 - 1
    # a newer item and a cheaper one, both deep in the BM25 order: the cached range no longer holds them
    service.apply_batch("old", {"value": [_doc(N + 10, 1, 80, 1), _doc(N + 59, 2500, 1, 1)]})  # texts of i % 40 = 10, 19
    want = _brute(service, "old", profile, 5)
    assert {"d01210", "d01259"} <= {i for _, i in want}
    _same(_profiled(service, "old", 5), want)
    assert uppers[-1][0] > tight
    # deleting them leaves a looser (still safe) range; the answer stays exact
    service.apply_batch("old", {"value": [{"@search.action": "delete", "id": "d01210"}, {"@search.action": "delete", "id": "d01259"}]})
    _same(_profiled(service, "old", 5), _brute(service, "old", profile, 5))


@pytest.mark.parametrize("aggregation", ["sum", "average", "minimum", "maximum", "firstMatching", "product"])
def test_future_dates_and_constant_beyond_range(service, aggregation):
    profile = _profile(FUTURE, HEAVY, aggregation=aggregation)
    name = f"fut-{aggregation.lower()}"
    service.create_index(_definition(name, profile))
    rng = random.Random(2)
    # future dates 300-1000 days ahead (mostly out of the 400-day window), weights 0-30 (under the range end)
    docs = [_doc(i, -300 - rng.random() * 700, 10.0, rng.randrange(0, 30)) for i in range(N)]
    docs[N - 21] = _doc(N - 21, -301, 10.0, 0)  # deep, nearly the best date
    docs[N - 3] = _doc(N - 3, -900, 10.0, 29)  # deep, the heaviest
    _upload(service, name, docs)
    _same(_profiled(service, name, 7), _brute(service, name, profile, 7))
    service.apply_batch(name, {"value": [_doc(N + 25, -0.5, 10.0, 0), _doc(N + 33, -900, 10.0, 400)]})  # beyond the cached ranges
    want = _brute(service, name, profile, 7)
    _same(_profiled(service, name, 7), want)


def test_random_corpora_match_brute_force(service):
    rng = random.Random(3)
    for round_ in range(3):
        fs = [dict(FRESH, boost=rng.choice([1.5, 3, 10]), interpolation=rng.choice(["linear", "constant", "quadratic", "logarithmic"])),
              dict(CHEAP, boost=rng.choice([0.5, 2, 8]), interpolation=rng.choice(["linear", "constant", "quadratic", "logarithmic"]))]
        profile = _profile(*fs, aggregation=rng.choice(["sum", "average", "minimum", "maximum", "firstMatching", "product"]))
        name = f"rnd{round_}"
        service.create_index(_definition(name, profile))
        age = rng.choice([100, 2000, 2990])
        docs = [_doc(i, age + rng.random() * 500, rng.random() * 150, 1) for i in range(N)]
        _upload(service, name, docs)
        for k in (1, 10):
            _same(_profiled(service, name, k), _brute(service, name, profile, k))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["magnitude", "freshness"]),
       interpolation=st.sampled_from(["linear", "constant", "quadratic", "logarithmic"]),
       start=st.floats(-100, 100), end=st.floats(-100, 100), constant=st.booleans(),
       duration_days=st.floats(-1000, 1000).filter(lambda d: abs(d) > 1e-3),
       a=st.floats(-300, 300), b=st.floats(-300, 300))
def test_largest_share_is_an_upper_bound(kind, interpolation, start, end, constant, duration_days, a, b):
    if kind == "magnitude" and abs(end - start) < 1e-6:
        return
    function = Function(kind, "x", 2.0, interpolation, start, end, constant, duration_days * DAY)
    now = 1_700_000_000_000_000
    plan = ScoringPlan(Profile("p", {}, (function,)), now, {}, {})
    lo, hi = sorted((a, b))
    values = [lo + (hi - lo) * j / 200 for j in range(201)]
    if kind == "freshness":  # dates are whole microseconds
        values = [int(now + v * DAY * 1e6) for v in values]
    top = tantivy_scoring._largest_share(function, plan, values[0], values[-1])
    shares = [share(function, v, now, None) for v in values]
    applying = [s for s in shares if s is not None]
    if top is None:
        assert not applying
    else:
        assert all(s <= top + 1e-12 for s in applying)
