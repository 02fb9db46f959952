"""timeoffset parsing (pure) and calendar buckets shifted by it."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.search.documents import datetime_to_micros, parse_datetime
from weft.search.engine.tantivy_facets import _calendar_starts
from weft.search.facet_options import parse_time_offset


@pytest.mark.parametrize("text,minutes", [("-01:00", -60), ("+01:00", 60), ("01:00", 60), ("+0530", 330), ("-05", -300),
                                          ("+00:00", 0), ("-14:00", -840), ("+14", 840), (" -03:30 ", -210)])
def test_valid(text, minutes):
    assert parse_time_offset(text, "d,interval:day") == minutes


@pytest.mark.parametrize("text", ["", "1", "+1:00", "-01:60", "+15:00", "-14:01", "abc", "01-00", "+01:00:00", "--01", "+123"])
def test_malformed(text):
    with pytest.raises(InvalidInput) as err:
        parse_time_offset(text, "d,interval:day")
    assert "timeoffset" in err.value.message and "Parameter name: facets" in err.value.message


@given(st.text(max_size=12))
def test_never_crashes(text):
    try:
        parse_time_offset(text, "x")
    except InvalidInput:
        pass


def _micros(text):
    return datetime_to_micros(parse_datetime(text))


def test_day_boundaries_follow_the_offset():
    lo, hi = _micros("2024-01-01T00:30:00Z"), _micros("2024-01-02T00:30:00Z")
    assert _calendar_starts("day", lo, hi, -60)[:2] == [_micros("2023-12-31T01:00:00Z"), _micros("2024-01-01T01:00:00Z")]
    assert _calendar_starts("day", lo, hi, 60)[:2] == [_micros("2023-12-31T23:00:00Z"), _micros("2024-01-01T23:00:00Z")]
    assert _calendar_starts("day", lo, hi)[:2] == [_micros("2024-01-01T00:00:00Z"), _micros("2024-01-02T00:00:00Z")]
    assert _calendar_starts("month", _micros("2024-03-01T00:30:00Z"), _micros("2024-03-01T00:30:00Z"), -60)[0] == _micros("2024-02-01T01:00:00Z")
    assert _calendar_starts("hour", _micros("2024-01-01T00:40:00Z"), _micros("2024-01-01T00:40:00Z"), 330)[0] == _micros("2024-01-01T00:30:00Z")
