"""corsOptions validation and origin matching (pure), and which paths are query routes for CORS."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.http.cors import query_route_index
from weft.search.cors_options import allowed_origin, check_cors_options, max_age, normalize_origin


@pytest.mark.parametrize("value", [{"allowedOrigins": ["*"]}, {"allowedOrigins": ["https://app.example.com"], "maxAgeInSeconds": 0},
                                   {"allowedOrigins": ["http://localhost:3000", "https://a.b.example:8443"], "maxAgeInSeconds": 86400},
                                   {"allowedOrigins": ["http://[::1]:8080"]}, None])
def test_valid(value):
    check_cors_options(value)


@pytest.mark.parametrize("value", ["*", [], {}, {"allowedOrigins": []}, {"allowedOrigins": "*"}, {"allowedOrigins": ["*", "https://a.example"]},
                                   {"allowedOrigins": ["app.example.com"]}, {"allowedOrigins": ["https://app.example.com/"]},
                                   {"allowedOrigins": ["https://app.example.com/path"]}, {"allowedOrigins": ["ftp://a.example"]},
                                   {"allowedOrigins": ["https://a.example:99999"]}, {"allowedOrigins": ["https://bad_host.example"]},
                                   {"allowedOrigins": [3]}, {"allowedOrigins": ["*"], "maxAgeInSeconds": -1},
                                   {"allowedOrigins": ["*"], "maxAgeInSeconds": 1.5}, {"allowedOrigins": ["*"], "maxAgeInSeconds": True},
                                   {"allowedOrigins": ["*"], "other": 1}])
def test_refused(value):
    with pytest.raises(InvalidInput) as err:
        check_cors_options(value)
    assert "corsOptions" in err.value.message


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["allowedOrigins", "maxAgeInSeconds", "x"]), c, max_size=3),
                    max_leaves=8))
def test_random_values_never_crash(value):
    try:
        check_cors_options(value)
    except InvalidInput:
        pass


def test_matching():
    opts = {"allowedOrigins": ["https://App.Example.com", "http://localhost:3000"]}
    assert allowed_origin(opts, "https://app.example.com") == "https://app.example.com"
    assert allowed_origin(opts, "https://app.example.com:443") == "https://app.example.com:443"
    assert allowed_origin(opts, "http://localhost:3000") == "http://localhost:3000"
    assert allowed_origin(opts, "http://localhost:3001") is None
    assert allowed_origin(opts, "http://app.example.com") is None
    assert allowed_origin(opts, "null") is None
    assert allowed_origin({"allowedOrigins": ["*"]}, "null") == "*"
    assert normalize_origin("HTTPS://A.example:443") == "https://a.example"
    assert max_age({"allowedOrigins": ["*"]}) == 300 and max_age({"allowedOrigins": ["*"], "maxAgeInSeconds": 7}) == 7


@pytest.mark.parametrize("path,name", [
    ("/indexes/hotels/docs", "hotels"), ("/indexes('hotels')/docs", "hotels"), ("/indexes/hotels/docs/search", "hotels"),
    ("/indexes('hotels')/docs/search.post.search", "hotels"), ("/indexes('hotels')/docs/search.post.suggest", "hotels"),
    ("/indexes/hotels/docs/autocomplete", "hotels"), ("/indexes/hotels/docs/$count", "hotels"), ("/indexes('hotels')/docs('1')", "hotels"),
    ("/indexes/hotels/docs/1", "hotels"),
    ("/indexes/hotels/docs/index", None), ("/indexes('hotels')/docs/search.index", None), ("/indexes/hotels", None),
    ("/indexes('hotels')", None), ("/indexes('hotels')/search.stats", None), ("/indexes/hotels/analyze", None), ("/aliases", None),
    ("/indexes/hotels/docs/a/b", None), ("/v1/conversations", None),
])
def test_query_routes(path, name):
    assert query_route_index(path) == name
