"""SQLite: one writer at a time, so a transaction still open when the ceiling is captured writes
values >= every committed value. The ceiling is ``max(C)`` and inclusive; rows at the ceiling tier
are re-read next run (see :mod:`weft.indexers.tracking`).

Key digests: SQLite has no md5, so every source connection gets two deterministic Python functions
(registered by a SQLAlchemy ``connect`` event): ``weft_key_md5(k)``, keyhash's digest of the value
SQLite holds (NULL for types without a canonical text), and ``weft_hex_int(h)``.
"""
from __future__ import annotations

import sqlalchemy as sa

from weft.indexers.keyhash import canonical_text, digest_hex
from weft.indexers.sources.sql import SqlSource


def _key_md5(value):
    text = canonical_text(value)
    return None if text is None else digest_hex(text)


def _hex_int(text):
    return None if text is None else int(text, 16)


def register_functions(dbapi_connection, connection_record=None) -> None:
    dbapi_connection.create_function("weft_key_md5", 1, _key_md5, deterministic=True)
    dbapi_connection.create_function("weft_hex_int", 1, _hex_int, deterministic=True)


def install(engine: sa.Engine) -> None:
    """Register the functions on every connection the engine opens from now on."""
    if not sa.event.contains(engine, "connect", register_functions):
        sa.event.listen(engine, "connect", register_functions)


class SqliteSource(SqlSource):
    ceiling_inclusive = True
    digest_key_types = (int, str)

    def __init__(self, datasource, engine):
        super().__init__(datasource, engine)
        install(engine)

    def key_digest(self, key):
        return sa.func.weft_key_md5(key)

    def hex_to_int(self, hex_digits):
        return sa.func.weft_hex_int(hex_digits)

    def keyset_ceiling(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(sa.column(self.hwm_column))).select_from(self.from_clause())).scalar_one()
