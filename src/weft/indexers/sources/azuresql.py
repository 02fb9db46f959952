"""SQL Server / Azure SQL through SQLAlchemy's mssql dialect (install ``pyodbc`` or ``pymssql``).

The high-water-mark column should be ``rowversion``: the ceiling is ``MIN_ACTIVE_ROWVERSION()``,
captured before the read and exclusive, as Azure's own indexer relies on. Not tested against a live
server here (none is available); the generated SQL is unit-tested.
"""
from __future__ import annotations

import sqlalchemy as sa

from weft.indexers.sources.sql import SqlSource

CEILING_SQL = "SELECT MIN_ACTIVE_ROWVERSION()"


class SqlServerSource(SqlSource):
    def keyset_ceiling(self):
        with self.engine.connect() as conn:
            return bytes(conn.execute(sa.text(CEILING_SQL)).scalar_one())
