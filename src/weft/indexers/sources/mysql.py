"""MySQL / MariaDB: the high-water-mark column (DATETIME/TIMESTAMP set by ``NOW()``/``ON UPDATE
CURRENT_TIMESTAMP``) with a keyset cursor, capped below the start of the oldest open InnoDB
transaction that can still commit such values.

``NOW()`` is the start time of the *statement*. A row written by an open transaction carries a value
>= the start of that transaction (second-precision ``trx_started``, hence the slack); a statement
that starts after the ceiling is captured writes values >= the capture time. So only transactions
that have already modified rows, or have a statement running, can still commit a value below "now";
an idle transaction that has written nothing yet (a long read-only session) cannot, and does not hold
the ceiling back. No row below the ceiling can still commit.

``INFORMATION_SCHEMA.INNODB_TRX`` is a cache that InnoDB refreshes only when nobody has read it for
0.1 s; a client polling it faster keeps it stale forever. So the ceiling is trusted only from a list
that contains this connection's own transaction, opened after ``NOW(6)`` was captured: that list was
filled after the capture. If it never shows up, the run fails (transiently) instead of guessing.

Key digests: ``MD5(CAST(k AS CHAR CHARACTER SET utf8mb4))`` hashes the key's exact UTF-8 bytes
whatever the column's charset or collation (a case-insensitive collation does not fold the digest),
and ``CAST(CONV(h, 16, 10) AS UNSIGNED)`` converts hex exactly (``SUM`` of UNSIGNED is DECIMAL; a
sum of ``CONV()`` strings would go through DOUBLE).
"""
from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from weft.indexers.sources.sql import SqlSource, number

FENCE_SLACK = dt.timedelta(seconds=2)
FRESH_LIST_ATTEMPTS = 25
REFRESH_WAIT = 0.12  # InnoDB refreshes the list when it was not read for 0.1 s


class FenceUnavailable(RuntimeError):
    pass


class MySqlSource(SqlSource):
    digest_key_types = (int, str)

    def key_digest(self, key):
        return sa.func.md5(sa.cast(key, mysql.CHAR(charset="utf8mb4")))

    def hex_to_int(self, hex_digits):
        return sa.cast(sa.func.conv(hex_digits, number(16), number(10)), mysql.INTEGER(unsigned=True))

    def keyset_ceiling(self):
        with self.engine.connect() as conn:
            now, me = conn.execute(sa.text("SELECT NOW(6), CONNECTION_ID()")).one()
            conn.execute(sa.text("COMMIT"))
            conn.execute(sa.text("START TRANSACTION WITH CONSISTENT SNAPSHOT"))
            try:
                for _ in range(FRESH_LIST_ATTEMPTS):
                    rows = conn.execute(sa.text(
                        "SELECT trx_mysql_thread_id, trx_started, "
                        "(trx_rows_modified > 0 OR trx_query IS NOT NULL OR trx_state <> 'RUNNING') "
                        "FROM information_schema.INNODB_TRX"
                    )).all()
                    if any(r[0] == me for r in rows):
                        writers = [r[1] for r in rows if r[0] != me and r[2]]
                        ceiling = min([now, *writers])
                        return ceiling - FENCE_SLACK
                    time.sleep(REFRESH_WAIT)
            finally:
                conn.execute(sa.text("ROLLBACK"))
        raise FenceUnavailable(
            "The InnoDB transaction list (INFORMATION_SCHEMA.INNODB_TRX) did not refresh: another client reads it more "
            "than 10 times a second. No change was read; the next run retries."
        )
