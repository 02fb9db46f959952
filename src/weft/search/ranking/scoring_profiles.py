"""Scoring profiles as weft reads them: the index's ``scoringProfiles`` checked and parsed (pure).

Definition time only: :func:`parse_profiles` turns the JSON of an index's ``scoringProfiles`` into
:class:`Profile` objects and refuses, with a 400 naming the member, whatever Azure's rules forbid
(``docs/ranking.md`` lists them; the reference is ``azure-relevance.md`` §5.2). Query time (the parameters,
the multipliers, the bounds) is :mod:`weft.search.ranking.scoring`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from weft.errors import InvalidInput

FUNCTION_TYPES = ("magnitude", "freshness", "distance", "tag")
INTERPOLATIONS = ("linear", "constant", "quadratic", "logarithmic")
AGGREGATIONS = ("sum", "average", "minimum", "maximum", "firstMatching", "product")
MAX_PROFILES = 100
MAX_FUNCTIONS = 8
INT32_MAX = 2**31 - 1
_NAME_RE = re.compile(r"^[A-Za-z][^.:@\s]*$")  # azure-relevance.md §5.2: a letter first; no '.', ':', '@' (the SDK's own tests use 'product-score')
_PARAMETER_RE = re.compile(r"^[A-Za-z0-9_]+$")  # no '-' (it ends the name in 'name-value') and no ','
_DURATION_RE = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_FIELD_TYPES = {
    "magnitude": ("Edm.Double", "Edm.Int32", "Edm.Int64"),
    "freshness": ("Edm.DateTimeOffset",),
    "distance": ("Edm.GeographyPoint",),
    "tag": ("Edm.String",),
}


@dataclass(frozen=True)
class Function:
    type: str
    field: str  # path of the field
    boost: float
    interpolation: str = "linear"
    # magnitude
    range_start: float = 0.0
    range_end: float = 0.0
    constant_beyond_range: bool = False
    # freshness: the duration in seconds (negative boosts future dates)
    duration_seconds: float = 0.0
    # distance
    reference_parameter: str = ""
    boosting_distance_km: float = 0.0
    # tag
    tags_parameter: str = ""

    @property
    def parameter(self) -> str | None:
        """The query parameter this function needs, if any."""
        if self.type == "distance":
            return self.reference_parameter
        if self.type == "tag":
            return self.tags_parameter
        return None


@dataclass(frozen=True)
class Profile:
    name: str
    weights: dict[str, float] = field(default_factory=dict)
    functions: tuple[Function, ...] = ()
    aggregation: str = "sum"

    @property
    def parameters(self) -> tuple[str, ...]:
        seen: list[str] = []
        for f in self.functions:
            p = f.parameter
            if p and p not in seen:
                seen.append(p)
        return tuple(seen)


def parse_duration(text: Any) -> float | None:
    """XSD dayTimeDuration (``P1D``, ``PT12H``, ``P2DT3H4M5.5S``, ``-P7D``) in seconds; None if malformed."""
    if not isinstance(text, str):
        return None
    m = _DURATION_RE.match(text)
    if m is None or text.rstrip("-").endswith(("P", "T")):
        return None
    sign, days, hours, minutes, seconds = m.groups()
    if days is None and hours is None and minutes is None and seconds is None:
        return None
    total = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    return -total if sign else total


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def parse_profiles(members: dict[str, Any], leaf) -> dict[str, Profile]:
    """Check and parse ``scoringProfiles`` and ``defaultScoringProfile``. ``leaf(path)`` finds a field
    (a :class:`weft.search.schema.LeafField` or None)."""
    raw = members.get("scoringProfiles") or []
    if not isinstance(raw, list):
        raise InvalidInput("'scoringProfiles' must be an array.")
    if len(raw) > MAX_PROFILES:
        raise InvalidInput(f"The index has {len(raw)} scoring profiles; the limit is {MAX_PROFILES}.")
    profiles: dict[str, Profile] = {}
    for p in raw:
        profile = _parse_profile(p, leaf)
        if profile.name in profiles:
            raise InvalidInput(f"The scoring profile name '{profile.name}' is used more than once.")
        profiles[profile.name] = profile
    default = members.get("defaultScoringProfile")
    if default is not None and (not isinstance(default, str) or default not in profiles):
        raise InvalidInput(f"The default scoring profile '{default}' is not defined in the index.\r\nParameter name: defaultScoringProfile")
    return profiles


def _parse_profile(p: Any, leaf) -> Profile:
    if not isinstance(p, dict) or not isinstance(p.get("name"), str):
        raise InvalidInput("Each scoring profile must have a name.")
    name = p["name"]
    if not _NAME_RE.match(name) or name.startswith("azureSearch") or len(name) > 128:
        raise InvalidInput(f"The scoring profile name '{name}' is invalid: it must start with a letter, hold no '.', ':', '@' "
                           "or white space, be at most 128 characters, and not start with 'azureSearch'.")
    where = f"scoring profile '{name}'"
    text = p.get("text")
    weights: dict[str, float] = {}
    if text is not None:
        if not isinstance(text, dict) or not isinstance(text.get("weights"), dict):
            raise InvalidInput(f"The {where} has 'text' without a 'weights' object.")
        for fname, w in text["weights"].items():
            found = leaf(fname)
            if found is None or not found.field.searchable:
                raise InvalidInput(f"The {where} weights '{fname}', which is not a searchable field.")
            value = _number(w)
            if value is None or not 0 < value <= INT32_MAX:
                raise InvalidInput(f"The {where} gives '{fname}' the weight {w!r}; a weight must be a positive number.")
            weights[fname] = value
    raw_functions = p.get("functions") or []
    if not isinstance(raw_functions, list):
        raise InvalidInput(f"The {where} has 'functions' that is not an array.")
    if len(raw_functions) > MAX_FUNCTIONS:
        raise InvalidInput(f"The {where} has {len(raw_functions)} functions; the limit is {MAX_FUNCTIONS}.")
    functions = tuple(_parse_function(f, i, where, leaf) for i, f in enumerate(raw_functions))
    aggregation = p.get("functionAggregation")
    if aggregation is None:
        aggregation = "sum"
    if aggregation not in AGGREGATIONS:
        raise InvalidInput(f"The {where} has functionAggregation '{aggregation}'; use one of {', '.join(AGGREGATIONS)}.")
    return Profile(name, weights, functions, aggregation)


def _parse_function(f: Any, i: int, where: str, leaf) -> Function:
    at = f"function {i} of the {where}"
    if not isinstance(f, dict):
        raise InvalidInput(f"The {at} must be an object.")
    kind = f.get("type")
    if kind not in FUNCTION_TYPES:
        raise InvalidInput(f"The {at} has type '{kind}'; use one of {', '.join(FUNCTION_TYPES)} (lower case).")
    fname = f.get("fieldName")
    found = leaf(fname) if isinstance(fname, str) else None
    if found is None:
        raise InvalidInput(f"The {at} refers to the field '{fname}', which does not exist.")
    if found.type not in _FIELD_TYPES[kind]:
        raise InvalidInput(f"The {at} ({kind}) cannot use the field '{fname}' of type {found.field.type}; "
                           f"it needs {' or '.join(_FIELD_TYPES[kind])}{' or Collection(Edm.String)' if kind == 'tag' else ''}.")
    if not found.field.filterable:
        raise InvalidInput(f"The {at} uses the field '{fname}', which is not filterable; scoring functions need filterable fields.")
    if kind != "tag" and found.in_collection:
        raise InvalidInput(f"The {at} uses '{fname}', which can hold several values; {kind} functions need a single-valued field.")
    boost = _number(f.get("boost"))
    if boost is None or boost <= 0 or boost == 1.0:
        raise InvalidInput(f"The {at} has boost {f.get('boost')!r}; the boost must be a positive number other than 1.0.")
    interpolation = f.get("interpolation")
    if interpolation is None:
        interpolation = "linear"
    if interpolation not in INTERPOLATIONS:
        raise InvalidInput(f"The {at} has interpolation '{interpolation}'; use one of {', '.join(INTERPOLATIONS)}.")
    if kind == "tag" and interpolation in ("quadratic", "logarithmic"):
        raise InvalidInput(f"The {at} is a tag function; its interpolation must be linear or constant, not {interpolation}.")
    params = f.get(kind)
    if not isinstance(params, dict):
        raise InvalidInput(f"The {at} needs its '{kind}' parameters object.")
    common = dict(type=kind, field=fname, boost=boost, interpolation=interpolation)
    if kind == "magnitude":
        start, end = _number(params.get("boostingRangeStart")), _number(params.get("boostingRangeEnd"))
        if start is None or end is None:
            raise InvalidInput(f"The {at} needs numbers for magnitude.boostingRangeStart and magnitude.boostingRangeEnd.")
        if start == end:
            raise InvalidInput(f"The {at} has boostingRangeStart equal to boostingRangeEnd; the range must not be empty.")
        beyond = params.get("constantBoostBeyondRange", False)
        if beyond is None:
            beyond = False
        if not isinstance(beyond, bool):
            raise InvalidInput(f"The {at} has magnitude.constantBoostBeyondRange that is not true or false.")
        return Function(**common, range_start=start, range_end=end, constant_beyond_range=beyond)
    if kind == "freshness":
        seconds = parse_duration(params.get("boostingDuration"))
        if seconds is None or seconds == 0:
            raise InvalidInput(f"The {at} has freshness.boostingDuration {params.get('boostingDuration')!r}; use a non-zero "
                               "XSD dayTimeDuration such as 'P30D' or 'PT12H'.")
        return Function(**common, duration_seconds=seconds)
    if kind == "distance":
        ref = params.get("referencePointParameter")
        if not isinstance(ref, str) or not _PARAMETER_RE.match(ref):
            raise InvalidInput(f"The {at} needs distance.referencePointParameter: a name of letters, digits and underscores.")
        km = _number(params.get("boostingDistance"))
        if km is None or km <= 0:
            raise InvalidInput(f"The {at} needs distance.boostingDistance: a positive number of kilometres.")
        return Function(**common, reference_parameter=ref, boosting_distance_km=km)
    tags = params.get("tagsParameter")
    if not isinstance(tags, str) or not _PARAMETER_RE.match(tags):
        raise InvalidInput(f"The {at} needs tag.tagsParameter: a name of letters, digits and underscores.")
    return Function(**common, tags_parameter=tags)
