"""Scoring functions at query time (pure): parameters, curves, multipliers, aggregation and bounds.

A query's profile (``scoringProfile``, or the index's ``defaultScoringProfile``) and its
``scoringParameters`` become a :class:`ScoringPlan`. The engine reads, for each candidate document, the
value of each function's field (a *column* per function) and asks the plan for the document's
multiplier; the final score is ``text score x multiplier``. ``docs/ranking.md`` gives the formulas;
:attr:`ScoringPlan.upper` is the largest multiplier any document can get, which lets the engine stop
widening its candidate window as soon as no unseen document can overtake the page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from weft.errors import InvalidInput
from weft.search.filter_eval import haversine_km
from weft.search.ranking.scoring_profiles import Function, Profile

_P = "\r\nParameter name: scoringParameter"


def parse_parameter(text: Any) -> tuple[str, list[str]]:
    """``name-value1,value2`` -> (name, values). The name ends at the first ``-`` (so ``here--122.1,47.6`` is
    ``here`` with ``-122.1`` and ``47.6``). A value holding a comma is wrapped in single quotes, and a
    quote inside a quoted value is doubled (``'Dave''s, Inc'``)."""
    if not isinstance(text, str):
        raise InvalidInput(f"Each scoring parameter must be a string 'name-value1,value2', not {text!r}." + _P)
    name, dash, rest = text.partition("-")
    if not dash or not name:
        raise InvalidInput(f"The scoring parameter '{text}' is malformed; use 'name-value1,value2'." + _P)
    values: list[str] = []
    i, n = 0, len(rest)
    while True:
        while i < n and rest[i] == " ":
            i += 1
        if i < n and rest[i] == "'":
            i += 1
            buf = []
            while True:
                if i >= n:
                    raise InvalidInput(f"The scoring parameter '{text}' has an unterminated quoted value." + _P)
                if rest[i] == "'":
                    if i + 1 < n and rest[i + 1] == "'":
                        buf.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(rest[i])
                i += 1
            while i < n and rest[i] == " ":
                i += 1
            if i < n and rest[i] != ",":
                raise InvalidInput(f"The scoring parameter '{text}' has text after a quoted value; separate values with ','." + _P)
            values.append("".join(buf))
        else:
            j = rest.find(",", i)
            j = n if j < 0 else j
            values.append(rest[i:j].strip())
            i = j
        if i >= n:
            break
        i += 1  # the comma
    return name, values


def curve(interpolation: str, t: float) -> float:
    """The share of the boost at distance ``t`` in [0, 1] from the strong end (t=0: all of it, t=1: none)."""
    if interpolation == "constant":
        return 1.0
    if interpolation == "quadratic":
        return (1.0 - t) ** 2
    if interpolation == "logarithmic":
        return 1.0 - math.log10(1.0 + 9.0 * t)
    return 1.0 - t  # linear


def multiplier(boost: float, share: float) -> float:
    """One function's multiplier: 1 + (boost - 1) x share."""
    return 1.0 + (boost - 1.0) * share


def aggregate(aggregation: str, multipliers: Sequence[float]) -> float:
    """Fold the multipliers of the functions that apply to a document (in the profile's order)."""
    if not multipliers:
        return 1.0
    if aggregation == "average":
        return sum(multipliers) / len(multipliers)
    if aggregation == "minimum":
        return min(multipliers)
    if aggregation == "maximum":
        return max(multipliers)
    if aggregation == "firstMatching":
        return multipliers[0]
    if aggregation == "product":
        return math.prod(multipliers)
    return max(0.0, 1.0 + sum(m - 1.0 for m in multipliers))  # sum of the excesses over 1


def bounds(aggregation: str, boosts: Sequence[float]) -> tuple[float, float]:
    """(smallest, largest) aggregate multiplier any document can get; each function gives 1 (does not apply)
    or a value between 1 and its boost."""
    if not boosts:
        return 1.0, 1.0
    if aggregation == "sum":
        return max(0.0, 1.0 + sum(min(0.0, b - 1.0) for b in boosts)), 1.0 + sum(max(0.0, b - 1.0) for b in boosts)
    if aggregation == "product":
        return math.prod(min(1.0, b) for b in boosts), math.prod(max(1.0, b) for b in boosts)
    return min(1.0, min(boosts)), max(1.0, max(boosts))


def share(function: Function, value: Any, now_micros: int, reference: tuple[float, float] | None) -> float | None:
    """How much of its boost ``function`` gives a document whose field holds ``value`` (None: the function
    does not apply). ``value``: a number (magnitude), microseconds since 1970 (freshness), (lon, lat)
    (distance), or whether a tag matched (tag)."""
    if value is None:
        return None
    kind = function.type
    if kind == "tag":
        return 1.0 if value else None
    if kind == "magnitude":
        x = (float(value) - function.range_start) / (function.range_end - function.range_start)
        if math.isnan(x) or x < 0.0:
            return None
        if x > 1.0:
            return 1.0 if function.constant_beyond_range else None
        return curve(function.interpolation, 1.0 - x)
    if kind == "freshness":
        t = (now_micros - int(value)) / 1e6 / function.duration_seconds
    else:  # distance
        t = haversine_km(value, reference) / function.boosting_distance_km
    if not 0.0 <= t <= 1.0:
        return None
    return curve(function.interpolation, t)


@dataclass(frozen=True)
class ScoringPlan:
    profile: Profile
    now_micros: int
    references: dict[str, tuple[float, float]]  # distance parameter -> (lon, lat)
    tags: dict[str, tuple[str, ...]]  # tag parameter -> the query's tags

    @property
    def functions(self) -> tuple[Function, ...]:
        return self.profile.functions

    @property
    def lower(self) -> float:
        return bounds(self.profile.aggregation, [f.boost for f in self.functions])[0]

    @property
    def upper(self) -> float:
        return bounds(self.profile.aggregation, [f.boost for f in self.functions])[1]

    def document_multiplier(self, values: Sequence[Any]) -> float:
        """``values[i]``: the document's value for function i (see :func:`share`)."""
        ms = []
        for function, value in zip(self.functions, values):
            s = share(function, value, self.now_micros, self.references.get(function.reference_parameter))
            if s is not None:
                ms.append(multiplier(function.boost, s))
        return aggregate(self.profile.aggregation, ms)

    def multipliers(self, columns: Sequence[Sequence[Any]]) -> list[float]:
        """One multiplier per document, from one column of values per function."""
        return [self.document_multiplier(row) for row in zip(*columns)] if columns else []


def build_plan(profile: Profile, raw_parameters: Any, now_micros: int) -> ScoringPlan | None:
    """Check the query's ``scoringParameters`` against the profile; None when the profile has no functions."""
    if raw_parameters is None:
        raw_parameters = []
    if isinstance(raw_parameters, str):
        raw_parameters = [raw_parameters]
    if not isinstance(raw_parameters, list):
        raise InvalidInput("'scoringParameters' must be an array of strings 'name-value1,value2'." + _P)
    given: dict[str, list[str]] = {}
    for text in raw_parameters:
        name, values = parse_parameter(text)
        if name in given:
            raise InvalidInput(f"The scoring parameter '{name}' is given more than once." + _P)
        given[name] = values
    needed = profile.parameters
    for name in given:
        if name not in needed:
            uses = f"uses {', '.join(needed)}" if needed else "takes no parameters"
            raise InvalidInput(f"The scoring parameter '{name}' is not used by the scoring profile '{profile.name}' (it {uses})." + _P)
    references: dict[str, tuple[float, float]] = {}
    tags: dict[str, tuple[str, ...]] = {}
    for function in profile.functions:
        name = function.parameter
        if not name or name in references or name in tags:
            continue
        if name not in given:
            what = "a reference point 'longitude,latitude'" if function.type == "distance" else "a list of tags"
            raise InvalidInput(f"The scoring profile '{profile.name}' needs the scoring parameter '{name}' ({what}); "
                               f"send it as '{name}-...'." + _P)
        values = given[name]
        if function.type == "distance":
            references[name] = _point(name, values)
        else:
            tags[name] = tuple(v for v in values if v != "")
            if not tags[name]:
                raise InvalidInput(f"The scoring parameter '{name}' has no tags." + _P)
    if not profile.functions:
        return None
    return ScoringPlan(profile, now_micros, references, tags)


def _point(name: str, values: list[str]) -> tuple[float, float]:
    message = f"The scoring parameter '{name}' must be a point 'longitude,latitude' (for example '{name}--122.12,47.67')."
    if len(values) != 2:
        raise InvalidInput(message + _P)
    try:
        lon, lat = float(values[0]), float(values[1])
    except ValueError:
        raise InvalidInput(message + _P) from None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidInput(message + " Longitude is between -180 and 180, latitude between -90 and 90." + _P)
    return lon, lat


SCORING_STATISTICS = ("local", "global")


def scoring_for(definition, body: dict, now_micros: int | None = None) -> tuple[dict[str, float], ScoringPlan | None]:
    """The text weights and the scoring plan of a search request: its ``scoringProfile`` (or the index's
    ``defaultScoringProfile``) with its ``scoringParameters``; also checks ``scoringStatistics``."""
    from weft.search.ranking.scoring_profiles import parse_profiles

    statistics = body.get("scoringStatistics")
    if statistics is not None and statistics not in SCORING_STATISTICS:
        raise InvalidInput(f"Invalid scoringStatistics {statistics!r}; use 'local' or 'global'.\r\nParameter name: scoringStatistics")
    name = body.get("scoringProfile")
    if name is not None and not isinstance(name, str):
        raise InvalidInput("'scoringProfile' must be the name of a scoring profile.\r\nParameter name: scoringProfile")
    name = name or definition.members.get("defaultScoringProfile")
    parameters = body.get("scoringParameters")
    if not name:
        if parameters:
            raise InvalidInput("scoringParameters were given, but the query names no scoring profile and the index has no "
                               "defaultScoringProfile." + _P)
        return {}, None
    raw = definition.members.get("scoringProfiles")
    cached = definition.__dict__.get("_parsed_scoring_profiles")
    if cached is None or cached[0] is not raw:  # parsed once per definition object
        cached = (raw, parse_profiles(definition.members, definition.leaf))
        definition.__dict__["_parsed_scoring_profiles"] = cached
    profiles = cached[1]
    profile = profiles.get(name)
    if profile is None:
        raise InvalidInput(f"Unknown scoring profile '{name}'.\r\nParameter name: scoringProfile")
    if now_micros is None:
        import time

        now_micros = time.time_ns() // 1000
    return dict(profile.weights), build_plan(profile, parameters, now_micros)


def _shares_array(plan: ScoringPlan, function: Function, column, n: int):
    """:func:`share` over an array: NaN where the function does not apply."""
    import numpy as np

    if function.type == "tag":
        return np.where(np.asarray(column, dtype=bool), 1.0, np.nan)
    beyond = None
    if function.type == "magnitude":
        x = (np.asarray(column, dtype=float) - function.range_start) / (function.range_end - function.range_start)
        t = 1.0 - x
        if function.constant_beyond_range:
            beyond = x > 1.0
    elif function.type == "freshness":
        t = (plan.now_micros - np.asarray(column, dtype=float)) * (1e-6 / function.duration_seconds)
    else:
        from weft.search.filter_eval import EARTH_RADIUS_KM

        lon0, lat0 = plan.references[function.reference_parameter]
        pts = np.radians(np.asarray(column, dtype=float).reshape(-1, 2))
        rlon, rlat = math.radians(lon0), math.radians(lat0)
        h = np.sin((rlat - pts[:, 1]) / 2) ** 2 + np.cos(pts[:, 1]) * math.cos(rlat) * np.sin((rlon - pts[:, 0]) / 2) ** 2
        t = (2 * EARTH_RADIUS_KM / function.boosting_distance_km) * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    inside = (t >= 0.0) & (t <= 1.0)  # NaN (no value) compares False
    interpolation = function.interpolation
    if interpolation == "constant":
        s = np.where(inside, 1.0, np.nan)
    else:
        t = np.where(inside, t, np.nan)
        if interpolation == "quadratic":
            s = (1.0 - t) ** 2
        elif interpolation == "logarithmic":
            s = 1.0 - np.log10(1.0 + 9.0 * t)
        else:
            s = 1.0 - t
    if beyond is not None:
        s = np.where(beyond, 1.0, s)
    return s


def multipliers_array(plan: ScoringPlan, columns: Sequence[Any]):
    """:meth:`ScoringPlan.multipliers` over numpy arrays (the engine's fast path; the same arithmetic, tested
    against the scalar form). ``columns[i]``: float array (NaN: no value) for magnitude and freshness
    (microseconds), an (n, 2) lon/lat array for distance, a bool array for tag."""
    import numpy as np

    n = len(columns[0]) if len(columns) else 0
    agg = plan.profile.aggregation
    if agg in ("sum", "product"):  # a function that does not apply adds 0 (sum) or multiplies by 1 (product)
        out = None
        for function, column in zip(plan.functions, columns):
            excess = np.nan_to_num(_shares_array(plan, function, column, n) * (function.boost - 1.0), nan=0.0)
            if out is None:
                out = excess if agg == "sum" else 1.0 + excess
            elif agg == "sum":
                out = out + excess
            else:
                out = out * (1.0 + excess)
        if out is None:
            return np.ones(n)
        return np.maximum(0.0, 1.0 + out) if agg == "sum" else out
    if not plan.functions:
        return np.ones(n)
    m = np.vstack([1.0 + (f.boost - 1.0) * _shares_array(plan, f, c, n) for f, c in zip(plan.functions, columns)])
    applies = ~np.isnan(m)
    with np.errstate(invalid="ignore"):
        if agg == "average":
            out = np.nansum(m, axis=0) / np.maximum(1, applies.sum(axis=0))
        elif agg == "minimum":
            out = np.min(np.where(applies, m, np.inf), axis=0)
        elif agg == "maximum":
            out = np.max(np.where(applies, m, -np.inf), axis=0)
        else:  # firstMatching
            out = m[np.argmax(applies, axis=0), np.arange(n)]
    return np.where(applies.any(axis=0), out, 1.0)
