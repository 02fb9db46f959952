"""What an indexer's status may say about a failed source: the kind of failure, never the driver's
own text (which carries SQL statements, host names, ports, user names and file paths). The full
exception goes to the server log."""
from __future__ import annotations


def public_error(exc: BaseException) -> str:
    try:
        import sqlalchemy.exc as sa_exc
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        sa_exc = None
    if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if code is None and orig is not None and getattr(orig, "args", None) and isinstance(orig.args[0], int):
            code = orig.args[0]  # MySQL error number
        driver = type(orig).__name__ if orig is not None else type(exc).__name__
        if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            what = "The data source could not be reached or read"
        elif isinstance(exc, sa_exc.ProgrammingError):
            what = "The data source refused a query (a missing table or column, or a permission)"
        else:
            what = "The data source failed"
        return f"{what}: {driver}{f' (code {code})' if code else ''}. The server log has the details."
    if isinstance(exc, (OSError, ConnectionError)):
        return f"The data source could not be reached: {type(exc).__name__}. The server log has the details."
    if type(exc).__module__.split(".")[0] in ("psycopg", "psycopg2", "pymysql", "pyodbc", "sqlite3", "MySQLdb"):
        code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        what = "The data source could not be reached, or the connection was lost" if "Operational" in type(exc).__name__ else "The data source failed"
        return f"{what}: {type(exc).__name__}{f' (code {code})' if code else ''}. The server log has the details."
    return f"{type(exc).__name__}: {exc}"  # weft's own errors: no driver text
