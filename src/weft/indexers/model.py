"""Data source and indexer definitions: parsing, validation and Azure's JSON shapes.

Pure: no storage, no HTTP. Secrets (``credentials.connectionString`` and the remote target's
api key) are kept in :class:`DataSource`/:class:`Indexer` objects but rendered as ``null``.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from weft import encryption_keys
from weft.errors import InvalidInput

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*$")
SOURCE_TYPES = ("azuresql", "postgresql", "mysql", "mariadb", "sqlite")

HIGH_WATER_MARK = "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy"
SQL_CHANGE_TRACKING = "#Microsoft.Azure.Search.SqlIntegratedChangeTrackingPolicy"
SOFT_DELETE = "#Microsoft.Azure.Search.SoftDeleteColumnDeletionDetectionPolicy"
# weft's own: hard deletes found by reconciling the indexer's key ledger with the source.
HARD_DELETE = "#Weft.HardDeleteReconciliationPolicy"

DEFAULT_BATCH_SIZE = 1000
MAX_BATCH_SIZE = 1000  # one index batch holds at most 1000 actions
MAPPING_FUNCTIONS = (
    "base64Encode", "base64Decode", "extractTokenAtPosition", "jsonArrayToStringCollection", "urlEncode", "urlDecode",
    "splitDelimitedString",
)
REMOTE_ENDPOINT = "weftTargetEndpoint"
REMOTE_API_KEY = "weftTargetApiKey"
# weft's own data source property: LISTEN/NOTIFY wake-ups (PostgreSQL only), e.g. {"channel": "products_changed"}.
NOTIFY = "weftNotify"
NOTIFY_CHANNEL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def validate_name(name: Any, kind: str) -> str:
    if not isinstance(name, str) or not name or len(name) > 128 or not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"The {kind} name '{name}' is invalid: use lowercase letters, digits or single dashes, starting with a letter "
            "or digit, at most 128 characters."
        )
    return name


_DURATION_RE = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: Any, what: str = "interval") -> float:
    """ISO-8601 dayTimeDuration (``PT5M``, ``PT0.5S``, ``P1D``) -> seconds. weft accepts any positive interval."""
    m = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not m or text in ("P", "PT"):
        raise InvalidInput(f"The {what} '{text}' is not a valid ISO 8601 duration such as 'PT5M' or 'PT1S'.")
    days, hours, minutes, seconds = m.groups()
    total = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise InvalidInput(f"The {what} '{text}' must be greater than zero.")
    return total


def parse_time(text: Any, what: str) -> dt.datetime:
    if not isinstance(text, str):
        raise InvalidInput(f"The {what} must be an ISO 8601 date-time string.")
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"The {what} '{text}' is not a valid ISO 8601 date-time.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def format_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---- data sources -------------------------------------------------------------------------------------


@dataclass
class ChangePolicy:
    kind: str  # HIGH_WATER_MARK | SQL_CHANGE_TRACKING
    column: str | None = None


@dataclass
class DeletionPolicy:
    kind: str  # SOFT_DELETE | HARD_DELETE
    column: str | None = None
    marker: str | None = None
    reconcile_every_seconds: float = 0.0  # HARD_DELETE: 0 = every run


@dataclass
class NotifyConfig:
    """Wake the data source's indexers when PostgreSQL delivers a notification on ``channel``."""

    channel: str


@dataclass
class DataSource:
    name: str
    type: str
    connection_string: str | None
    container_name: str | None
    container_query: str | None
    change_policy: ChangePolicy | None
    deletion_policy: DeletionPolicy | None
    raw: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None
    notify: NotifyConfig | None = None

    def to_json(self) -> dict[str, Any]:
        out = copy.deepcopy(self.raw)
        body: dict[str, Any] = {}
        if self.etag:
            body["@odata.etag"] = self.etag
        body["name"] = self.name
        body["description"] = out.get("description")
        body["type"] = self.type
        body["subtype"] = out.get("subtype")
        body["credentials"] = {"connectionString": None}
        body["container"] = {"name": self.container_name, "query": self.container_query}
        body["dataChangeDetectionPolicy"] = out.get("dataChangeDetectionPolicy")
        body["dataDeletionDetectionPolicy"] = out.get("dataDeletionDetectionPolicy")
        body["encryptionKey"] = encryption_keys.redact(out.get("encryptionKey"))
        body["identity"] = out.get("identity")
        if self.notify is not None:  # weft's extension, only when set: Azure's shape is unchanged otherwise
            body[NOTIFY] = {"channel": self.notify.channel}
        return body


def parse_data_source(body: Any, *, name_from_path: str | None = None, existing_secret: str | None = None) -> DataSource:
    if not isinstance(body, dict):
        raise InvalidInput("The data source definition must be a JSON object.")
    name = body.get("name", name_from_path)
    if name_from_path is not None and name != name_from_path:
        raise InvalidInput(f"The data source name '{name}' in the body does not match '{name_from_path}' in the URL.")
    validate_name(name, "data source")
    encryption_keys.refuse(body, "data source")
    kind = body.get("type")
    if kind not in SOURCE_TYPES:
        raise InvalidInput(f"Data source type '{kind}' is not supported; use one of: {', '.join(SOURCE_TYPES)}.")
    credentials = body.get("credentials") or {}
    if not isinstance(credentials, dict):
        raise InvalidInput("'credentials' must be an object with a 'connectionString'.")
    secret = credentials.get("connectionString")
    if secret is None or secret == "<unchanged>":
        secret = existing_secret  # Azure keeps the stored secret when an update sends null
    if not isinstance(secret, str) or not secret.strip():
        raise InvalidInput("The data source needs 'credentials.connectionString'.")
    container = body.get("container") or {}
    if not isinstance(container, dict):
        raise InvalidInput("'container' must be an object with 'name' or 'query'.")
    cname, query = container.get("name"), container.get("query")
    if not cname and not query:
        raise InvalidInput("The data source needs 'container.name' (a table or view) or 'container.query'.")
    if query is not None and not isinstance(query, str):
        raise InvalidInput("'container.query' must be a string.")
    if query and kind == "azuresql":
        raise InvalidInput("'container.query' is not supported for data sources of type 'azuresql'; use a view.")
    if cname is not None and (not isinstance(cname, str) or not re.fullmatch(r"[A-Za-z0-9_.\[\]\-\" ]+", cname)):
        raise InvalidInput(f"The container name '{cname}' is not a valid table or view name.")
    change = _change_policy(body.get("dataChangeDetectionPolicy"))
    deletion = _deletion_policy(body.get("dataDeletionDetectionPolicy"))
    if change and change.kind == SQL_CHANGE_TRACKING:
        raise InvalidInput("SqlIntegratedChangeTrackingPolicy is not supported by weft; use HighWaterMarkChangeDetectionPolicy.")
    notify = _notify_config(body.get(NOTIFY), kind)
    raw = copy.deepcopy(body)
    raw.pop("credentials", None)
    raw.pop("@odata.etag", None)
    if notify is None:
        raw.pop(NOTIFY, None)
    return DataSource(name, kind, secret, cname or None, query or None, change, deletion, raw, notify=notify)


def _notify_config(raw: Any, kind: str) -> NotifyConfig | None:
    """``"weftNotify": {"channel": "products_changed"}`` (``null`` or absent: no wake-ups)."""
    if raw is None:
        return None
    example = '{"channel": "products_changed"}'
    if not isinstance(raw, dict):
        raise InvalidInput(f"'{NOTIFY}' must be an object such as {example}.")
    if kind != "postgresql":
        raise InvalidInput(f"'{NOTIFY}' (LISTEN/NOTIFY wake-ups) is only supported for data sources of type 'postgresql', not '{kind}'.")
    unknown = sorted(set(raw) - {"channel"})
    if unknown:
        raise InvalidInput(f"Unknown property '{unknown[0]}' in '{NOTIFY}'; the only property is 'channel', as in {example}.")
    channel = raw.get("channel")
    if not isinstance(channel, str) or not NOTIFY_CHANNEL_RE.fullmatch(channel):
        raise InvalidInput(
            f"'{NOTIFY}.channel' must be a PostgreSQL channel name: 1 to 63 letters, digits or underscores, not starting "
            f"with a digit (got {channel!r}). It must equal the first argument of the trigger's pg_notify()."
        )
    return NotifyConfig(channel)


def _change_policy(raw: Any) -> ChangePolicy | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput("'dataChangeDetectionPolicy' must be an object.")
    kind = raw.get("@odata.type")
    if kind == HIGH_WATER_MARK:
        column = raw.get("highWaterMarkColumnName")
        if not isinstance(column, str) or not column:
            raise InvalidInput("HighWaterMarkChangeDetectionPolicy needs 'highWaterMarkColumnName'.")
        return ChangePolicy(kind, column)
    if kind == SQL_CHANGE_TRACKING:
        return ChangePolicy(kind)
    raise InvalidInput(f"Unknown data change detection policy '{kind}'.")


def _deletion_policy(raw: Any) -> DeletionPolicy | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput("'dataDeletionDetectionPolicy' must be an object.")
    kind = raw.get("@odata.type")
    if kind == SOFT_DELETE:
        column, marker = raw.get("softDeleteColumnName"), raw.get("softDeleteMarkerValue")
        if not isinstance(column, str) or not column or not isinstance(marker, str):
            raise InvalidInput("SoftDeleteColumnDeletionDetectionPolicy needs 'softDeleteColumnName' and a string 'softDeleteMarkerValue'.")
        return DeletionPolicy(kind, column=column, marker=marker)
    if kind == HARD_DELETE:
        every = raw.get("reconcileInterval")
        seconds = parse_duration(every, "reconcileInterval") if every not in (None, "PT0S") else 0.0
        return DeletionPolicy(kind, reconcile_every_seconds=seconds)
    raise InvalidInput(f"Unknown data deletion detection policy '{kind}'.")


# ---- indexers --------------------------------------------------------------------------------------------


@dataclass
class FieldMapping:
    source: str
    target: str
    function: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class Indexer:
    name: str
    data_source: str
    target_index: str
    interval_seconds: float | None
    start_time: dt.datetime | None
    batch_size: int
    max_failed_items: int
    max_failed_items_per_batch: int
    base64_encode_keys: bool
    field_mappings: list[FieldMapping]
    disabled: bool
    remote_endpoint: str | None
    remote_api_key: str | None
    raw: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None

    def to_json(self) -> dict[str, Any]:
        raw = copy.deepcopy(self.raw)
        body: dict[str, Any] = {}
        if self.etag:
            body["@odata.etag"] = self.etag
        body["name"] = self.name
        body["description"] = raw.get("description")
        body["dataSourceName"] = self.data_source
        body["skillsetName"] = raw.get("skillsetName")
        body["targetIndexName"] = self.target_index
        body["disabled"] = self.disabled
        body["schedule"] = raw.get("schedule")
        parameters = raw.get("parameters")
        if isinstance(parameters, dict):
            configuration = parameters.get("configuration")
            if isinstance(configuration, dict) and (REMOTE_API_KEY in configuration or REMOTE_ENDPOINT in configuration):
                configuration[REMOTE_API_KEY] = None  # a secret: never returned, as connection strings
        body["parameters"] = parameters
        body["fieldMappings"] = raw.get("fieldMappings") or []
        body["outputFieldMappings"] = raw.get("outputFieldMappings") or []
        body["encryptionKey"] = encryption_keys.redact(raw.get("encryptionKey"))
        body["cache"] = raw.get("cache")
        return body


def _int(value: Any, name: str, default: int, lo: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidInput(f"The indexer parameter '{name}' must be an integer of at least {lo}.")
    return value


def parse_indexer(body: Any, *, name_from_path: str | None = None, existing_api_key: str | None = None) -> Indexer:
    if not isinstance(body, dict):
        raise InvalidInput("The indexer definition must be a JSON object.")
    name = body.get("name", name_from_path)
    if name_from_path is not None and name != name_from_path:
        raise InvalidInput(f"The indexer name '{name}' in the body does not match '{name_from_path}' in the URL.")
    validate_name(name, "indexer")
    encryption_keys.refuse(body, "indexer")
    source, target = body.get("dataSourceName"), body.get("targetIndexName")
    if not isinstance(source, str) or not source:
        raise InvalidInput("The indexer needs 'dataSourceName'.")
    if not isinstance(target, str) or not target:
        raise InvalidInput("The indexer needs 'targetIndexName'.")
    if body.get("skillsetName"):
        raise InvalidInput("Skillsets are not supported by weft indexers.")
    schedule = body.get("schedule")
    interval = start = None
    if schedule is not None:
        if not isinstance(schedule, dict):
            raise InvalidInput("'schedule' must be an object with an 'interval'.")
        interval = parse_duration(schedule.get("interval"), "schedule interval")
        if schedule.get("startTime") is not None:
            start = parse_time(schedule["startTime"], "schedule startTime")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput("'parameters' must be an object.")
    batch_size = _int(parameters.get("batchSize"), "batchSize", DEFAULT_BATCH_SIZE, 1)
    if batch_size > MAX_BATCH_SIZE:
        raise InvalidInput(f"The indexer parameter 'batchSize' must be at most {MAX_BATCH_SIZE}.")
    max_failed = _int(parameters.get("maxFailedItems"), "maxFailedItems", 0, -1)
    max_failed_batch = _int(parameters.get("maxFailedItemsPerBatch"), "maxFailedItemsPerBatch", 0, -1)
    base64_keys = parameters.get("base64EncodeKeys") or False
    configuration = parameters.get("configuration") or {}
    if not isinstance(configuration, dict):
        raise InvalidInput("'parameters.configuration' must be an object.")
    endpoint = configuration.get(REMOTE_ENDPOINT)
    api_key = configuration.get(REMOTE_API_KEY) or existing_api_key
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://"))):
        raise InvalidInput(f"'{REMOTE_ENDPOINT}' must be an http(s) URL.")
    if endpoint and not api_key:
        raise InvalidInput(f"'{REMOTE_API_KEY}' is required with '{REMOTE_ENDPOINT}'.")
    mappings = [_field_mapping(m) for m in (body.get("fieldMappings") or [])]
    if body.get("outputFieldMappings"):
        raise InvalidInput("outputFieldMappings need a skillset, which weft does not support.")
    disabled = body.get("disabled") or False
    if not isinstance(disabled, bool):
        raise InvalidInput("'disabled' must be true or false.")
    raw = copy.deepcopy(body)
    raw.pop("@odata.etag", None)
    raw_config = (raw.get("parameters") or {}).get("configuration")
    if isinstance(raw_config, dict):
        raw_config.pop(REMOTE_API_KEY, None)
    return Indexer(
        name=name, data_source=source, target_index=target, interval_seconds=interval, start_time=start,
        batch_size=batch_size, max_failed_items=max_failed, max_failed_items_per_batch=max_failed_batch,
        base64_encode_keys=bool(base64_keys), field_mappings=mappings, disabled=disabled,
        remote_endpoint=endpoint, remote_api_key=api_key if endpoint else None, raw=raw,
    )


def _field_mapping(raw: Any) -> FieldMapping:
    if not isinstance(raw, dict) or not isinstance(raw.get("sourceFieldName"), str) or not raw["sourceFieldName"]:
        raise InvalidInput("Each field mapping needs a 'sourceFieldName'.")
    target = raw.get("targetFieldName") or raw["sourceFieldName"]
    function = raw.get("mappingFunction")
    name, params = None, {}
    if function is not None:
        if not isinstance(function, dict) or function.get("name") not in MAPPING_FUNCTIONS:
            got = function.get("name") if isinstance(function, dict) else function
            raise InvalidInput(f"Unknown mapping function '{got}'; use one of: {', '.join(MAPPING_FUNCTIONS)}.")
        name = function["name"]
        params = function.get("parameters") or {}
        if not isinstance(params, dict):
            raise InvalidInput("Mapping function 'parameters' must be an object.")
    return FieldMapping(raw["sourceFieldName"], target, name, params)
