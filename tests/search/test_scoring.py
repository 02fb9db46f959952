"""The pure parts of scoring profiles: parameter syntax, durations, curves, aggregation, bounds, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weft.errors import InvalidInput
from weft.search.ranking.scoring import (
    ScoringPlan,
    aggregate,
    bounds,
    build_plan,
    curve,
    multipliers_array,
    parse_parameter,
    share,
)
from weft.search.ranking.scoring_profiles import Function, Profile, parse_duration, parse_profiles
from weft.search.ranking.similarity import check_similarity
from weft.search.schema import parse_index_definition

DAY = 86400 * 1_000_000


# ---- scoringParameter syntax ----------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("here--122.123,44.77", ("here", ["-122.123", "44.77"])),
    ("mytags-a,b,'c d'", ("mytags", ["a", "b", "c d"])),
    ("t-'Dave''s, Inc',x", ("t", ["Dave's, Inc", "x"])),
    ("t-''''", ("t", ["'"])),
    ("t-a", ("t", ["a"])),
    ("t-", ("t", [""])),
    ("t- a , b", ("t", ["a", "b"])),
])
def test_parameter_syntax(text, expected):
    assert parse_parameter(text) == expected


@pytest.mark.parametrize("text", ["nodash", "-value", "t-'open", "t-'a'b", 5, None])
def test_malformed_parameters_are_400s(text):
    with pytest.raises(InvalidInput, match="scoringParameter"):
        parse_parameter(text)


@given(st.lists(st.text(alphabet="ab ,'-x", min_size=1), min_size=1, max_size=4))
def test_quoted_values_round_trip(values):
    encoded = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    assert parse_parameter("p-" + encoded) == ("p", values)


# ---- durations --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [
    ("P1D", 86400), ("PT12H", 43200), ("PT15M", 900), ("P2DT12H", 216000), ("P30DT5H10M6.334S", 30 * 86400 + 5 * 3600 + 600 + 6.334),
    ("-P7D", -7 * 86400), ("PT0.5S", 0.5),
])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "365D", "P1Y", "P1M", "1D", "", None, 30])
def test_bad_durations(text):
    assert parse_duration(text) is None


# ---- curves, one function, aggregation --------------------------------------------------------------


def test_curves():
    for interpolation in ("linear", "quadratic", "logarithmic"):
        assert curve(interpolation, 0.0) == 1.0
        assert curve(interpolation, 1.0) == pytest.approx(0.0)
    assert curve("linear", 0.25) == 0.75
    assert curve("quadratic", 0.25) == 0.5625
    assert curve("logarithmic", 0.25) == pytest.approx(1 - math.log10(3.25))
    assert curve("constant", 0.9) == 1.0


def test_freshness_share_matches_the_measured_azure_curve():
    f = Function("freshness", "d", 10.0, "linear", duration_seconds=15 * 86400)
    now = 100 * DAY
    assert share(f, now - 3 * DAY, now, None) == pytest.approx(1 - 3 / 15)
    assert share(f, now - 16 * DAY, now, None) is None  # past the duration: multiplier 1
    assert share(f, now + DAY, now, None) is None  # the future, with a positive duration
    future = Function("freshness", "d", 2.0, "linear", duration_seconds=-10 * 86400)
    assert share(future, now + 4 * DAY, now, None) == pytest.approx(0.6)


def test_magnitude_share():
    f = Function("magnitude", "r", 2.0, "linear", range_start=1, range_end=5)
    assert share(f, 5, 0, None) == 1.0 and share(f, 1, 0, None) == 0.0 and share(f, 4, 0, None) == 0.75
    assert share(f, 6, 0, None) is None and share(f, 0, 0, None) is None
    beyond = Function("magnitude", "r", 2.0, "linear", range_start=1, range_end=5, constant_beyond_range=True)
    assert share(beyond, 60, 0, None) == 1.0 and share(beyond, 0, 0, None) is None
    cheap = Function("magnitude", "price", 2.0, "linear", range_start=100, range_end=0)  # lower is better
    assert share(cheap, 25, 0, None) == 0.75


def test_aggregations():
    ms = [3.0, 1.5]
    assert aggregate("sum", ms) == 3.5
    assert aggregate("average", ms) == 2.25
    assert aggregate("minimum", ms) == 1.5
    assert aggregate("maximum", ms) == 3.0
    assert aggregate("firstMatching", ms) == 3.0
    assert aggregate("product", ms) == 4.5
    assert aggregate("sum", []) == 1.0
    assert aggregate("sum", [0.2, 0.3]) == 0.0  # never negative


functions = st.builds(
    lambda kind, boost, interp, a, b: (
        Function("magnitude", "m", boost, interp, range_start=a, range_end=b if b != a else a + 1, constant_beyond_range=boost > 2)
        if kind == 0 else Function("freshness", "f", boost, interp, duration_seconds=(a or 1) * 86400)
        if kind == 1 else Function("distance", "g", boost, interp, reference_parameter="p", boosting_distance_km=abs(a) + 1)
        if kind == 2 else Function("tag", "t", boost, "constant" if interp == "constant" else "linear", tags_parameter="q")
    ),
    st.integers(0, 3), st.floats(0.05, 20).filter(lambda b: b != 1.0), st.sampled_from(["linear", "constant", "quadratic", "logarithmic"]),
    st.integers(-50, 50), st.integers(-50, 50),
)


def _value(f: Function, draw_value: float):
    if f.type == "magnitude":
        return draw_value
    if f.type == "freshness":
        return int(draw_value * DAY)
    if f.type == "distance":
        return (draw_value % 180, (draw_value % 90))
    return draw_value > 0


@settings(max_examples=300, deadline=None)
@given(st.lists(functions, min_size=1, max_size=8), st.sampled_from(["sum", "average", "minimum", "maximum", "firstMatching", "product"]),
       st.lists(st.one_of(st.none(), st.floats(-60, 60)), min_size=8, max_size=8))
def test_multiplier_stays_within_bounds_and_numpy_agrees(fs, aggregation, raw):
    plan = ScoringPlan(Profile("p", {}, tuple(fs), aggregation), now_micros=0, references={"p": (1.0, 1.0)}, tags={"q": ("x",)})
    values = [None if r is None else _value(f, r) for f, r in zip(fs, raw)]
    m = plan.document_multiplier(values)
    lo, hi = bounds(aggregation, [f.boost for f in fs])
    assert lo - 1e-9 <= m <= hi + 1e-9
    columns = []
    for f, v in zip(fs, values):
        if f.type == "distance":
            columns.append(np.array([(np.nan, np.nan) if v is None else v], dtype=float))
        elif f.type == "tag":
            columns.append(np.array([bool(v)]))
        else:
            columns.append(np.array([np.nan if v is None else v], dtype=float))
    assert multipliers_array(plan, columns)[0] == pytest.approx(m, rel=1e-9, abs=1e-12)


# ---- query-time checks ------------------------------------------------------------------------------

PROFILE = Profile("p", {}, (
    Function("distance", "loc", 2.0, reference_parameter="here", boosting_distance_km=10),
    Function("tag", "tags", 2.0, tags_parameter="mytags"),
))


def test_plan_reads_parameters():
    plan = build_plan(PROFILE, ["here--122.1,47.6", "mytags-a,'b, c'"], 0)
    assert plan.references == {"here": (-122.1, 47.6)} and plan.tags == {"mytags": ("a", "b, c")}


@pytest.mark.parametrize("params,match", [
    ([], "needs the scoring parameter 'here'"),
    (["here--122.1,47.6"], "needs the scoring parameter 'mytags'"),
    (["here-x,1", "mytags-a"], "must be a point"),
    (["here-1", "mytags-a"], "must be a point"),
    (["here-200,1", "mytags-a"], "Longitude"),
    (["here-1,1", "mytags-a", "other-1"], "not used by the scoring profile"),
    (["here-1,1", "here-2,2", "mytags-a"], "more than once"),
    (["here-1,1", "mytags-"], "no tags"),
    ("notalist", "malformed"),
])
def test_parameter_errors(params, match):
    with pytest.raises(InvalidInput, match=match):
        build_plan(PROFILE, params, 0)


# ---- definition-time checks -------------------------------------------------------------------------

FIELDS = [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "title", "type": "Edm.String", "searchable": True},
    {"name": "rating", "type": "Edm.Int32", "filterable": True},
    {"name": "price", "type": "Edm.Double", "filterable": False},
    {"name": "when", "type": "Edm.DateTimeOffset", "filterable": True},
    {"name": "loc", "type": "Edm.GeographyPoint", "filterable": True},
    {"name": "tags", "type": "Collection(Edm.String)", "filterable": True},
    {"name": "ratings", "type": "Collection(Edm.Int32)", "filterable": True},
]


def _index(profiles, **members):
    return parse_index_definition({"name": "ix", "fields": FIELDS, "scoringProfiles": profiles, **members})


def _fn(**kw):
    base = {"type": "magnitude", "fieldName": "rating", "boost": 2, "magnitude": {"boostingRangeStart": 1, "boostingRangeEnd": 5}}
    base.update(kw)
    return base


def test_a_good_profile_parses():
    d = _index([{"name": "sp", "text": {"weights": {"title": 2}}, "functionAggregation": "product", "functions": [
        _fn(), _fn(type="freshness", fieldName="when", interpolation="quadratic", freshness={"boostingDuration": "P30D"}),
        _fn(type="distance", fieldName="loc", distance={"referencePointParameter": "here", "boostingDistance": 10}),
        _fn(type="tag", fieldName="tags", interpolation="constant", tag={"tagsParameter": "t"}),
    ]}], defaultScoringProfile="sp")
    profiles = parse_profiles(d.members, d.leaf)
    assert profiles["sp"].parameters == ("here", "t") and profiles["sp"].aggregation == "product"


@pytest.mark.parametrize("profile,match", [
    ({"name": "sp", "functions": [_fn(fieldName="nope")]}, "does not exist"),
    ({"name": "sp", "functions": [_fn(fieldName="price")]}, "not filterable"),
    ({"name": "sp", "functions": [_fn(fieldName="title")]}, "cannot use the field 'title'"),
    ({"name": "sp", "functions": [_fn(fieldName="ratings")]}, "several values"),
    ({"name": "sp", "functions": [_fn(boost=1)]}, "other than 1.0"),
    ({"name": "sp", "functions": [_fn(boost=0)]}, "positive"),
    ({"name": "sp", "functions": [_fn(boost=-10)]}, "positive"),
    ({"name": "sp", "functions": [_fn(boost="2")]}, "positive"),
    ({"name": "sp", "functions": [_fn(type="Magnitude")]}, "lower case"),
    ({"name": "sp", "functions": [_fn(interpolation="cubic")]}, "interpolation"),
    ({"name": "sp", "functions": [_fn(type="tag", fieldName="tags", interpolation="quadratic", tag={"tagsParameter": "t"})]},
     "linear or constant"),
    ({"name": "sp", "functions": [_fn(magnitude={"boostingRangeStart": 1})]}, "boostingRangeEnd"),
    ({"name": "sp", "functions": [_fn(magnitude={"boostingRangeStart": 1, "boostingRangeEnd": 1})]}, "must not be empty"),
    ({"name": "sp", "functions": [_fn(type="freshness", fieldName="when", freshness={"boostingDuration": "365D"})]}, "boostingDuration"),
    ({"name": "sp", "functions": [_fn(type="freshness", fieldName="when")]}, "'freshness' parameters"),
    ({"name": "sp", "functions": [_fn(type="distance", fieldName="loc", distance={"referencePointParameter": "a-b", "boostingDistance": 1})]},
     "referencePointParameter"),
    ({"name": "sp", "functions": [_fn(type="distance", fieldName="loc", distance={"referencePointParameter": "a", "boostingDistance": 0})]},
     "boostingDistance"),
    ({"name": "sp", "functions": [_fn(type="tag", fieldName="tags", tag={})]}, "tagsParameter"),
    ({"name": "sp", "functions": [_fn()] * 9}, "limit is 8"),
    ({"name": "sp", "functionAggregation": "median", "functions": [_fn()]}, "functionAggregation"),
    ({"name": "sp", "text": {"weights": {"rating": 2}}}, "not a searchable field"),
    ({"name": "sp", "text": {"weights": {"title": 0}}}, "positive"),
    ({"name": "azureSearchX"}, "invalid"),
    ({"name": "1sp"}, "invalid"),
])
def test_bad_profiles_are_400s(profile, match):
    with pytest.raises(InvalidInput, match=match):
        _index([profile])


def test_duplicate_profiles_and_dangling_default():
    with pytest.raises(InvalidInput, match="more than once"):
        _index([{"name": "sp"}, {"name": "sp"}])
    with pytest.raises(InvalidInput, match="defaultScoringProfile"):
        _index([{"name": "sp"}], defaultScoringProfile="other")
    with pytest.raises(InvalidInput, match="defaultScoringProfile"):
        _index([{"name": "sp"}], defaultScoringProfile=["sp"])
    for bad in ([{"name": "sp", "text": []}], [{"name": "sp", "functions": [{"type": ["tag"]}]}], [{"name": "sp", "functions": "x"}],
                [{"name": "sp", "functionAggregation": ["sum"]}], [{"name": "sp", "functions": [_fn(interpolation={"a": 1})]}], "x"):
        with pytest.raises(InvalidInput):
            _index(bad)


# ---- similarity -------------------------------------------------------------------------------------


@pytest.mark.parametrize("similarity", [
    None, {"@odata.type": "#Microsoft.Azure.Search.BM25Similarity"},
    {"@odata.type": "#Microsoft.Azure.Search.BM25Similarity", "k1": 1.2, "b": 0.75},
    {"@odata.type": "#Microsoft.Azure.Search.BM25Similarity", "k1": None, "b": None},
])
def test_similarity_accepted_when_it_is_what_tantivy_does(similarity):
    check_similarity(similarity)


@pytest.mark.parametrize("similarity,member", [
    ({"@odata.type": "#Microsoft.Azure.Search.BM25Similarity", "k1": 2.0}, "similarity.k1"),
    ({"@odata.type": "#Microsoft.Azure.Search.BM25Similarity", "b": 0.3}, "similarity.b"),
    ({"@odata.type": "#Microsoft.Azure.Search.BM25Similarity", "b": "x"}, "similarity.b"),
    ({"@odata.type": "#Microsoft.Azure.Search.ClassicSimilarity"}, "similarity"),
    ({"@odata.type": "#Other"}, "similarity"),
    ("BM25", "similarity"),
])
def test_similarity_refused_otherwise(similarity, member):
    with pytest.raises(InvalidInput, match=f"Parameter name: {member}"):
        check_similarity(similarity)
