"""SQLite data sources may only name files inside operator-configured directories.

A data source's connection string is chosen by whoever holds an admin key; without a bound, a
SQLite path reads any database file the server can open (or creates files anywhere). The allowed
directories come from ``WEFT_SQLITE_DIRS`` (``os.pathsep``-separated; default: the data dir).
Paths are resolved (symlinks and ``..``) before the check.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from weft.errors import InvalidInput


def sqlite_file(url: str) -> str | None:
    """The database file a ``sqlite://`` URL opens (None for an in-memory database)."""
    try:
        database = sa.engine.make_url(url).database
    except Exception:
        raise InvalidInput("The data source's connection string is not a valid SQLite path or URL.")
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        database = database[5:].split("?", 1)[0]
    return database


def check_sqlite_path(url: str, allowed: list[Path] | None) -> None:
    if allowed is None or not url.startswith("sqlite"):
        return
    path = sqlite_file(url)
    if path is None:
        return
    target = Path(path).expanduser().resolve()
    for folder in allowed:
        root = Path(folder).expanduser().resolve()
        if target == root or root in target.parents:
            return
    raise InvalidInput("The SQLite data source's file is outside the directories data sources may read; the operator allows "
                       "them with WEFT_SQLITE_DIRS (default: the data dir).", code="InvalidDataSourcePath")
