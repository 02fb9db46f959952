"""The part of every SQL source that SQLAlchemy makes dialect-neutral: the container (table, view or
query), keyset reads in ``(C, K)`` or ``K`` order (never OFFSET), key existence checks, and the
key-digest queries of hard-delete reconciliation. Dialect modules add the commit-safe ceiling (and
PostgreSQL its transaction-id window) and the two expressions the digest queries are built from: the
md5 hex of a key's canonical text (:mod:`weft.indexers.keyhash`) and an exact hex-to-integer cast."""
from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from weft.indexers.keyhash import BUCKET_DIGITS, CHECK_DIGITS
from weft.indexers.model import DataSource
from weft.indexers.tracking import KeysetPlan, XidPlan, keyset_plan

EXISTS_CHUNK = 500
PREFIXES_PER_QUERY = 1000  # bound parameters per digest query (SQL Server allows 2100)
DIGEST_SAMPLE = 64


def number(value: int):
    """An integer constant rendered inline: a GROUP BY expression must repeat its SELECT expression
    textually, which bound parameters (numbered apart) would not."""
    return sa.literal_column(str(int(value)))


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
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        from weft.indexers.sources.sqlite import install

        install(engine)  # the key-digest functions, on every connection
    return engine


def _split_name(name: str) -> tuple[str | None, str]:
    parts = [p.strip().strip("[]").strip('"') for p in name.split(".")]
    if len(parts) == 1:
        return None, parts[0]
    return ".".join(parts[:-1]), parts[-1]


class SqlSource:
    """A table, view or query in a SQL database, read in keyset order."""

    strategy = "keyset"  # dialects may use "xid"
    ceiling_inclusive = False
    #: Python types of key values whose digest the dialect computes like keyhash (empty: none)
    digest_key_types: tuple[type, ...] = ()

    def __init__(self, datasource: DataSource, engine: Engine):
        self.datasource = datasource
        self.engine = engine
        self.key_column: str = ""
        self.hwm_column: str | None = None
        self._columns: list[str] | None = None
        self.queries = 0  # statements run by existence checks and digest queries (reconciliation reports them)

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
        ``COUNT(*)`` equals its size is whole (one number crosses the wire); only the others are listed.
        Equality is the source's (a case-insensitive collation finds ``'ABC'`` for ``'abc'``)."""
        found: set = set()
        k = sa.column(self.key_column)
        with self.engine.connect() as conn:
            for i in range(0, len(keys), EXISTS_CHUNK):
                chunk = keys[i:i + EXISTS_CHUNK]
                self.queries += 1
                counted = conn.execute(sa.select(sa.func.count()).select_from(self.from_clause()).where(k.in_(chunk))).scalar_one()
                if counted == len(set(chunk)):
                    found.update(chunk)
                    continue
                if counted == 0:
                    continue
                self.queries += 1
                query = sa.select(k).select_from(self.from_clause()).where(k.in_(chunk))
                found.update(self.normalize_key(r[0]) for r in conn.execute(query))
        return found

    def matching_keys(self, keys: list[Any]) -> list[Any]:
        """The source's own values of the keys equal (in the source's collation) to these, in chunks.
        The caller compares them exactly: ``'ABC'`` found for ``'abc'`` does not make ``'abc'`` exist."""
        found: list[Any] = []
        k = sa.column(self.key_column)
        with self.engine.connect() as conn:
            for i in range(0, len(keys), EXISTS_CHUNK):
                self.queries += 1
                query = sa.select(k).select_from(self.from_clause()).where(k.in_(keys[i:i + EXISTS_CHUNK]))
                found.extend(self.normalize_key(r[0]) for r in conn.execute(query))
        return found

    # ---- key digests (hard-delete reconciliation) ----------------------------------------------------------
    def key_digest(self, key):
        """SQL: the md5 hex (32 lowercase digits) of the key's canonical text (dialect)."""
        raise NotImplementedError

    def hex_to_int(self, hex_digits):
        """SQL: the exact integer value of 8 hex digits, 0..2^32-1, summable without rounding (dialect)."""
        raise NotImplementedError

    def substring(self, text, start: int, length: int):
        return sa.func.substr(text, number(start), number(length))

    def hex_prefix(self, digest, digits: int):
        return self.substring(digest, 1, digits)

    def digest_check(self, digest):
        return self.hex_to_int(self.substring(digest, BUCKET_DIGITS + 1, CHECK_DIGITS))

    def _over_keys(self, query):
        return query.select_from(self.from_clause()).where(sa.column(self.key_column).is_not(None))

    def digest_sample_query(self, limit: int = DIGEST_SAMPLE):
        k = sa.column(self.key_column)
        return self._over_keys(sa.select(k, self.key_digest(k))).limit(limit)

    def digest_summary_query(self, digits: int, parents: list[str] | None = None):
        """``SELECT prefix, count(*), sum(check) ... GROUP BY prefix`` over the keys, under ``parents``."""
        k = sa.column(self.key_column)
        digest = self.key_digest(k)
        prefix = self.hex_prefix(digest, digits)
        query = self._over_keys(sa.select(prefix, sa.func.count(), sa.func.sum(self.digest_check(digest))))
        if parents is not None:
            query = query.where(self.hex_prefix(digest, digits - 1).in_(parents))
        return query.group_by(prefix)

    def keys_with_prefixes_query(self, prefixes: list[str]):
        k = sa.column(self.key_column)
        digest = self.key_digest(k)
        by_length: dict[int, list[str]] = {}
        for prefix in prefixes:
            by_length.setdefault(len(prefix), []).append(prefix)
        condition = sa.or_(*(self.hex_prefix(digest, digits).in_(group) for digits, group in sorted(by_length.items())))
        return self._over_keys(sa.select(k)).where(condition)

    def digest_sample(self, limit: int = DIGEST_SAMPLE) -> list[tuple[Any, str | None]]:
        """A few ``(key, digest the source computes for it)``: the caller checks them against keyhash."""
        self.queries += 1
        with self.engine.connect() as conn:
            return [(self.normalize_key(key), value) for key, value in conn.execute(self.digest_sample_query(limit))]

    def digest_summary(self, digits: int = BUCKET_DIGITS, parents: list[str] | None = None) -> dict[str | None, tuple[int, int]]:
        """``hex prefix of `digits` digits -> (keys, sum of checks)`` over the source's keys; only
        under the ``parents`` prefixes (of ``digits - 1`` digits) when given. One scan per
        :data:`PREFIXES_PER_QUERY` parents. A ``None`` prefix gathers keys without a digest."""
        summary: dict[str | None, tuple[int, int]] = {}
        chunks = [None] if parents is None else [parents[i:i + PREFIXES_PER_QUERY] for i in range(0, len(parents), PREFIXES_PER_QUERY)]
        with self.engine.connect() as conn:
            for chunk in chunks:
                self.queries += 1
                for value, count, total in conn.execute(self.digest_summary_query(digits, chunk)):
                    summary[value] = (int(count), int(total or 0))
        return summary

    def keys_with_prefixes(self, prefixes: list[str]) -> list[Any]:
        """The source's keys whose digest starts with one of these hex prefixes (any lengths, at most
        :data:`PREFIXES_PER_QUERY`): one scan."""
        self.queries += 1
        with self.engine.connect() as conn:
            return [self.normalize_key(r[0]) for r in conn.execute(self.keys_with_prefixes_query(prefixes))]

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
