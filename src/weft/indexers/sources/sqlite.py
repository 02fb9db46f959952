"""SQLite: one writer at a time, so a transaction still open when the ceiling is captured writes
values >= every committed value. The ceiling is ``max(C)`` and inclusive; rows at the ceiling tier
are re-read next run (see :mod:`weft.indexers.tracking`)."""
from __future__ import annotations

import sqlalchemy as sa

from weft.indexers.sources.sql import SqlSource


class SqliteSource(SqlSource):
    ceiling_inclusive = True

    def keyset_ceiling(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(sa.column(self.hwm_column))).select_from(self.from_clause())).scalar_one()
