"""The part of every SQL source that SQLAlchemy makes dialect-neutral: the container (table, view or
query), keyset reads in ``(C, K)`` or ``K`` order (never OFFSET), and key existence checks.
Dialect modules add the commit-safe ceiling (and PostgreSQL its transaction-id window)."""
from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from weft.indexers.model import DataSource
from weft.indexers.tracking import KeysetPlan, XidPlan, keyset_plan

EXISTS_CHUNK = 500


def engine_url(datasource: DataSource) -> str:
    """The SQLAlchemy URL for a data source's connection string (a URL; or ADO/libpq key=value pairs)."""
    text = (datasource.connection_string or "").strip()
    if "://" in text:
        url = text
        for plain, driver in (("postgresql://", "postgresql+psycopg://"), ("postgres://", "postgresql+psycopg://"),
                              ("mysql://", "mysql+pymysql://"), ("mariadb://", "mysql+pymysql://"),
                              ("mariadb+pymysql://", "mysql+pymysql://")):
            if url.startswith(plain):
                url = driver + url[len(plain):]
        return url
    if datasource.type == "sqlite":
        return f"sqlite:///{text}"
    pairs = {}
    for part in text.split(";"):
        if "=" in part:
            k, _, v = part.partition("=")
            pairs[k.strip().lower()] = v.strip()
    if datasource.type == "azuresql":
        from urllib.parse import quote_plus

        odbc = text if "driver=" in text.lower() else "Driver={ODBC Driver 18 for SQL Server};" + text
        return "mssql+pyodbc:///?odbc_connect=" + quote_plus(odbc)
    host = pairs.get("server") or pairs.get("host") or "127.0.0.1"
    host = re.sub(r"^tcp:", "", host)
    port = pairs.get("port")
    if "," in host:
        host, port = host.split(",", 1)
    user = pairs.get("user id") or pairs.get("uid") or pairs.get("user") or pairs.get("username") or ""
    password = pairs.get("password") or pairs.get("pwd") or ""
    database = pairs.get("database") or pairs.get("initial catalog") or pairs.get("dbname") or ""
    scheme = "postgresql+psycopg" if datasource.type == "postgresql" else "mysql+pymysql"
    auth = sa.engine.URL.create(scheme, username=user or None, password=password or None, host=host,
                                port=int(port) if port else None, database=database or None)
    return auth.render_as_string(hide_password=False)


def create_source_engine(datasource: DataSource) -> Engine:
    url = engine_url(datasource)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs = {"connect_args": {"timeout": 30}}
    return sa.create_engine(url, **kwargs)


def _split_name(name: str) -> tuple[str | None, str]:
    parts = [p.strip().strip("[]").strip('"') for p in name.split(".")]
    if len(parts) == 1:
        return None, parts[0]
    return ".".join(parts[:-1]), parts[-1]


class SqlSource:
    """A table, view or query in a SQL database, read in keyset order."""

    strategy = "keyset"  # dialects may use "xid"
    ceiling_inclusive = False

    def __init__(self, datasource: DataSource, engine: Engine):
        self.datasource = datasource
        self.engine = engine
        self.key_column: str = ""
        self.hwm_column: str | None = None
        self._columns: list[str] | None = None

    # ---- the container ---------------------------------------------------------------------------
    def from_clause(self):
        ds = self.datasource
        if ds.container_query:
            return sa.text(f"({ds.container_query}) AS weft_source")
        schema, table = _split_name(ds.container_name or "")
        return sa.table(table, schema=schema)

    def columns(self) -> list[str]:
        if self._columns is None:
            with self.engine.connect() as conn:
                result = conn.execute(sa.select(sa.literal_column("*")).select_from(self.from_clause()).limit(0))
                self._columns = list(result.keys())
        return self._columns

    def resolve(self, name: str) -> str:
        columns = self.columns()
        if name in columns:
            return name
        for c in columns:
            if c.lower() == name.lower():
                return c
        raise LookupError(f"The column '{name}' does not exist in '{self.datasource.container_name or 'the query'}'.")

    def configure(self, key_column: str, hwm_column: str | None) -> None:
        self.key_column = self.resolve(key_column)
        self.hwm_column = self.resolve(hwm_column) if hwm_column else None

    def is_table(self) -> bool:
        return bool(self.datasource.container_name) and not self.datasource.container_query

    # ---- plans -----------------------------------------------------------------------------------------
    def keyset_ceiling(self) -> Any:
        """A value of the high-water-mark column below which no transaction can still commit (dialect)."""
        return None

    def plan(self, state: dict | None):
        from weft.indexers.tracking import full_plan

        if self.hwm_column is None:
            return full_plan(state)
        return keyset_plan(state, self.keyset_ceiling(), self.ceiling_inclusive)

    def xid_predicate(self, plan: XidPlan):  # pragma: no cover - PostgreSQL only
        raise NotImplementedError

    # ---- reads -------------------------------------------------------------------------------------------
    def read(self, plan, hwm: Any, key: Any, limit: int) -> list[dict]:
        """Rows after the position (``hwm``, ``key``) of ``plan``, at most ``limit``."""
        k = sa.column(self.key_column)
        query = sa.select(sa.literal_column("*")).select_from(self.from_clause())
        if isinstance(plan, KeysetPlan):
            c = sa.column(self.hwm_column)
            query = query.where(c.is_not(None))
            if hwm is not None:
                query = query.where(c >= hwm if key is None else sa.or_(c > hwm, sa.and_(c == hwm, k > key)))
            if plan.ceiling is not None:
                query = query.where(c <= plan.ceiling if plan.ceiling_inclusive else c < plan.ceiling)
            query = query.order_by(c, k)
        else:
            if isinstance(plan, XidPlan) and plan.floor is not None:
                query = query.where(self.xid_predicate(plan))
            if key is not None:
                query = query.where(k > key)
            query = query.order_by(k)
        query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def existing_keys(self, keys: list[Any]) -> set:
        """Which of these source keys still exist, over the key index in chunks: a chunk whose
        ``COUNT(*)`` equals its size is whole (one number crosses the wire); only the others are listed."""
        found: set = set()
        k = sa.column(self.key_column)
        with self.engine.connect() as conn:
            for i in range(0, len(keys), EXISTS_CHUNK):
                chunk = keys[i:i + EXISTS_CHUNK]
                counted = conn.execute(sa.select(sa.func.count()).select_from(self.from_clause()).where(k.in_(chunk))).scalar_one()
                if counted == len(set(chunk)):
                    found.update(chunk)
                    continue
                query = sa.select(k).select_from(self.from_clause()).where(k.in_(chunk))
                found.update(self.normalize_key(r[0]) for r in conn.execute(query))
        return found

    def normalize_key(self, value: Any) -> Any:
        return value

    def row_count(self) -> int | None:
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(sa.select(sa.func.count()).select_from(self.from_clause())).scalar_one())
        except Exception:
            return None


def describe_table(datasource: DataSource) -> tuple[list[tuple[str, str]], list[str]]:
    """Columns of a table as (name, index field type) and its primary key, by SQLAlchemy reflection.
    Decimals become Edm.String, as Azure maps them (a double would lose precision)."""
    import datetime as dt
    import decimal

    engine = create_source_engine(datasource)
    try:
        schema, table = _split_name(datasource.container_name or "")
        inspector = sa.inspect(engine)
        columns = []
        for col in inspector.get_columns(table, schema=schema):
            try:
                python = col["type"].python_type
            except NotImplementedError:
                python = str
            if python is bool:
                edm = "Edm.Boolean"
            elif python is int:
                edm = "Edm.Int64"
            elif python is float:
                edm = "Edm.Double"
            elif python in (dt.datetime, dt.date):
                edm = "Edm.DateTimeOffset"
            elif python is decimal.Decimal:
                edm = "Edm.String"
            else:
                edm = "Edm.String"
            columns.append((col["name"], edm))
        primary_key = inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
        return columns, primary_key
    finally:
        engine.dispose()
