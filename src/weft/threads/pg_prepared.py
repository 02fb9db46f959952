"""One PostgreSQL statement, prepared once per connection and executed at the libpq level.

The append hot path sends one statement per append (``hot_path.postgres_append_sql``). Through a psycopg
cursor each call pays for the cursor, the query conversion and a Python dumper per parameter (about as
much client CPU as the server spends on the statement). Here the statement is prepared on the
connection under its own name (``PQprepare``, parameter types fixed), and each call is one
``PQexecPrepared`` with the parameters already as bytes (text format; ``bytea`` in binary), which
psycopg runs without the GIL. Errors come back as psycopg's own exception classes (a unique violation
is an ``IntegrityError``, a lost connection an ``OperationalError``), so callers handle them as before.

Only connections in autocommit mode are used this way (the hot path's writers): the statement is its
own transaction, and psycopg's view of the connection (idle) stays true.
"""
from __future__ import annotations

import weakref

import psycopg
from psycopg import pq

INT8, BOOL, BYTEA, UNKNOWN = 20, 16, 17, 0  # parameter type OIDs; UNKNOWN lets the server infer (as psycopg does for str)
_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)


def _encode(value, binary: bool):
    if value is None:
        return None
    if binary:
        return bytes(value)
    if value is True:
        return b"t"
    if value is False:
        return b"f"
    if isinstance(value, int):
        return str(value).encode()
    return value.encode()


class PreparedStatement:
    """``sql`` with ``$1..$n`` placeholders; ``types`` the OID of each parameter (``BYTEA`` ones are sent binary)."""

    _counter = 0

    def __init__(self, sql: str, types: tuple[int, ...]):
        PreparedStatement._counter += 1
        self.name = f"weft_hot_{PreparedStatement._counter}".encode()
        self.sql = sql.encode()
        self.types = list(types)
        self.binary = [t == BYTEA for t in types]
        self.formats = [1 if b else 0 for b in self.binary]
        self._prepared_on: weakref.WeakSet = weakref.WeakSet()

    def first_value(self, connection: psycopg.Connection, params: tuple) -> bytes | None:
        """Runs the statement with ``params``; the first column of its first row (bytes, text format), or None."""
        pgconn = connection.pgconn
        if connection not in self._prepared_on:
            _check(pgconn, pgconn.prepare(self.name, self.sql, self.types))
            self._prepared_on.add(connection)
        values = [_encode(v, b) for v, b in zip(params, self.binary)]
        result = pgconn.exec_prepared(self.name, values, self.formats)
        _check(pgconn, result)
        return result.get_value(0, 0) if result.ntuples else None


def _check(pgconn, result) -> None:
    if result is not None and result.status in _OK:
        return
    message = (result.error_message if result is not None else pgconn.error_message).decode("utf-8", "replace").strip()
    if pgconn.status != pq.ConnStatus.OK or result is None:
        raise psycopg.OperationalError(message or "the connection to PostgreSQL was lost")
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    try:
        error_class = psycopg.errors.lookup(sqlstate.decode()) if sqlstate else psycopg.DatabaseError
    except KeyError:
        error_class = psycopg.DatabaseError
    raise error_class(message)
