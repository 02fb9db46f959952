"""MySQL / MariaDB: the high-water-mark column (DATETIME/TIMESTAMP set by ``NOW()``/``ON UPDATE
CURRENT_TIMESTAMP``) with a keyset cursor, capped below the start of the oldest open InnoDB
transaction.

A transaction's rows carry values >= the start of their statement, which is >= the start of the
transaction (second-precision ``trx_started``, hence the slack), and a transaction not yet open
when the ceiling is captured writes values >= the capture time. So no row below the ceiling can
still commit. The ceiling is captured before the rows are read (in its own statement), and the
InnoDB transaction list is refreshed at most every 0.1 s, which the slack covers.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from weft.indexers.sources.sql import SqlSource

FENCE_SLACK = dt.timedelta(seconds=2)


class MySqlSource(SqlSource):
    def keyset_ceiling(self):
        with self.engine.connect() as conn:
            now, oldest = conn.execute(sa.text(
                "SELECT NOW(6), (SELECT MIN(trx_started) FROM information_schema.INNODB_TRX "
                "WHERE trx_mysql_thread_id <> CONNECTION_ID())"
            )).one()
        ceiling = now if oldest is None else min(now, oldest)
        return ceiling - FENCE_SLACK
