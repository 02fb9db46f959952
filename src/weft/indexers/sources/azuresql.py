"""SQL Server / Azure SQL through SQLAlchemy's mssql dialect (install ``pyodbc`` or ``pymssql``).

The high-water-mark column should be ``rowversion``: the ceiling is ``MIN_ACTIVE_ROWVERSION()``,
captured before the read and exclusive, as Azure's own indexer relies on. Not tested against a live
server here (none is available); the generated SQL is unit-tested.

Key digests for integer keys only (``CONVERT(VARCHAR(40), k)`` is their decimal text; string keys
would need a UTF-8 collation to hash like keyhash, so they reconcile by walking the ledger):
``LOWER(CONVERT(VARCHAR(32), HASHBYTES('MD5', CONVERT(VARCHAR(40), k)), 2))``, and hex digits as
``CONVERT(BIGINT, CONVERT(VARBINARY(4), h, 2))`` (four bytes zero-extended: unsigned, exact).
"""
from __future__ import annotations

import sqlalchemy as sa

from weft.indexers.sources.sql import SqlSource, number

CEILING_SQL = "SELECT MIN_ACTIVE_ROWVERSION()"


class SqlServerSource(SqlSource):
    digest_key_types = (int,)

    def key_digest(self, key):
        text = sa.func.convert(sa.literal_column("VARCHAR(40)"), key)
        digest = sa.func.hashbytes(sa.literal_column("'MD5'"), text)
        return sa.func.lower(sa.func.convert(sa.literal_column("VARCHAR(32)"), digest, number(2)))

    def hex_to_int(self, hex_digits):
        return sa.func.convert(sa.literal_column("BIGINT"), sa.func.convert(sa.literal_column("VARBINARY(4)"), hex_digits, number(2)))

    def substring(self, text, start: int, length: int):
        return sa.func.substring(text, number(start), number(length))

    def keyset_ceiling(self):
        with self.engine.connect() as conn:
            return bytes(conn.execute(sa.text(CEILING_SQL)).scalar_one())
