"""Rows -> documents: field mappings, mapping functions, and conversion into the index's field types.

Pure. A value that cannot be converted raises :class:`ConversionError`, which the runner reports
against the row's key (a poison row), without stopping the rows after it.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import uuid
from typing import Any
from urllib.parse import quote, unquote

from weft.indexers.model import FieldMapping
from weft.search.schema import Field, IndexDefinition


class ConversionError(ValueError):
    pass


def url_token_encode(data: bytes) -> str:
    """.NET HttpServerUtility.UrlTokenEncode: URL-safe base64, padding replaced by its count as a digit."""
    if not data:
        return ""
    text = base64.urlsafe_b64encode(data).decode()
    stripped = text.rstrip("=")
    return stripped + str(len(text) - len(stripped))


def url_token_decode(text: str) -> bytes:
    if not text:
        return b""
    pad = text[-1]
    if not pad.isdigit():
        raise ConversionError(f"'{text}' is not a URL token.")
    return base64.urlsafe_b64decode(text[:-1] + "=" * int(pad))


def apply_function(name: str | None, params: dict[str, Any], value: Any) -> Any:
    if name is None or value is None:
        return value
    try:
        if name == "base64Encode":
            data = value if isinstance(value, bytes) else str(value).encode()
            if params.get("useHttpServerUtilityUrlTokenEncode", True):
                return url_token_encode(data)
            return base64.b64encode(data).decode()
        if name == "base64Decode":
            text = str(value)
            if params.get("useHttpServerUtilityUrlTokenDecode", True):
                return url_token_decode(text).decode()
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode()
        if name == "extractTokenAtPosition":
            parts = str(value).split(params.get("delimiter", " "))
            position = int(params.get("position", 0))
            return parts[position] if -len(parts) <= position < len(parts) else None
        if name == "jsonArrayToStringCollection":
            parsed = json.loads(value) if isinstance(value, str) else value
            if not isinstance(parsed, list):
                raise ConversionError(f"'{value}' is not a JSON array.")
            return [str(v) for v in parsed]
        if name == "urlEncode":
            return quote(str(value), safe="")
        if name == "urlDecode":
            return unquote(str(value))
        if name == "splitDelimitedString":
            # weft's own: "a, b,,c" -> ["a", "b", "c"] (trimmed, empty parts dropped unless keepEmpty).
            delimiter = params.get("delimiter", ",")
            parts = str(value).split(delimiter)
            if params.get("trim", True):
                parts = [p.strip() for p in parts]
            return parts if params.get("keepEmpty", False) else [p for p in parts if p != ""]
    except ConversionError:
        raise
    except Exception as exc:
        raise ConversionError(f"Mapping function '{name}' failed on value {str(value)[:80]!r}: {exc}")
    raise ConversionError(f"Unknown mapping function '{name}'.")


def _datetime_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%dT00:00:00Z")
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConversionError(f"'{value}' is not a date-time.")
        return _datetime_text(parsed)
    raise ConversionError(f"{value!r} is not a date-time.")


def convert(value: Any, field: Field) -> Any:
    """Convert one source value into the JSON value an index field of ``field.type`` accepts."""
    if value is None:
        return None
    if field.is_collection:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ConversionError(f"'{value[:80]}' is not a JSON array for collection field '{field.name}'.")
            else:
                raise ConversionError(
                    f"A string cannot be stored in collection field '{field.name}'; use a JSON array or the "
                    "'splitDelimitedString' mapping function."
                )
        if not isinstance(value, (list, tuple)):
            raise ConversionError(f"{value!r} is not a collection for field '{field.name}'.")
        return [_scalar(v, field.element_type, field.name) for v in value if v is not None]
    return _scalar(value, field.element_type, field.name)


def _scalar(value: Any, type_name: str, name: str) -> Any:
    if value is None:
        return None
    if type_name == "Edm.String":
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        if isinstance(value, (dt.datetime, dt.date)):
            return _datetime_text(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float, decimal.Decimal, uuid.UUID)):
            return str(value)
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)
    if type_name in ("Edm.Int32", "Edm.Int64"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            result = value
        elif isinstance(value, (float, decimal.Decimal)) and value == int(value):
            result = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            result = int(value.strip())
        else:
            raise ConversionError(f"Cannot convert {value!r} of field '{name}' to {type_name}.")
        lo, hi = (-(2**31), 2**31 - 1) if type_name == "Edm.Int32" else (-(2**63), 2**63 - 1)
        if not lo <= result <= hi:
            raise ConversionError(f"The value {result} of field '{name}' is out of range for {type_name}.")
        return result
    if type_name == "Edm.Double":
        if isinstance(value, bool):
            raise ConversionError(f"Cannot convert {value!r} of field '{name}' to Edm.Double.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConversionError(f"Cannot convert {value!r} of field '{name}' to Edm.Double.")
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "INF" if number > 0 else "-INF"
        return number
    if type_name == "Edm.Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        raise ConversionError(f"Cannot convert {value!r} of field '{name}' to Edm.Boolean.")
    if type_name == "Edm.DateTimeOffset":
        return _datetime_text(value)
    if type_name == "Edm.GeographyPoint":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ConversionError(f"Cannot convert {value!r} of field '{name}' to Edm.GeographyPoint.")
        return value
    return value


class DocumentMapper:
    """Maps a row (column name -> value) to an index document, following Azure's rules: explicit
    field mappings first, then columns whose name matches an index field (case-insensitively)."""

    def __init__(self, definition: IndexDefinition, mappings: list[FieldMapping], *, base64_encode_keys: bool = False):
        self.definition = definition
        self.fields = {f.name: f for f in definition.fields}
        self.key_field = definition.key_field
        self.mappings = mappings
        self.base64_encode_keys = base64_encode_keys
        self._mapped_targets = {m.target for m in mappings}

    def key_source_column(self, columns: list[str]) -> str:
        """The source column feeding the index key (a mapping to it, or the same name)."""
        for m in self.mappings:
            if m.target == self.key_field.name:
                return _find(columns, m.source) or m.source
        found = _find(columns, self.key_field.name)
        if found is None:
            raise ConversionError(
                f"No source column maps to the index key field '{self.key_field.name}'; add a field mapping for it."
            )
        return found

    def document_key(self, row: dict[str, Any]) -> str:
        """Only the key of the row's document (for deletes: the other columns need not convert)."""
        key_name = self.key_field.name
        lowered = {k.lower(): k for k in row}
        mapping = next((m for m in self.mappings if m.target == key_name), None)
        if mapping is not None:
            column = mapping.source if mapping.source in row else lowered.get(mapping.source.lower())
            value = apply_function(mapping.function, mapping.parameters, row[column]) if column else None
        else:
            column = key_name if key_name in row else lowered.get(key_name.lower())
            value = row[column] if column else None
        if value is None or value == "":
            raise ConversionError("Document key cannot be missing or empty.")
        return url_token_encode(str(value).encode()) if self.base64_encode_keys else str(value)

    def document(self, row: dict[str, Any]) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        lowered = {k.lower(): k for k in row}
        for name, field in self.fields.items():
            if name in self._mapped_targets:
                continue
            column = row.get(name, None) if name in row else None
            if name not in row and name.lower() in lowered:
                column = row[lowered[name.lower()]]
            elif name not in row:
                continue
            doc[name] = convert(column, field)
        for m in self.mappings:
            column = m.source if m.source in row else lowered.get(m.source.lower())
            if column is None:
                raise ConversionError(f"The field mapping source '{m.source}' is not a column of the data source.")
            field = self.fields.get(m.target)
            if field is None:
                raise ConversionError(f"The field mapping target '{m.target}' is not a field of the index.")
            doc[m.target] = convert(apply_function(m.function, m.parameters, row[column]), field)
        key = doc.get(self.key_field.name)
        if key is None or key == "":
            raise ConversionError("Document key cannot be missing or empty.")
        if self.base64_encode_keys:
            doc[self.key_field.name] = url_token_encode(str(key).encode())
        else:
            doc[self.key_field.name] = str(key)
        return doc


def _find(columns: list[str], name: str) -> str | None:
    if name in columns:
        return name
    for c in columns:
        if c.lower() == name.lower():
            return c
    return None
