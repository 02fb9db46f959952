"""Source kinds: one module per SQL dialect, sharing :mod:`weft.indexers.sources.sql`."""
from __future__ import annotations

from weft.indexers.model import DataSource
from weft.indexers.sources.sql import SqlSource, engine_url


def open_source(datasource: DataSource, engine) -> SqlSource:
    kind = datasource.type
    if kind == "postgresql":
        from weft.indexers.sources.postgresql import PostgresSource as cls
    elif kind in ("mysql", "mariadb"):
        from weft.indexers.sources.mysql import MySqlSource as cls
    elif kind == "sqlite":
        from weft.indexers.sources.sqlite import SqliteSource as cls
    elif kind == "azuresql":
        from weft.indexers.sources.azuresql import SqlServerSource as cls
    else:  # pragma: no cover - model validation rejects other types
        raise ValueError(kind)
    return cls(datasource, engine)


__all__ = ["SqlSource", "engine_url", "open_source"]
