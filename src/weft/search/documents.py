"""Document batches: actions, key rules, and type checking/normalization of values.

Everything here is pure: a batch is parsed and validated against an
:class:`~weft.search.schema.IndexDefinition` before anything touches storage, so a
batch that fails validation changes nothing.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from weft.errors import InvalidInput, PayloadTooLarge
from weft.search.schema import COMPLEX_TYPE, Field, IndexDefinition
from weft.search.vector_options import check_values as check_vector_values
from weft.search.vector_values import single_vector

MAX_ACTIONS = 1000
MAX_BATCH_BYTES = 16 * 1024 * 1024
ACTIONS = ("upload", "merge", "mergeOrUpload", "delete")
KEY_RE = re.compile(r"^[A-Za-z0-9_\-=]+$")
MAX_KEY_LENGTH = 1024
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
WGS84 = {"type": "name", "properties": {"name": "EPSG:4326"}}


@dataclass(frozen=True)
class Action:
    kind: str  # upload | merge | mergeOrUpload | delete
    key: str
    values: dict[str, Any]  # normalized values of the fields the action names (key included)


@dataclass(frozen=True)
class ItemResult:
    key: str
    status: bool
    status_code: int
    error_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "errorMessage": self.error_message, "statusCode": self.status_code}


def check_key(key: Any, index: int) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH or key.startswith("_") or not KEY_RE.fullmatch(key):
        shown = key if isinstance(key, str) else repr(key)
        raise InvalidInput(
            f"The request is invalid. Details: actions : {index}: Invalid document key: '{shown}'. Keys can only contain "
            "letters, digits, underscore (_), dash (-), or equal sign (=), be at most 1024 characters long, "
            "and cannot start with a leading underscore.",
            details=[{"code": "InvalidDocumentKey", "message": f"{index}: Invalid document key: '{shown}'. Parameters: actions"}],
        )
    return key


def parse_batch(definition: IndexDefinition, body: Any, *, body_size: int = 0) -> list[Action]:
    """Parse a ``{"value": [...]}`` batch. Raises for anything that rejects the whole batch."""
    if body_size > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"The request is too large: {body_size} bytes; a batch may be at most {MAX_BATCH_BYTES} bytes.")
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise InvalidInput("The request is invalid. Details: the body must be a JSON object with a 'value' array of actions.")
    items = body["value"]
    if len(items) > MAX_ACTIONS:
        raise PayloadTooLarge(
            f"The request is too large: a batch may contain at most {MAX_ACTIONS} actions; this one has {len(items)}."
        )
    if not items:
        raise InvalidInput("The request is invalid. Details: the batch contains no actions.")
    key_name = definition.key_field.name
    plain_strings = _plain_string_fields(definition)
    actions = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(f"The request is invalid. Details: actions : {i}: each action must be a JSON object.")
        kind = item.get("@search.action", "upload")
        if kind not in ACTIONS:
            raise InvalidInput(
                f"The request is invalid. Details: actions : {i}: '{kind}' is not a valid action. Use one of: {', '.join(ACTIONS)}."
            )
        if key_name not in item or item[key_name] is None:
            raise InvalidInput(
                f"The request is invalid. Details: actions : {i}: Document key cannot be missing or empty.",
                details=[{"code": "MissingDocumentKey", "message": f"{i}: Document key cannot be missing or empty. Parameters: actions"}],
            )
        key = check_key(item[key_name], i)
        values: dict[str, Any] = {}
        if kind == "delete":
            values[key_name] = key
        else:
            for name, value in item.items():
                if type(value) is str and name in plain_strings:  # the common case, already canonical
                    values[name] = value
                    continue
                if name.startswith("@"):
                    if name in ("@search.action", "@odata.type"):
                        continue
                    raise InvalidInput(f"The request is invalid. Details: actions : {i}: unknown annotation '{name}'.")
                values[name] = normalize_top_level(definition, name, value, i)
        actions.append(Action(kind=kind, key=key, values=values))
    return actions


def _plain_string_fields(definition: IndexDefinition) -> frozenset[str]:
    """Top-level Edm.String fields (not collections): a string value is stored as it is."""
    found = definition.__dict__.get("_plain_string_fields")
    if found is None:
        found = definition.__dict__["_plain_string_fields"] = frozenset(
            f.name for f in definition.fields if f.type == "Edm.String")
    return found


def normalize_top_level(definition: IndexDefinition, name: str, value: Any, index: int) -> Any:
    field = definition.top_level_field(name)
    if field is None:
        raise InvalidInput(
            f"The request is invalid. Details: actions : {index}: The property '{name}' does not exist on type "
            f"'search.documentFields' of index '{definition.name}'. Make sure to only use property names that are defined by the type."
        )
    return normalize_value(field, value, name, index)


def normalize_value(field: Field, value: Any, path: str, index: int) -> Any:
    """Check ``value`` against the field's type and return its canonical stored form."""
    if value is None:
        return None
    if field.is_collection:
        if not isinstance(value, list):
            raise _type_error(value, field.type, path, index)
        if field.is_vector:
            return _normalize_vector(field, value, path, index)
        return [_normalize_element(field, v, path, index) for v in value]
    return _normalize_element(field, value, path, index)


def _normalize_vector(field: Field, value: list, path: str, index: int) -> list[float] | None:
    if not value:
        return None  # an empty vector is no vector
    element = field.element_type
    length = field.dimensions // 8 if element == "Edm.Byte" else field.dimensions  # packedBit: dimensions counts bits
    if len(value) != length:
        raise InvalidInput(
            f"The request is invalid. Details: actions : {index}: The vector field '{path}' expects {length} "
            f"{'bytes' if element == 'Edm.Byte' else 'dimensions'}; got {len(value)}."
        )

    def refuse(v, why=None):
        if why is None:
            raise _type_error(v, element, path, index)
        raise InvalidInput(f"The request is invalid. Details: actions : {index}: The value {v!r} of vector field '{path}' {why}.")

    if element == "Edm.Single":  # checked and packed to float32 at once (weft.search.vector_values)
        return single_vector(value, refuse)
    for v in value:
        t = type(v)
        if (t is not float and t is not int) or v != v or v in (math.inf, -math.inf):
            refuse(v)
    return check_vector_values(element, value, refuse)


def _normalize_element(field: Field, value: Any, path: str, index: int) -> Any:
    t = field.element_type
    if value is None:
        if field.is_collection:
            raise InvalidInput(
                f"The request is invalid. Details: actions : {index}: A null value was found in the collection field '{path}'; collections cannot contain nulls."
            )
        return None
    if t == COMPLEX_TYPE:
        if not isinstance(value, dict):
            raise _type_error(value, field.type, path, index)
        out = {}
        subs = {f.name: f for f in field.fields}
        for name, v in value.items():
            if name.startswith("@"):
                continue
            sub = subs.get(name)
            if sub is None:
                raise InvalidInput(
                    f"The request is invalid. Details: actions : {index}: The property '{name}' does not exist on the complex field '{path}'."
                )
            out[name] = normalize_value(sub, v, f"{path}/{name}", index)
        return out
    if t == "Edm.String":
        if not isinstance(value, str):
            raise _type_error(value, t, path, index)
        return value
    if t in ("Edm.Int32", "Edm.Int64"):
        lo, hi = INT32 if t == "Edm.Int32" else INT64
        if isinstance(value, bool):
            raise _type_error(value, t, path, index)
        if isinstance(value, str) and t == "Edm.Int64" and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or not lo <= value <= hi:
            raise _type_error(value, t, path, index)
        return value
    if t == "Edm.Double":
        if isinstance(value, bool):
            raise _type_error(value, t, path, index)
        if isinstance(value, (int, float)):
            return float(value)
        if value in ("NaN", "INF", "-INF"):
            return value
        raise _type_error(value, t, path, index)
    if t == "Edm.Boolean":
        if not isinstance(value, bool):
            raise _type_error(value, t, path, index)
        return value
    if t == "Edm.DateTimeOffset":
        if not isinstance(value, str):
            raise _type_error(value, t, path, index)
        parsed = parse_datetime(value)
        if parsed is None:
            raise _type_error(value, t, path, index)
        return format_datetime(parsed)
    if t == "Edm.GeographyPoint":
        point = parse_geo_point(value)
        if point is None:
            raise _type_error(value, t, path, index)
        lon, lat = point
        return {"type": "Point", "coordinates": [lon, lat], "crs": WGS84}
    raise _type_error(value, t, path, index)  # pragma: no cover - schema rejects other types


def _type_error(value: Any, type_name: str, path: str, index: int) -> InvalidInput:
    shown = repr(value) if not isinstance(value, str) else f"'{value}'"
    if len(shown) > 100:
        shown = shown[:100] + "..."
    return InvalidInput(
        f"The request is invalid. Details: actions : {index}: Cannot convert the value {shown} of field '{path}' to the expected type '{type_name}'."
    )


# ---- value helpers shared by the engine -------------------------------------------------

_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:\d{2})?$"
)


def parse_datetime(text: str) -> dt.datetime | None:
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    if hh is not None and tz is None:
        return None  # a time without an offset is ambiguous; Azure requires one
    try:
        micro = int((frac or "0").ljust(6, "0")[:6])
        tzinfo = dt.timezone.utc
        if tz and tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            tzinfo = dt.timezone(sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
        value = dt.datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), micro, tzinfo=tzinfo)
    except ValueError:
        return None
    return value.astimezone(dt.timezone.utc)


def format_datetime(value: dt.datetime) -> str:
    value = value.astimezone(dt.timezone.utc)
    if value.microsecond:
        frac = f"{value.microsecond:06d}"[:3]
        return value.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def datetime_to_micros(value: str | dt.datetime) -> int:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None
        value = parsed
    delta = value.astimezone(dt.timezone.utc) - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def micros_to_datetime(micros: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=micros)


def parse_geo_point(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, dict) or value.get("type") != "Point":
        return None
    coords = value.get("coordinates")
    if not isinstance(coords, list) or len(coords) != 2:
        return None
    lon, lat = coords
    if isinstance(lon, bool) or isinstance(lat, bool) or not isinstance(lon, (int, float)) or not isinstance(lat, (int, float)):
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or math.isnan(lon) or math.isnan(lat):
        return None
    return float(lon), float(lat)


def double_value(value: Any) -> float | None:
    """Stored Edm.Double (float or 'NaN'/'INF'/'-INF') -> float."""
    if value is None:
        return None
    if isinstance(value, str):
        return {"NaN": math.nan, "INF": math.inf, "-INF": -math.inf}[value]
    return float(value)


# ---- whole documents --------------------------------------------------------------------


def empty_value(field: Field) -> Any:
    return [] if field.is_collection and not field.is_vector else None


def complete_document(definition: IndexDefinition, values: dict[str, Any]) -> dict[str, Any]:
    """An uploaded document: every field present, absent ones null (collections empty)."""
    return {f.name: _complete(f, values.get(f.name)) for f in definition.fields}


def _complete(field: Field, value: Any) -> Any:
    if value is None:
        return empty_value(field)
    if field.is_complex:
        if field.is_collection:
            return [{s.name: _complete(s, item.get(s.name)) for s in field.fields} for item in value]
        return {s.name: _complete(s, value.get(s.name)) for s in field.fields}
    return value


def merge_document(definition: IndexDefinition, existing: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Azure merge: named fields replace the stored ones (collections whole); complex objects merge recursively."""
    merged = dict(existing)
    fields = {f.name: f for f in definition.fields}
    for name, value in values.items():
        merged[name] = _merge_value(fields[name], existing.get(name), value)
    return complete_document(definition, merged)


def _merge_value(field: Field, old: Any, new: Any) -> Any:
    if field.is_complex and not field.is_collection and isinstance(old, dict) and isinstance(new, dict):
        subs = {s.name: s for s in field.fields}
        out = dict(old)
        for name, value in new.items():
            out[name] = _merge_value(subs[name], old.get(name), value)
        return out
    return new


def render_document(definition: IndexDefinition, document: dict[str, Any], select: Iterable[str] | None = None) -> dict[str, Any]:
    """The retrievable part of a stored document, in definition order; ``select`` limits it to named paths."""
    if select is None:
        return _render_fields(definition.fields, document, None)
    out: dict[str, Any] = {}
    for name, f, inner in _render_plan(definition, tuple(select)):
        value = _render_value(f, document.get(name), inner)
        if value is not _HIDDEN:
            out[name] = value
    return out


def _render_plan(definition: IndexDefinition, selected: tuple[str, ...]) -> tuple:
    """The top-level fields ``selected`` names, each with the paths selected inside it (None: all of it), as
    ``_render_fields`` finds them, once per definition and selection rather than once per rendered document."""
    plans = definition.__dict__.setdefault("_render_plans", {})  # a changed definition is a new object
    plan = plans.get(selected)
    if plan is None:
        entries = []
        for f in definition.fields:
            inner = None
            if f.name not in selected:
                inner = [p[len(f.name) + 1 :] for p in selected if p.startswith(f.name + "/")]
                if not inner:
                    continue
            entries.append((f.name, f, inner))
        plan = tuple(entries)
        if len(plans) < 256:
            plans[selected] = plan
    return plan


_HIDDEN = object()


def _render_fields(fields: list[Field], obj: dict[str, Any], selected: list[str] | None) -> dict[str, Any]:
    """The fields of one object (a document or a complex value) that ``selected`` paths name (all when None)."""
    out: dict[str, Any] = {}
    for f in fields:
        inner = None
        if selected is not None:
            if f.name not in selected:
                inner = [p[len(f.name) + 1 :] for p in selected if p.startswith(f.name + "/")]
                if not inner:
                    continue
        value = _render_value(f, obj.get(f.name), inner)
        if value is not _HIDDEN:
            out[f.name] = value
    return out


def _render_value(field: Field, value: Any, sub_select: list[str] | None) -> Any:
    if not field.is_complex:
        if not field.retrievable:
            return _HIDDEN
        if value is None:
            return empty_value(field)
        return value
    if value is None:
        return empty_value(field)
    if field.is_collection:
        return [_render_fields(field.fields, item, sub_select) for item in value]
    return _render_fields(field.fields, value, sub_select)
