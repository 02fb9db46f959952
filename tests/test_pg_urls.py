"""weft.pg_urls: a failover URL with several hosts reaches libpq and SQLAlchemy with every host kept."""
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import create_engine

from weft.pg_urls import to_libpq, to_sqlalchemy


def _connect_args(url: str) -> dict:
    engine = create_engine(to_sqlalchemy(url))
    return engine.dialect.create_connect_args(engine.url)[1]


def test_libpq_host_list_reaches_sqlalchemy_with_every_host():
    url = "postgresql://weft:pw@db1:5432,db2:5433/weft?target_session_attrs=read-write&connect_timeout=3"
    args = _connect_args(url)
    assert (args["host"], args["port"]) == ("db1,db2", "5432,5433")
    assert (args["user"], args["password"], args["dbname"]) == ("weft", "pw", "weft")
    assert args["target_session_attrs"] == "read-write" and args["connect_timeout"] == "3"
    assert to_libpq(url) == url  # libpq reads its own spelling


def test_sqlalchemy_host_params_reach_libpq_with_every_host():
    url = "postgresql+psycopg://postgres@/postgres?host=127.0.0.1:21001&host=127.0.0.1:21002&target_session_attrs=read-write"
    info = conninfo_to_dict(to_libpq(url))
    assert (info["host"], info["port"]) == ("127.0.0.1,127.0.0.1", "21001,21002")
    assert (info["user"], info["dbname"], info["target_session_attrs"]) == ("postgres", "postgres", "read-write")
    assert to_sqlalchemy(url) == url


def test_single_host_urls_pass_through():
    url = "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dx"
    assert to_sqlalchemy(url) == url
    assert to_libpq(url) == url
    assert to_libpq("postgresql+psycopg://u@h:1/d") == "postgresql://u@h:1/d"
    assert to_libpq("host=a port=1 dbname=d") == "host=a port=1 dbname=d"
    assert _connect_args("postgresql://u@a,b/d")["port"] == "5432,5432"
