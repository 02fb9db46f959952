import weakref

import pytest

from tests.support.server import WeftServer

_ENGINES: "weakref.WeakSet" = weakref.WeakSet()


def pytest_configure(config):
    """Every SQLAlchemy engine weft makes in a test process is remembered (weakly), so that its idle pooled
    connections can be closed after each test (below)."""
    import weft.threads.database as database

    real = database.create_engine

    def remembered(*args, **kwargs):
        engine = real(*args, **kwargs)
        _ENGINES.add(engine)
        return engine

    database.create_engine = remembered


@pytest.fixture(autouse=True)
def _close_idle_database_connections():
    """Tests that build stores over PostgreSQL and MariaDB leave their engines' idle pooled connections open until
    the engine is collected; three workers of such tests could exhaust PostgreSQL's max_connections (100) and fail
    unrelated tests with "too many clients". After each test the pools drop what is idle (checked-out connections
    are untouched, and an engine still in use simply connects again)."""
    yield
    for engine in list(_ENGINES):
        if engine.dialect.name == "sqlite":  # files, not server connections (and a memory database lives in its pool)
            continue
        try:
            engine.dispose()
        except Exception:  # pragma: no cover - a pool in an odd state: leave it
            pass


def pytest_unconfigure(config):
    from tests.support.server import drop_cluster_databases

    drop_cluster_databases()  # WEFT_TEST_CLUSTER=1: the servers' databases, once every fixture stopped its server


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # under WEFT_TEST_CLUSTER=1 a cluster node over a fresh PostgreSQL database (WeftServer.cluster_env, docs/cluster.md)
    srv = WeftServer(tmp_path_factory.mktemp("weft") / "data").start()
    yield srv
    srv.stop()
