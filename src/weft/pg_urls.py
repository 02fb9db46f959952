"""PostgreSQL URLs with several hosts, spelled for libpq and for SQLAlchemy.

A failover-capable URL names every host and asks for the writable one. libpq spells the host list in the
authority (``postgresql://u@db1:5432,db2:5432/weft?target_session_attrs=read-write``); SQLAlchemy cannot parse
that (it reads ``5432,db2:5432`` as a port) and spells it as repeated query parameters instead
(``postgresql+psycopg://u@/weft?host=db1:5432&host=db2:5432&target_session_attrs=read-write``), which libpq in
turn reads as one host (the last). Cluster mode hands one URL to both (the psycopg connections of the search
log and the SQLAlchemy engines of the stores, leases and threads), so either spelling is turned into the other
here. Pure functions; single-host URLs pass through unchanged.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.engine import URL, make_url

DEFAULT_PORT = "5432"


def _is_pg(scheme: str) -> bool:
    return scheme.split("+", 1)[0] in ("postgresql", "postgres")


def _authority_has_hosts(rest: str) -> bool:
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    return "," in authority.rsplit("@", 1)[-1]


def to_libpq(url: str) -> str:
    """A URL or key=value string libpq (psycopg) connects with, keeping every host of either spelling."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # a key=value connection string
    if not _is_pg(scheme):
        raise ValueError(f"a PostgreSQL URL is needed, not {scheme}://")
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if "host" not in query or _authority_has_hosts(rest):
        return f"postgresql://{rest}"
    parsed = make_url(url)  # SQLAlchemy's spelling: host=h1:p1&host=h2:p2
    hosts = parsed.query["host"]
    hosts = (hosts,) if isinstance(hosts, str) else tuple(hosts)
    names, ports = [], []
    for entry in hosts:
        name, colon, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        names.append(name if colon else entry)
        ports.append(port or (str(parsed.port) if parsed.port else DEFAULT_PORT))
    params = {k: (v if isinstance(v, str) else v[-1]) for k, v in parsed.query.items() if k not in ("host", "port")}
    if parsed.username:
        params["user"] = parsed.username
    if parsed.password:
        params["password"] = parsed.password
    if parsed.database:
        params["dbname"] = parsed.database
    return make_conninfo(host=",".join(names), port=",".join(ports), **params)


def to_sqlalchemy(url: str) -> str:
    """A URL SQLAlchemy parses, with libpq's host list (``h1:p1,h2:p2`` in the authority) as repeated ``host=``."""
    scheme, sep, rest = url.partition("://")
    if not sep or not _is_pg(scheme) or not _authority_has_hosts(rest):
        return url
    info = conninfo_to_dict(f"postgresql://{rest}")
    names = info.pop("host").split(",")
    ports = (info.pop("port", "") or "").split(",")
    if len(ports) == 1:
        ports = ports * len(names)
    hosts = tuple(f"{h}:{p or DEFAULT_PORT}" for h, p in zip(names, ports))
    user, password, database = info.pop("user", None), info.pop("password", None), info.pop("dbname", None)
    drivername = scheme if "+" in scheme else "postgresql+psycopg"
    built = URL.create(drivername, username=user, password=password, database=database, query={"host": hosts, **info})
    return built.render_as_string(hide_password=False)
