"""Change tracking: cursors, run plans and checkpoints. Pure (no SQL).

Three strategies, chosen by the source:

* ``keyset``: the high-water-mark column ``C`` and the source key ``K`` as one keyset cursor
  ``(C, K)``. Every run captures a commit-safe *ceiling* on ``C`` first (the source knows how:
  ``MIN_ACTIVE_ROWVERSION()``, the oldest InnoDB transaction, ``max(C)`` under SQLite's single
  writer) and reads ``(C, K) > cursor AND C < ceiling`` (``<=`` when the ceiling is inclusive) in
  ``(C, K)`` order. Below the ceiling nothing can still commit, so equal values at a batch boundary
  are neither skipped nor duplicated. With an inclusive ceiling, rows *at* the ceiling can still be
  joined by later writers, so a checkpoint that ends on the ceiling keeps the whole tier
  (``key = None`` means ``C >= hwm``) and the tier is re-read next run (idempotent upserts).
* ``xid`` (PostgreSQL tables): the cursor is a transaction-id floor. A run captures
  ``pg_snapshot_xmin(pg_current_snapshot())`` as its ceiling: every transaction below it has ended,
  so the rows whose ``xmin`` lies in ``[floor, ceiling)`` are exactly the changes committed by them,
  whatever values the user's column holds. The window is read in key order, resumable by key.
* ``full``: no change policy; every run reads the whole source in key order (resumable by key).

States are JSON and are what the status API shows as ``initialTrackingState``/``finalTrackingState``.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from dataclasses import dataclass
from typing import Any


def encode_value(value: Any) -> Any:
    """A source value (cursor or key) -> JSON, keeping its type so it binds back identically."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    return {"str": str(value)}


def decode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    (kind, text), = value.items()
    if kind == "float":
        return float(text)
    if kind == "datetime":
        return dt.datetime.fromisoformat(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "decimal":
        return decimal.Decimal(text)
    if kind == "bytes":
        return base64.b64decode(text)
    if kind == "uuid":
        return uuid.UUID(text)
    return text


@dataclass
class KeysetPlan:
    """Read ``(C, K) > (hwm, key)`` (or ``C >= hwm`` when key is None) up to the ceiling."""

    hwm: Any  # None: from the beginning
    key: Any
    ceiling: Any  # None: unbounded (only when the source has no fence)
    ceiling_inclusive: bool


@dataclass
class XidPlan:
    floor: int | None  # None: initial load, all rows
    ceiling: int
    after_key: Any


@dataclass
class FullPlan:
    after_key: Any


def keyset_plan(state: dict | None, ceiling: Any, inclusive: bool) -> KeysetPlan:
    if not state or state.get("strategy") != "keyset":
        return KeysetPlan(None, None, ceiling, inclusive)
    return KeysetPlan(decode_value(state.get("hwm")), decode_value(state.get("key")), ceiling, inclusive)


def keyset_checkpoint(plan: KeysetPlan, last_hwm: Any, last_key: Any) -> dict:
    """Durable cursor after the rows up to ``(last_hwm, last_key)`` are in the index."""
    if plan.ceiling is not None and plan.ceiling_inclusive and last_hwm == plan.ceiling:
        return {"strategy": "keyset", "hwm": encode_value(last_hwm), "key": None}
    return {"strategy": "keyset", "hwm": encode_value(last_hwm), "key": encode_value(last_key)}


def keyset_state(plan: KeysetPlan) -> dict:
    return {"strategy": "keyset", "hwm": encode_value(plan.hwm), "key": encode_value(plan.key)}


XID_WRAP = 2**32
MAX_XID_WINDOW = 2**30  # age() comparisons stay within int32 while the oldest open transaction is < 2^30 old


def xid_plan(state: dict | None, ceiling: int) -> XidPlan:
    """Resume an interrupted window, or open the next one ``[floor, ceiling)``."""
    if state and state.get("strategy") == "xid":
        window = state.get("window")
        if window:
            return XidPlan(window.get("floor"), int(window["ceiling"]), decode_value(window.get("afterKey")))
        floor = state.get("floor")
        if floor is not None and 0 <= ceiling - int(floor) <= MAX_XID_WINDOW:
            return XidPlan(int(floor), ceiling, None)
    return XidPlan(None, ceiling, None)  # first run, or a window too wide for 32-bit xmin: read everything


def xid_checkpoint(plan: XidPlan, last_key: Any) -> dict:
    return {"strategy": "xid", "floor": plan.floor,
            "window": {"floor": plan.floor, "ceiling": plan.ceiling, "afterKey": encode_value(last_key)}}


def xid_done(plan: XidPlan) -> dict:
    return {"strategy": "xid", "floor": plan.ceiling, "window": None}


def full_plan(state: dict | None) -> FullPlan:
    if state and state.get("strategy") == "full" and state.get("inProgress"):
        return FullPlan(decode_value(state.get("afterKey")))
    return FullPlan(None)


def full_checkpoint(last_key: Any) -> dict:
    return {"strategy": "full", "inProgress": True, "afterKey": encode_value(last_key)}


def full_done() -> dict:
    return {"strategy": "full", "inProgress": False, "afterKey": None}


def marker_matches(value: Any, marker: str) -> bool:
    """Azure compares the soft-delete marker as a string, case-insensitively (``"true"`` matches a BIT 1)."""
    if value is None:
        return False
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    text, wanted = text.strip().lower(), marker.strip().lower()
    if text == wanted:
        return True
    truthy, falsy = ("true", "1"), ("false", "0")
    return (text in truthy and wanted in truthy) or (text in falsy and wanted in falsy)
