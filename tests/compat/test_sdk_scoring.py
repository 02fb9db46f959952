"""Scoring profiles and similarity through the official azure-search-documents SDK against a live `weft serve`.

A retail catalogue whose profiles boost fresh, in-stock, nearby and tagged items. Every expectation is
recomputed here from docs/ranking.md's formulas (written out again below, not imported from weft):
final = text score x aggregate(1 + (boost - 1) x curve(t)) over the functions that apply.
"""
from __future__ import annotations

import datetime as dt
import math
import uuid

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    BM25SimilarityAlgorithm,
    ClassicSimilarityAlgorithm,
    DistanceScoringFunction,
    DistanceScoringParameters,
    FreshnessScoringFunction,
    FreshnessScoringParameters,
    MagnitudeScoringFunction,
    MagnitudeScoringParameters,
    ScoringProfile,
    SearchableField,
    SearchFieldDataType,
    SearchIndex,
    SimpleField,
    TagScoringFunction,
    TagScoringParameters,
    TextWeights,
)

NOW = dt.datetime.now(dt.timezone.utc)
HOME = (-122.12, 47.67)  # lon, lat
INTERPOLATIONS = ("linear", "constant", "quadratic", "logarithmic")
AGGREGATIONS = ("sum", "average", "minimum", "maximum", "firstMatching", "product")
EARTH_KM = 6371.0088


def _iso(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _product(i: int) -> dict:
    words = " ".join(["widget"] * (1 + i % 3) + ["filler"] * (i % 5))  # varied text scores
    return {
        "id": f"p{i:02d}",
        "name": f"widget {i}",
        "description": words,
        "stock": [0, 1, 3, 7, 12, 40][i % 6],
        "added": _iso([0.5, 2, 5, 9, 14, 20, 29, 45, 100][i % 9]) if i % 11 else None,
        "store": {"type": "Point", "coordinates": [HOME[0] + 0.05 * (i % 7), HOME[1] + 0.03 * (i % 4)]} if i % 13 else None,
        "labels": [["sale"], ["new", "sale"], [], ["clearance"], ["new"]][i % 5],
    }


PRODUCTS = [_product(i) for i in range(40)]


# ---- the reference formulas (docs/ranking.md), written out independently ----------------------------


def curve(interpolation: str, t: float) -> float:
    return {"linear": 1 - t, "constant": 1.0, "quadratic": (1 - t) ** 2, "logarithmic": 1 - math.log10(1 + 9 * t)}[interpolation]


def km(a, b) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def function_multiplier(spec: dict, doc: dict, tags: tuple[str, ...] = ()) -> float | None:
    kind, boost, interp = spec["type"], spec["boost"], spec.get("interpolation", "linear")
    if kind == "magnitude":
        v = doc[spec["field"]]
        x = (v - spec["start"]) / (spec["end"] - spec["start"])
        if x < 0 or (x > 1 and not spec.get("beyond")):
            return None
        s = 1.0 if x > 1 else curve(interp, 1 - x)
    elif kind == "freshness":
        if doc["added"] is None:
            return None
        age = (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(doc["added"].replace("Z", "+00:00"))).total_seconds()
        t = age / (spec["days"] * 86400)
        if not 0 <= t <= 1:
            return None
        s = curve(interp, t)
    elif kind == "distance":
        if doc["store"] is None:
            return None
        t = km(doc["store"]["coordinates"], HOME) / spec["km"]
        if t > 1:
            return None
        s = curve(interp, t)
    else:
        if not set(doc["labels"]) & set(tags):
            return None
        s = 1.0
    return 1 + (boost - 1) * s


def aggregate(name: str, ms: list[float]) -> float:
    if not ms:
        return 1.0
    return {
        "sum": lambda: max(0.0, 1 + sum(m - 1 for m in ms)),
        "average": lambda: sum(ms) / len(ms),
        "minimum": lambda: min(ms),
        "maximum": lambda: max(ms),
        "firstMatching": lambda: ms[0],
        "product": lambda: math.prod(ms),
    }[name]()


# ---- the SDK objects ---------------------------------------------------------------------------------


def sdk_function(spec: dict):
    interp = spec.get("interpolation")
    if spec["type"] == "magnitude":
        return MagnitudeScoringFunction(field_name=spec["field"], boost=spec["boost"], interpolation=interp,
                                        parameters=MagnitudeScoringParameters(boosting_range_start=spec["start"], boosting_range_end=spec["end"],
                                                                              should_boost_beyond_range_by_constant=spec.get("beyond")))
    if spec["type"] == "freshness":
        return FreshnessScoringFunction(field_name="added", boost=spec["boost"], interpolation=interp,
                                        parameters=FreshnessScoringParameters(boosting_duration=dt.timedelta(days=spec["days"])))
    if spec["type"] == "distance":
        return DistanceScoringFunction(field_name="store", boost=spec["boost"], interpolation=interp,
                                       parameters=DistanceScoringParameters(reference_point_parameter="here", boosting_distance=spec["km"]))
    return TagScoringFunction(field_name="labels", boost=spec["boost"], interpolation=interp,
                              parameters=TagScoringParameters(tags_parameter="wanted"))


FRESH = {"type": "freshness", "boost": 3.0, "days": 30}
IN_STOCK = {"type": "magnitude", "field": "stock", "boost": 2.0, "start": 0, "end": 10}
PROFILES: dict[str, list[dict]] = {}
for _interp in INTERPOLATIONS:
    PROFILES[f"mag_{_interp}"] = [dict(IN_STOCK, interpolation=_interp)]
    PROFILES[f"fresh_{_interp}"] = [dict(FRESH, interpolation=_interp)]
    PROFILES[f"near_{_interp}"] = [{"type": "distance", "boost": 4.0, "km": 15, "interpolation": _interp}]
for _interp in ("linear", "constant"):
    PROFILES[f"tag_{_interp}"] = [{"type": "tag", "boost": 2.5, "interpolation": _interp}]
PROFILES["mag_beyond"] = [dict(IN_STOCK, beyond=True)]
PROFILES["mag_reverse"] = [dict(IN_STOCK, boost=0.5)]  # a boost below 1 pushes in-stock items down
PROFILES["cheap_first"] = [{"type": "magnitude", "field": "stock", "boost": 3.0, "start": 40, "end": 0}]  # the end is the strong end
AGG_FUNCTIONS = [FRESH, dict(IN_STOCK, beyond=True), {"type": "tag", "boost": 1.5}]
AGGREGATION = {f"agg_{a}": a for a in AGGREGATIONS}
TAGS = ("new", "clearance")


def _index(name: str, default: str | None = None) -> SearchIndex:
    profiles = [ScoringProfile(name=n, functions=[sdk_function(s) for s in specs]) for n, specs in PROFILES.items()]
    profiles += [ScoringProfile(name=n, functions=[sdk_function(s) for s in AGG_FUNCTIONS], function_aggregation=a)
                 for n, a in AGGREGATION.items()]
    profiles.append(ScoringProfile(name="weighted_fresh", text_weights=TextWeights(weights={"name": 3.0}),
                                   functions=[sdk_function(FRESH)]))
    return SearchIndex(
        name=name,
        fields=[
            SimpleField(name="id", type=SearchFieldDataType.String, key=True, filterable=True),
            SearchableField(name="name"),
            SearchableField(name="description"),
            SimpleField(name="stock", type=SearchFieldDataType.Int32, filterable=True, sortable=True),
            SimpleField(name="added", type=SearchFieldDataType.DateTimeOffset, filterable=True),
            SimpleField(name="store", type=SearchFieldDataType.GeographyPoint, filterable=True),
            SearchableField(name="labels", collection=True, filterable=True, facetable=True),
        ],
        scoring_profiles=profiles,
        default_scoring_profile=default,
    )


@pytest.fixture(scope="module")
def shop(server):
    name = f"shop-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(_index(name))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    assert all(r.succeeded for r in client.upload_documents(PRODUCTS))
    yield client
    index_client.delete_index(name)


def _base_scores(client, text="widget") -> dict[str, float]:
    return {r["id"]: r["@search.score"] for r in client.search(search_text=text, top=1000)}


def _params(specs) -> list[str]:
    out = []
    if any(s["type"] == "distance" for s in specs):
        out.append(f"here-{HOME[0]},{HOME[1]}")
    if any(s["type"] == "tag" for s in specs):
        out.append("wanted-" + ",".join(TAGS))
    return out


def _expected(base: dict[str, float], specs, aggregation="sum") -> dict[str, float]:
    docs = {d["id"]: d for d in PRODUCTS}
    out = {}
    for key, score in base.items():
        ms = [m for m in (function_multiplier(s, docs[key], TAGS) for s in specs) if m is not None]
        out[key] = score * aggregate(aggregation, ms)
    return out


def _check(results: list[dict], expected: dict[str, float]) -> None:
    got = [(r["id"], r["@search.score"]) for r in results]
    assert len(got) == len(expected)
    for key, score in got:
        assert score == pytest.approx(expected[key], rel=1e-4), key
    scores = [s for _, s in got]
    assert scores == sorted(scores, reverse=True)
    # the order is the documented one: no document with a clearly higher expected score comes later
    for i, (key, _) in enumerate(got):
        for later, _ in got[i + 1 :]:
            assert expected[later] <= expected[key] * (1 + 1e-4)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_function_and_interpolation_reorders_as_documented(shop, profile):
    base = _base_scores(shop)
    specs = PROFILES[profile]
    results = list(shop.search(search_text="widget", scoring_profile=profile, scoring_parameters=_params(specs) or None, top=1000))
    expected = _expected(base, specs)
    _check(results, expected)
    assert [r["id"] for r in results] != sorted(base, key=lambda k: -base[k])  # the profile changed the order


@pytest.mark.parametrize("profile", sorted(AGGREGATION))
def test_each_aggregation(shop, profile):
    base = _base_scores(shop)
    results = list(shop.search(search_text="widget", scoring_profile=profile, scoring_parameters=_params(AGG_FUNCTIONS), top=1000))
    _check(results, _expected(base, AGG_FUNCTIONS, AGGREGATION[profile]))


def test_the_aggregations_differ(shop):
    firsts = {}
    for profile in AGGREGATION:
        results = list(shop.search(search_text="widget", scoring_profile=profile, scoring_parameters=_params(AGG_FUNCTIONS), top=1000))
        firsts[profile] = tuple(round(r["@search.score"], 6) for r in results)
    assert len(set(firsts.values())) == len(AGGREGATION)


def test_fresh_and_in_stock_items_come_first(shop):
    specs = [FRESH, dict(IN_STOCK, beyond=True)]
    top = list(shop.search(search_text="widget", scoring_profile="agg_product", scoring_parameters=_params(AGG_FUNCTIONS), top=5))
    docs = {d["id"]: d for d in PRODUCTS}
    for r in top:
        assert docs[r["id"]]["stock"] > 0 and function_multiplier(specs[0], docs[r["id"]]) is not None


def test_paging_count_and_facets_follow_the_profile(shop):
    kw = dict(search_text="widget", scoring_profile="fresh_linear")
    whole = [r["id"] for r in shop.search(top=1000, **kw)]
    paged = []
    for skip in range(0, 40, 7):
        paged += [r["id"] for r in shop.search(skip=skip, top=7, **kw)]
    assert paged == whole
    results = shop.search(include_total_count=True, facets=["labels"], top=3, highlight_fields="description", **kw)
    plain = shop.search(search_text="widget", include_total_count=True, facets=["labels"], top=3)
    page = list(results)
    assert results.get_count() == plain.get_count() == 40
    assert results.get_facets() == plain.get_facets()
    assert [r["id"] for r in page] == whole[:3]
    assert all("<em>widget</em>" in r["@search.highlights"]["description"][0] for r in page)


def test_filters_that_need_the_stored_documents_still_rescore(shop):
    # a string range is checked on the stored documents (the inexact path)
    base = _base_scores(shop)
    flt = "id ge 'p10'"
    results = list(shop.search(search_text="widget", filter=flt, scoring_profile="fresh_quadratic", top=1000))
    expected = {k: v for k, v in _expected(base, PROFILES["fresh_quadratic"]).items() if k >= "p10"}
    _check(results, expected)


def test_orderby_with_a_profile_uses_the_final_score(shop):
    results = list(shop.search(search_text="widget", scoring_profile="mag_linear", order_by=["stock desc", "search.score() desc"], top=1000))
    expected = _expected(_base_scores(shop), PROFILES["mag_linear"])
    docs = {d["id"]: d for d in PRODUCTS}
    keys = [(-docs[r["id"]]["stock"], -r["@search.score"]) for r in results]
    assert keys == sorted(keys)
    for r in results:
        assert r["@search.score"] == pytest.approx(expected[r["id"]], rel=1e-4)


def test_match_all_scores_are_the_multipliers(shop):
    results = list(shop.search(search_text="*", scoring_profile="mag_beyond", top=1000))
    docs = {d["id"]: d for d in PRODUCTS}
    for r in results:
        m = function_multiplier(PROFILES["mag_beyond"][0], docs[r["id"]]) or 1.0
        assert r["@search.score"] == pytest.approx(m)


def test_text_weights_and_functions_together(shop):
    weighted = _base_scores(shop)  # without the profile: no weight
    results = list(shop.search(search_text="widget", scoring_profile="weighted_fresh", top=1000))
    assert {r["id"] for r in results} == set(weighted)
    # the name weight alone changes the text score, so compare against the weights-only ranking
    assert results[0]["@search.score"] > max(weighted.values())


def test_exact_top_k_past_the_first_window(server):
    """The best boosted document sits far down the BM25 ranking: the window must grow until it is found."""
    name = f"deep-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    profile = ScoringProfile(name="boost", functions=[sdk_function({"type": "magnitude", "field": "stock", "boost": 50.0, "start": 0, "end": 1})])
    index_client.create_index(SearchIndex(name=name, fields=_index(name).fields, scoring_profiles=[profile]))
    try:
        client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
        docs = [{"id": f"d{i:03d}", "description": "widget " + "filler " * (i % 40), "stock": 1 if i in (299, 150) else 0,
                 "labels": []} for i in range(300)]
        assert all(r.succeeded for r in client.upload_documents(docs))
        base = _base_scores(client)
        expected = {k: v * (50.0 if k in ("d299", "d150") else 1.0) for k, v in base.items()}
        want = sorted(expected, key=lambda k: -expected[k])[:5]
        got = [r["id"] for r in client.search(search_text="widget", scoring_profile="boost", top=5)]
        assert got[:2] == want[:2] and set(got[:2]) == {"d299", "d150"}
        for skip in (0, 5, 100):
            page = [r["@search.score"] for r in client.search(search_text="widget", scoring_profile="boost", skip=skip, top=5)]
            assert page == pytest.approx([expected[k] for k in sorted(expected, key=lambda k: -expected[k])[skip : skip + 5]], rel=1e-5)
    finally:
        index_client.delete_index(name)


# ---- defaultScoringProfile -------------------------------------------------------------------------------


def test_default_scoring_profile(server):
    name = f"dflt-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(_index(name, default="fresh_linear"))
    try:
        assert index_client.get_index(name).default_scoring_profile == "fresh_linear"
        client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
        assert all(r.succeeded for r in client.upload_documents(PRODUCTS))
        defaulted = [(r["id"], r["@search.score"]) for r in client.search(search_text="widget", top=1000)]
        named = [(r["id"], r["@search.score"]) for r in client.search(search_text="widget", scoring_profile="fresh_linear", top=1000)]
        other = [(r["id"], r["@search.score"]) for r in client.search(search_text="widget", scoring_profile="mag_linear", top=1000)]
        # freshness moves with the clock between two requests, so scores agree to a few digits
        assert [k for k, _ in defaulted] == [k for k, _ in named] != [k for k, _ in other]
        assert [s for _, s in defaulted] == pytest.approx([s for _, s in named], rel=1e-6)
    finally:
        index_client.delete_index(name)


def test_default_profile_must_exist(server):
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    with pytest.raises(HttpResponseError) as err:
        index_client.create_index(_index(f"bad-{uuid.uuid4().hex[:6]}", default="nope"))
    assert err.value.status_code == 400 and "nope" in str(err.value)


# ---- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw,text", [
    ({"scoring_profile": "missing"}, "Unknown scoring profile 'missing'"),
    ({"scoring_profile": "near_linear"}, "needs the scoring parameter 'here'"),
    ({"scoring_profile": "near_linear", "scoring_parameters": ["here-abc,1"]}, "must be a point"),
    ({"scoring_profile": "near_linear", "scoring_parameters": ["here"]}, "malformed"),
    ({"scoring_profile": "tag_linear"}, "needs the scoring parameter 'wanted'"),
    ({"scoring_profile": "mag_linear", "scoring_parameters": ["here-1,2"]}, "not used by the scoring profile"),
    ({"scoring_parameters": ["here-1,2"]}, "names no scoring profile"),
    ({"scoring_profile": "mag_linear", "scoring_statistics": "everywhere"}, "scoringStatistics"),
])
def test_query_errors_are_sdk_exceptions(shop, kw, text):
    with pytest.raises(HttpResponseError) as err:
        list(shop.search(search_text="widget", **kw))
    assert err.value.status_code == 400 and text in str(err.value)


def test_scoring_statistics_both_values_serve(shop):
    local = [(r["id"], r["@search.score"]) for r in shop.search(search_text="widget", scoring_statistics="local", top=1000)]
    glob = [(r["id"], r["@search.score"]) for r in shop.search(search_text="widget", scoring_statistics="global", top=1000)]
    assert local == glob and len(local) == 40  # one node holds every document: local statistics are the global ones


def test_get_with_repeated_scoring_parameter(server, shop):
    url = f"{server.endpoint}/indexes/{shop._config.index_name}/docs"
    params = [("api-version", "2025-09-01"), ("search", "widget"), ("scoringProfile", "agg_sum"), ("$top", "1000"),
              ("scoringParameter", "wanted-" + TAGS[0]), ("scoringParameter", "here-1,2")]
    r = httpx.get(url, params=params, headers={"api-key": server.admin_key})  # two: 'here' is not the profile's
    assert r.status_code == 400 and "'here' is not used" in r.json()["error"]["message"]
    params = params[:-2] + [("scoringParameter", "wanted-" + ",".join(TAGS))]
    r = httpx.get(url, params=params, headers={"api-key": server.admin_key})
    assert r.status_code == 200, r.text
    posted = list(shop.search(search_text="widget", scoring_profile="agg_sum", scoring_parameters=_params(AGG_FUNCTIONS), top=1000))
    assert [v["id"] for v in r.json()["value"]] == [v["id"] for v in posted]
    assert [v["@search.score"] for v in r.json()["value"]] == pytest.approx([v["@search.score"] for v in posted], rel=1e-6)
    bad = httpx.get(url, params=params[:-1], headers={"api-key": server.admin_key})
    assert bad.status_code == 400 and set(bad.json()["error"]) >= {"code", "message"}


def test_quoted_tag_values(server):
    name = f"tags-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(SearchIndex(name=name, fields=_index(name).fields, scoring_profiles=[
        ScoringProfile(name="t", functions=[sdk_function({"type": "tag", "boost": 4.0})])]))
    try:
        client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
        client.upload_documents([{"id": "a", "description": "widget", "labels": ["Dave's, Inc"]},
                                 {"id": "b", "description": "widget", "labels": ["other"]}])
        results = list(client.search(search_text="widget", scoring_profile="t", scoring_parameters=["wanted-'Dave''s, Inc'"]))
        assert [r["id"] for r in results] == ["a", "b"]
        assert results[0]["@search.score"] == pytest.approx(4 * results[1]["@search.score"])
    finally:
        index_client.delete_index(name)


@pytest.mark.parametrize("function,text", [
    (MagnitudeScoringFunction(field_name="nope", boost=2, parameters=MagnitudeScoringParameters(boosting_range_start=0, boosting_range_end=1)),
     "does not exist"),
    (MagnitudeScoringFunction(field_name="description", boost=2, parameters=MagnitudeScoringParameters(boosting_range_start=0, boosting_range_end=1)),
     "cannot use the field"),
    (MagnitudeScoringFunction(field_name="stock", boost=1, parameters=MagnitudeScoringParameters(boosting_range_start=0, boosting_range_end=1)),
     "other than 1.0"),
    (DistanceScoringFunction(field_name="added", boost=2, parameters=DistanceScoringParameters(reference_point_parameter="p", boosting_distance=1)),
     "Edm.GeographyPoint"),
    (TagScoringFunction(field_name="labels", boost=2, interpolation="logarithmic", parameters=TagScoringParameters(tags_parameter="t")),
     "linear or constant"),
])
def test_definition_errors_are_sdk_exceptions(server, function, text):
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    name = f"bad-{uuid.uuid4().hex[:6]}"
    with pytest.raises(HttpResponseError) as err:
        index_client.create_index(SearchIndex(name=name, fields=_index(name).fields, scoring_profiles=[ScoringProfile(name="p", functions=[function])]))
    assert err.value.status_code == 400 and text in str(err.value)


# ---- similarity ------------------------------------------------------------------------------------------


def test_bm25_with_tantivys_constants_is_what_scores_are(server):
    """k1 = 1.2, b = 0.75 are accepted because they are the scores: recomputed here by hand."""
    name = f"sim-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(SearchIndex(
        name=name, fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True), SearchableField(name="body")],
        similarity=BM25SimilarityAlgorithm(k1=1.2, b=0.75)))
    try:
        assert index_client.get_index(name).similarity.k1 == 1.2
        client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
        bodies = {"a": "apple", "b": "apple apple pear", "c": "pear plum fig kiwi", "d": "apple pear plum fig kiwi lime"}
        client.upload_documents([{"id": k, "body": v} for k, v in bodies.items()])
        lengths = {k: len(v.split()) for k, v in bodies.items()}
        avgdl = sum(lengths.values()) / len(lengths)
        n = sum(1 for v in bodies.values() if "apple" in v.split())
        idf = math.log(1 + (len(bodies) - n + 0.5) / (n + 0.5))
        k1, b = 1.2, 0.75
        for r in client.search(search_text="apple"):
            tf = bodies[r["id"]].split().count("apple")
            want = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[r["id"]] / avgdl))
            assert r["@search.score"] == pytest.approx(want, rel=1e-5)
    finally:
        index_client.delete_index(name)


@pytest.mark.parametrize("similarity,member", [
    (BM25SimilarityAlgorithm(k1=2.0), "similarity.k1"),
    (BM25SimilarityAlgorithm(b=0.1), "similarity.b"),
    (ClassicSimilarityAlgorithm(), "ClassicSimilarity"),
])
def test_other_similarities_are_refused(server, similarity, member):
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    name = f"sim-{uuid.uuid4().hex[:6]}"
    with pytest.raises(HttpResponseError) as err:
        index_client.create_index(SearchIndex(
            name=name, fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True), SearchableField(name="body")],
            similarity=similarity))
    assert err.value.status_code == 400 and member in str(err.value)
